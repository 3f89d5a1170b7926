package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestBackgroundReleaseErrorLogged: a release of a session lock that
// Unlock leaves to the background (the breaker open, or the release
// without an answer within the ceiling) has no caller left to return its
// error to: a lock found lost at its release is logged, as a release left
// to an operation given up on is.
func TestBackgroundReleaseErrorLogged(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []fsstore.Option
		// away makes Unlock leave the release to the background, and
		// returns what lets it go on.
		away func(t *testing.T, f *boundFixture) (resume func())
	}{
		{"breaker-open", []fsstore.Option{fsstore.WithBreaker(1, time.Hour)}, func(t *testing.T, f *boundFixture) func() {
			openBreaker(t, f)
			if st := f.s.Breaker(); st != fsstore.BreakerOpen {
				t.Fatalf("breaker %v after a timeout, want open", st)
			}
			return func() {}
		}},
		// Generous, as TestBoundGivesUp's ceiling.
		{"ceiling", []fsstore.Option{fsstore.WithOpTimeout(time.Second)}, func(t *testing.T, f *boundFixture) func() {
			return f.fs.hang("unlock")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newBoundFixture(t, append([]fsstore.Option{fsstore.WithLockStrategy(lock.Lease)}, tc.opts...)...)
			id := newID(t)
			l, err := f.s.Lock(context.Background(), id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			resume := tc.away(t, f)
			defer resume()
			// Another host breaking the lease: the release finds it gone.
			lease := filepath.Join(f.dir, "locks", f.s.StripeForTest(id)+".lease")
			if err := os.Remove(lease); err != nil {
				t.Fatal(err)
			}
			if err := l.Unlock(); !errors.Is(err, fsstore.ErrUnavailable) {
				t.Fatalf("Unlock = %v, want ErrUnavailable (released in the background)", err)
			}
			resume()
			f.settle(t) // the release logs before it gives back its slot
			log := f.log.String()
			if !strings.Contains(log, "releasing a session lock in the background failed") || !strings.Contains(log, lock.ErrLockLost.Error()) {
				t.Fatalf("the failed background release was not logged with its error:\n%s", log)
			}
		})
	}
}
