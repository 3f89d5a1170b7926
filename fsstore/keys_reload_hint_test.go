package fsstore_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestKeysFileMissingAtReloadSaysPutItBack: a keys file gone from under a
// running store is to be put back, the same file the other hosts have,
// not made afresh: the advice for a store's first key (make one with
// sessgc keygen) made, on a running store, a key no other host has, and
// this host's saves then failed to load on every other.
func TestKeysFileMissingAtReloadSaysPutItBack(t *testing.T) {
	keysPath := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, keysPath, keysFileText(mustKey(t, 1)))
	var log syncBuffer
	ev := make(reloadEvents, 64)
	s, err := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	must(t, err)
	defer s.Close()
	must(t, os.Remove(keysPath))
	if out := waitReload(t, ev); out == fsstore.OutcomeOK {
		t.Fatal("reload of a removed keys file: outcome ok")
	}
	msg := log.String()
	for _, w := range []string{"keys file not reloaded", "put the same keys file back", "from another host", "then rename it over " + keysPath} {
		if !strings.Contains(msg, w) {
			t.Errorf("the reload's log does not say %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "keygen --id 1 >") {
		t.Errorf("the reload's log tells a running store to make a first key:\n%s", msg)
	}
}
