package fsstore

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestKeyOrderNotPermittedWording: recording the newest key in a store
// directory that refuses it with EPERM (immutable here, as chattr +i
// makes it; an append-only directory, a security module alike) logs what
// refuses it and how to clear it. It logged "permission denied; give this
// user access to it as to the store's other files": EPERM is no matter of
// access, and no chown or chmod changes it.
func TestKeyOrderNotPermittedWording(t *testing.T) {
	dir := t.TempDir()
	kr := testKeyring(t, 1)
	// The key's check file is there (an earlier Open made it); its
	// record is not.
	if err := checkKey(dir, 1, kr.aeads[1], 0o600, true); err != nil {
		t.Fatal(err)
	}
	testenv.SetImmutable(t, dir)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := kr.checkKeys(dir, 0o600, true, logger, nil); err != nil {
		t.Fatalf("checkKeys with the check file in place: %v", err)
	}
	msg := logs.String()
	t.Log(msg)
	for _, want := range []string{"is not recorded", "operation not permitted", "immutable", "chattr -i -a"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	for _, not := range []string{"permission denied", "give this user access"} {
		if strings.Contains(msg, not) {
			t.Errorf("%q says %q, which is not what happened or does not help", msg, not)
		}
	}
}
