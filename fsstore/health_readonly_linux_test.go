//go:build linux

package fsstore_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestHealthReadOnlyMount: a store whose file system turns read-only under
// a running process (the kernel remounting it after an I/O error, an NFS
// mount made ro on one host) still answers Health's attribute fetch, and
// the host stayed in the load balancer's rotation while every write there
// failed. Once a write has failed with EROFS, whichever operation it was,
// Health must report an error matching ErrUnavailable and EROFS, and stay
// so without further writes; once the mount is writable again, Health must
// turn healthy by itself, with no write in between (a host out of
// rotation gets none), and writes must work.
//
// Store.ReadOnlyFS and a ReadOnlyFSObserver follow the same finding, once
// per change: an alert on the refused writes alone resolved while the host,
// drained and getting no writes, was still read-only.
func TestHealthReadOnlyMount(t *testing.T) {
	ops := []struct {
		name string
		do   func(ctx context.Context, s *fsstore.Store, id string) error
	}{
		{"Save", func(ctx context.Context, s *fsstore.Store, id string) error {
			return s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("new"), Version: 1})
		}},
		{"CompareAndSwap", func(ctx context.Context, s *fsstore.Store, id string) error {
			return s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("new"), Version: 1})
		}},
		{"Touch", func(ctx context.Context, s *fsstore.Store, id string) error { return s.Touch(ctx, id) }},
		{"Delete", func(ctx context.Context, s *fsstore.Store, id string) error { return s.Delete(ctx, id) }},
		{"Lock", func(ctx context.Context, s *fsstore.Store, id string) error {
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err == nil {
				l.Unlock()
			}
			return err
		}},
		{"TryLock", func(ctx context.Context, s *fsstore.Store, id string) error {
			l, err := s.TryLock(id, fsstore.Exclusive)
			if err == nil {
				l.Unlock()
			}
			return err
		}},
	}
	for _, bounded := range []bool{false, true} {
		for _, op := range ops {
			name := "local/" + op.name
			if bounded {
				name = "bounded/" + op.name
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				dir := testenv.MountTmpfs(t, "1m")
				logs := &syncBuffer{}
				rec := &readOnlyRecorder{}
				opts := []fsstore.Option{fsstore.WithLogger(slog.New(slog.NewTextHandler(logs, nil))), fsstore.WithObserver(rec)}
				if bounded {
					opts = append(opts, fsstore.WithMaxInFlight(4))
				}
				s := openDir(t, dir, opts...)
				id := newID(t)
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
					t.Fatal(err)
				}
				if err := s.Health(ctx); err != nil {
					t.Fatalf("Health before the remount: %v", err)
				}
				rec.check(t, s, "before the remount", false)

				testenv.RemountTmpfs(t, dir, true)
				t.Cleanup(func() { testenv.RemountTmpfs(t, dir, false) })
				if err := op.do(ctx, s, id); !errors.Is(err, syscall.EROFS) {
					t.Fatalf("%s on a read-only mount: %v, want an error matching EROFS", op.name, err)
				}
				rec.check(t, s, "after the refused write", false, true)
				for range 2 { // the second without a write in between
					err := s.Health(ctx)
					if !errors.Is(err, fsstore.ErrUnavailable) || !errors.Is(err, syscall.EROFS) {
						t.Fatalf("Health on a read-only mount after a write failed: %v, want an error matching ErrUnavailable and EROFS", err)
					}
					// The file system answered: words that say it did
					// not send the operator after the file server.
					if msg := err.Error(); strings.Contains(msg, "did not answer") || !strings.Contains(msg, "read-only file system") {
						t.Fatalf("Health on a read-only mount: %q; want it to say read-only and not that the file system did not answer", msg)
					}
					// Health's own words say where; the test write's
					// error need not say it again.
					if n := strings.Count(err.Error(), "on this host"); n != 1 {
						t.Fatalf("Health on a read-only mount: %q says \"on this host\" %d times, want once", err, n)
					}
				}
				mustLoad(t, s, id, "kept")
				rec.check(t, s, "after Health failed twice with no write", false, true)

				testenv.RemountTmpfs(t, dir, false)
				var herr error
				eventually(t, func() bool { herr = s.Health(ctx); return herr == nil }, "Health to pass after the remount read-write")
				rec.check(t, s, "after Health passed", false, true, false)
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("after"), Version: 1}); err != nil {
					t.Fatalf("Save after the remount read-write: %v", err)
				}
				mustLoad(t, s, id, "after")
				if err := s.Health(ctx); err != nil {
					t.Fatalf("Health after a save: %v", err)
				}
				rec.check(t, s, "after a save", false, true, false)
				// One line for each change, not one per failed write or check.
				for _, msg := range []string{"session store is read-only on this host", "session store no longer read-only on this host"} {
					if n := strings.Count(logs.String(), msg); n != 1 {
						t.Errorf("%q logged %d times, want once:\n%s", msg, n, logs)
					}
				}
			})
		}
	}
}

// readOnlyRecorder records what a store reports to its ReadOnlyFSObserver.
type readOnlyRecorder struct {
	mu      sync.Mutex
	changes []bool
}

func (r *readOnlyRecorder) Observe(fsstore.Event) {}

func (r *readOnlyRecorder) ObserveReadOnlyFS(readOnly bool) {
	r.mu.Lock()
	r.changes = append(r.changes, readOnly)
	r.mu.Unlock()
}

// check fails t unless s.ReadOnlyFS is the last of want and the observer
// was told of exactly the changes in want after the first (the state
// before any change).
func (r *readOnlyRecorder) check(t *testing.T, s *fsstore.Store, when string, want ...bool) {
	t.Helper()
	if got := s.ReadOnlyFS(); got != want[len(want)-1] {
		t.Errorf("%s: ReadOnlyFS() = %v, want %v", when, got, want[len(want)-1])
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Equal(r.changes, want[1:]) {
		t.Errorf("%s: ObserveReadOnlyFS called with %v, want %v", when, r.changes, want[1:])
	}
}
