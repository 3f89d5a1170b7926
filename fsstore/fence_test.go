//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestLateRenameFenced plays the partition that the lost-lock checks
// cannot catch: hostA's locked save passed its last check and sent its
// rename, the network was cut until its lock lease ran out, hostB took the
// lock and saved, and then hostA's rename reached the server. The rename
// must not publish hostA's record over hostB's acknowledged one, whether
// it arrives after hostB's save or while hostB's temp file is written.
//
// The lease strategy stands in for the lease running out (the test removes
// the lease file), and a hung "commit" hook for the rename in flight.
func TestLateRenameFenced(t *testing.T) {
	writes := []struct {
		name string
		save func(ctx context.Context, s *fsstore.Store, id, data string) error
	}{
		{"Locked.Save", lockedSave},
		{"CompareAndSwap", func(ctx context.Context, s *fsstore.Store, id, data string) error {
			sess, err := s.Load(ctx, id)
			if err != nil {
				return err
			}
			sess.Data = []byte(data)
			return s.CompareAndSwap(ctx, sess)
		}},
	}
	for _, w := range writes {
		for _, during := range []bool{false, true} {
			name := w.name + "/after-the-next-save"
			if during {
				name = w.name + "/during-the-next-save"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				f, id, releaseA := lateRenameOnTheWire(t)
				defer releaseA()

				// hostB takes the lock and saves.
				b, fsB := hookedLeaseStore(t, f.dir)
				if !during {
					if err := w.save(ctx, b, id, "B"); err != nil {
						t.Fatalf("hostB's save: %v", err)
					}
					releaseA() // hostA's rename reaches the server
					f.settle(t)
				} else {
					releaseB := fsB.hang("commit")
					defer releaseB()
					berr := make(chan error, 1)
					go func() { berr <- w.save(ctx, b, id, "B") }()
					fsB.await(t, "commit")
					releaseA() // lands while hostB's finished temp file awaits its rename
					f.settle(t)
					releaseB()
					if err := <-berr; err != nil {
						t.Fatalf("hostB's save, its temp file renamed by hostA's late rename: %v", err)
					}
				}
				got, err := b.Load(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if string(got.Data) != "B" {
					t.Fatalf("record holds %q: hostA's late rename overwrote hostB's acknowledged save", got.Data)
				}
				if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(f.s.RecordPathForTest(id)), ".tmp-*")); len(tmps) != 0 {
					t.Fatalf("temp files left: %v", tmps)
				}
				f.waitLog(t, "given up on by its caller", "hostA's failed late save")
			})
		}
	}
}

// TestLateRenameAfterDelete: a log-out on hostB while hostA's locked save
// is cut off with its rename on the wire stays a log-out when that rename
// lands: Delete removes the fenced temp file first.
func TestLateRenameAfterDelete(t *testing.T) {
	for _, locked := range []bool{false, true} {
		name := "Store.Delete"
		if locked {
			name = "Locked.Delete"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f, id, releaseA := lateRenameOnTheWire(t)
			defer releaseA()
			b := openDir(t, f.dir, fsstore.WithLockStrategy(lock.Lease))
			if locked {
				lb, err := b.Lock(ctx, id, fsstore.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				if err := lb.Delete(ctx); err != nil {
					t.Fatal(err)
				}
				lb.Unlock()
			} else if err := b.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			releaseA()
			f.settle(t)
			if got, err := b.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
				t.Fatalf("after the log-out and hostA's late rename: %v, %v; want ErrNotFound (a session deleted came back)", nfsData(got), err)
			}
		})
	}
}

// TestFencedTempOfTheLiveHolderIsKept: a host that lost the lock without
// knowing it (here a CompareAndSwap stalled after its lock check, before
// creating its temp file, its lease broken meanwhile) finds the live holder's fenced temp
// file under the name it wants. It must verify its lock and fail, not
// remove that file and write its own there, which the live holder's
// rename would then publish as its own save.
func TestFencedTempOfTheLiveHolderIsKept(t *testing.T) {
	ctx := context.Background()
	f := newBoundFixture(t, fsstore.WithLockStrategy(lock.Lease))
	id := newID(t)
	v1 := mustSave(t, f.s, id, "v1")

	releaseA := f.fs.hang("write")
	defer releaseA()
	errc := make(chan error, 1)
	go func() {
		errc <- f.s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Version: v1.Version, Data: []byte("A")})
	}()
	f.fs.await(t, "write")
	if err := os.Remove(filepath.Join(f.dir, "locks", f.s.StripeForTest(id)+".lease")); err != nil {
		t.Fatal(err)
	}

	b, fsB := hookedLeaseStore(t, f.dir)
	releaseB := fsB.hang("commit")
	defer releaseB()
	berr := make(chan error, 1)
	go func() { berr <- lockedSave(ctx, b, id, "B") }()
	fsB.await(t, "commit") // hostB's temp file is written, its rename next

	releaseA()
	if err := <-errc; !errors.Is(err, fsstore.ErrLockLost) {
		t.Fatalf("hostA's CompareAndSwap under a lost lock: %v, want ErrLockLost", err)
	}
	releaseB()
	if err := <-berr; err != nil {
		t.Fatalf("hostB's save: %v", err)
	}
	got, err := b.Load(ctx, id)
	if err != nil || string(got.Data) != "B" {
		t.Fatalf("record after hostB's save: %v, %v; want \"B\" (hostA wrote into the name hostB published)", nfsData(got), err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(f.s.RecordPathForTest(id)), ".tmp-*")); len(tmps) != 0 {
		t.Fatalf("temp files left: %v", tmps)
	}
}

// lateRenameOnTheWire plays hostA's side of a cut: a session saved as
// "v1", then a locked save of "A" past its last lock check and stuck in
// its rename, given up on by its caller, and the lease of its lock broken
// (as when it expires during the cut). releaseA lets the rename land.
func lateRenameOnTheWire(t *testing.T) (f *boundFixture, id string, releaseA func()) {
	t.Helper()
	f = newBoundFixture(t, fsstore.WithLockStrategy(lock.Lease))
	g := giveUpLockedSave(t, f, "commit", "A")
	isUnavailable(t, g.err, nil)
	if err := os.Remove(filepath.Join(f.dir, "locks", f.s.StripeForTest(g.id)+".lease")); err != nil {
		g.release()
		t.Fatal(err)
	}
	return f, g.id, g.release
}

// hookedLeaseStore opens a second bounded store on dir, for hostB, with
// the lease strategy and a fake filesystem layer of its own.
func hookedLeaseStore(t *testing.T, dir string) (*fsstore.Store, *fakeFS) {
	t.Helper()
	fs := newFakeFS()
	s, err := fsstore.Open(dir, fsstore.WithLockStrategy(lock.Lease), fsstore.WithMaxInFlight(8),
		fsstore.WithOpTimeout(time.Hour), fsstore.WithBreaker(1000, time.Hour), fsstore.WithTestFSForTest(fs.hook))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, fs
}

// lockedSave is one locked read-modify-write setting the session's data.
func lockedSave(ctx context.Context, s *fsstore.Store, id, data string) error {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return err
	}
	defer l.Unlock()
	sess, err := l.Load(ctx)
	if err != nil {
		return err
	}
	sess.Data = []byte(data)
	return l.Save(ctx, sess)
}
