package fsstore

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// A keyed save that finds the marker's encrypted line gone waits for the
// marker lock to write it again (keepMarkedEncrypted). That wait ends
// with the save's context: it waited up to openRaiseTimeout, a minute,
// whatever the request's deadline, while another host held the lock (a
// raise stuck on the server).
func TestKeepMarkedEncryptedWaitsNoLongerThanTheSave(t *testing.T) {
	dir := t.TempDir()
	clk := fakeclock.New()
	key, err := NewKey(1)
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	keyed, err := Open(dir, WithKeys(key), WithClock(clk.Now),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keyed.Close() })
	other, err := Open(dir, WithKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })

	marker := filepath.Join(dir, MarkerFile)
	b, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	stripped := strings.Replace(string(b), "encrypted 1\n", "", 1)
	if stripped == string(b) {
		t.Fatalf("marker %q has no encrypted line", b)
	}
	if err := os.WriteFile(marker, []byte(stripped), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := other.locks.Lock(context.Background(), markerLock, markerLock, lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Unlock()

	// The request gives up while the save looks at the key check files,
	// before it waits for the marker lock.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keyed.testHooks.keyCheckLook = func(uint32) { cancel() }
	clk.Advance(keyChecksRecheck)
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	// The save itself may go on: what it had to do needs no lock.
	if err := keyed.Save(ctx, &Session{ID: id, Data: []byte("x")}); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("save: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "could not make sure the store's marker says it is encrypted") || !strings.Contains(out, context.Canceled.Error()) {
		t.Fatalf("log of a save whose request gave up before the marker lock came free: %s\nwant the marker warning with the save's %v", out, context.Canceled)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != stripped {
		t.Fatalf("marker while another host held its lock: %q %v, want it as edited", b, err)
	}
}
