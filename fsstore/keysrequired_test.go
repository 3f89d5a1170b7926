package fsstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestOpenEncryptedWithoutKeysSaysHow: a host deployed without keys
// beside hosts that encrypt the store fails to start; the error names the
// option that gives it keys from the others' file, WithKeysFile, where it
// named only WithKeys, which takes keys already in hand.
func TestOpenEncryptedWithoutKeysSaysHow(t *testing.T) {
	dir := t.TempDir()
	keyed := openDir(t, dir, fsstore.WithKeys(mustKey(t, 1)))
	if err := keyed.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(dir)
	if err == nil {
		st.Close()
		t.Fatal("Open without keys of an encrypted store succeeded")
	}
	if !errors.Is(err, fsstore.ErrKeysRequired) {
		t.Fatalf("Open: %v, want ErrKeysRequired", err)
	}
	for _, want := range []string{"WithKeysFile", "the keys file the other hosts have"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open: %q, want it to contain %q", err, want)
		}
	}
}
