//go:build unix

package fsstore_test

import (
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// Stores on one directory agree on a lock strategy: a store that does not
// force one (sessgc's, say) takes the one the running stores use, and one
// that forces the other is refused at Open, before it could save a session
// that another host holds locked.
func TestStoresAgreeOnLockStrategy(t *testing.T) {
	for _, first := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(first.String(), func(t *testing.T) {
			dir := t.TempDir()
			openDir(t, dir, fsstore.WithLockStrategy(first))
			if s := openDir(t, dir); s.LockStrategy() != first {
				t.Fatalf("a store with the default strategy beside a %s one uses %s", first, s.LockStrategy())
			}
			other := lock.Lease
			if first == lock.Lease {
				other = lock.Flock
			}
			s, err := fsstore.Open(dir, fsstore.WithLockStrategy(other))
			if err == nil {
				s.Close()
				t.Fatalf("a store forced to %s beside a %s one opened", other, first)
			}
			if !errors.Is(err, lock.ErrStrategyMismatch) {
				t.Fatalf("Open(%s) beside %s: %v, want lock.ErrStrategyMismatch", other, first, err)
			}
		})
	}
}
