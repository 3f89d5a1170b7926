//go:build linux

package fsstore_test

import (
	"context"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestObserverPanicAtReadOnlyWriteNotesIt: a write refused because the
// file system turned read-only is noted (Health fails, ReadOnlyFS) before
// the Observer is told of it: a panic there, raised in the caller, skipped
// the note, and the host stayed in rotation with every write failing.
func TestObserverPanicAtReadOnlyWriteNotesIt(t *testing.T) {
	dir := testenv.MountTmpfs(t, "1m")
	obs := &panicObserver{when: func(call string, e fsstore.Event, _, _ fsstore.BreakerState, _ bool) bool {
		return call == "Observe" && e.Outcome == fsstore.OutcomeReadOnlyFS
	}}
	s := openDir(t, dir, fsstore.WithObserver(obs))
	testenv.RemountTmpfs(t, dir, true)
	t.Cleanup(func() { testenv.RemountTmpfs(t, dir, false) })
	func() {
		defer func() {
			if p := recover(); p != "observer Observe" {
				t.Fatalf("Save's caller recovered %v, want the observer's panic", p)
			}
		}()
		s.Save(context.Background(), &fsstore.Session{ID: newID(t), Data: []byte("refused")})
	}()
	if !s.ReadOnlyFS() {
		t.Fatal("the refused write was not noted: ReadOnlyFS false")
	}
	if err := s.Health(context.Background()); err == nil {
		t.Fatal("Health passes on a read-only mount after a refused write")
	}
}
