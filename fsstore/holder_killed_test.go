//go:build unix

package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// A process killed while it holds a session's lock and is in the middle
// of saving it (Locked.Save or CompareAndSwap), with its temp file written
// but not yet renamed, or with the record just renamed into place but the
// lock not yet released. Another process then gets the lock (at once
// with flock, once the dead holder's lease runs out with lease files),
// finds the session whole, as it was before the save or as the save left
// it, never torn, saves over it in spite of what the dead writer left
// behind, and a sweep removes those leftovers; no other session is
// touched. TestCrashDuringSave covers the unlocked Save; the lock package
// covers a killed holder that was not writing.
func TestLockHolderKilledMidSave(t *testing.T) {
	oldData := bytes.Repeat([]byte("old "), 16<<10)
	newData := bytes.Repeat([]byte("new "), 16<<10) // what the helper saves
	for _, strategy := range []string{"flock", "lease"} {
		for _, op := range []string{"locked", "cas"} {
			for _, stage := range []string{"rename", "after"} {
				t.Run(strategy+"/"+op+"/"+stage, func(t *testing.T) {
					// A store and a helper of its own; the lease cases
					// wait for the killed holder's lease: side by side.
					t.Parallel()
					ctx := context.Background()
					var opts []fsstore.Option
					if strategy == "lease" {
						// The helper's lease is a second, so that it runs
						// out soon after the kill; this process's own is
						// long, because it must keep the lock it then
						// takes through a Load and a Save however slowly a
						// busy machine runs them (a lease records its own
						// expiry: a short one is broken on time all the
						// same).
						opts = append(opts, fsstore.WithLockStrategy(lock.Lease), fsstore.WithLeaseTTL(time.Minute))
					} else {
						opts = append(opts, fsstore.WithLockStrategy(lock.Flock))
					}
					dir := t.TempDir()
					s := openDir(t, dir, opts...)
					id, other := newID(t), newID(t)
					for _, sid := range []string{id, other} {
						if err := s.Save(ctx, &fsstore.Session{ID: sid, Data: oldData}); err != nil {
							t.Fatal(err)
						}
					}
					want := oldData
					if stage == "after" {
						want = newData
					}

					kid := startChild(t, "die-in-save", []string{"STORE_DIR=" + dir, "STORE_ID=" + id,
						"STORE_OP=" + op, "STORE_STAGE=" + stage, "STORE_STRATEGY=" + strategy})
					kid.Expect(t, "at "+stage)
					if l, err := s.TryLock(id, fsstore.Exclusive); !errors.Is(err, fsstore.ErrLocked) {
						if l != nil {
							l.Unlock()
						}
						t.Fatalf("TryLock while the helper holds the lock: %v, want ErrLocked", err)
					}
					if sess, err := s.Load(ctx, id); err != nil || !bytes.Equal(sess.Data, want) {
						t.Fatalf("Load while the helper is stopped at %q: %v, %d bytes; want the %d-byte value", stage, err, lenData(sess), len(want))
					}
					kid.Kill(t)

					var l *fsstore.Locked
					var err error
					if strategy == "flock" {
						// The kernel released the dead process's flock.
						l, err = s.TryLock(id, fsstore.Exclusive)
					} else {
						// Its lease runs out within the TTL.
						lctx, cancel := context.WithTimeout(ctx, proctest.Deadline)
						l, err = s.Lock(lctx, id, fsstore.Exclusive)
						cancel()
					}
					if err != nil {
						t.Fatalf("taking the lock of the killed holder: %v", err)
					}
					sess, err := l.Load(ctx)
					if err != nil || !bytes.Equal(sess.Data, want) {
						l.Unlock()
						t.Fatalf("Locked.Load after the holder was killed at %q: %v, %d bytes; want the %d-byte value", stage, err, lenData(sess), len(want))
					}
					sess.Data = []byte("saved after the kill")
					if err := l.Save(ctx, sess); err != nil {
						l.Unlock()
						t.Fatalf("Locked.Save after the holder was killed at %q: %v", stage, err)
					}
					if err := l.Unlock(); err != nil {
						t.Fatal(err)
					}
					mustLoad(t, s, id, "saved after the kill")
					if sess, err := s.Load(ctx, other); err != nil || !bytes.Equal(sess.Data, oldData) {
						t.Fatalf("the other session: %v, %d bytes", err, lenData(sess))
					}
					if _, err := s.Sweep(ctx, fsstore.SweepOptions{TempAge: time.Nanosecond}); err != nil {
						t.Fatal(err)
					}
					if left := tempFiles(t, dir); len(left) > 0 {
						t.Fatalf("temp files left after a sweep:\n%s", strings.Join(left, "\n"))
					}
					mustLoad(t, s, id, "saved after the kill")
				})
			}
		}
	}
}

func lenData(sess *fsstore.Session) int {
	if sess == nil {
		return -1
	}
	return len(sess.Data)
}
