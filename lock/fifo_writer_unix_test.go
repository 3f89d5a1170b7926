//go:build unix

package lock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestFIFOWithWriterAtLeaseName: a FIFO at a lease file's name (or at
// StrategyFile's) that some process holds open for writing reads EAGAIN
// to a non-blocking read, where one without a writer reads empty. The
// read parked on Go's poller for data that never came: a waiter's Lock
// ignored its context and never returned (and every later Lock of the
// stripe queued behind it), and so did NewTable. Both refuse it with
// ErrNotLockFile, as a FIFO without a writer is refused.
func TestFIFOWithWriterAtLeaseName(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		call       func(ctx context.Context, dir string) error
	}{
		{"Lock", "k.lease", func(ctx context.Context, dir string) error {
			tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease})
			if err != nil {
				return err
			}
			defer tab.Close()
			h, err := tab.Lock(ctx, "k", "k", lock.Exclusive)
			if err == nil {
				h.Unlock()
			}
			return err
		}},
		{"NewTable", lock.StrategyFile, func(_ context.Context, dir string) error {
			tab, err := lock.NewTable(lock.Config{Dir: dir})
			if err == nil {
				tab.Close()
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, tc.file)
			if err := mkfifo(fifo); err != nil {
				t.Skip(err)
			}
			w, err := os.OpenFile(fifo, os.O_RDWR, 0) // a writer, which never writes
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			t.Cleanup(func() {
				// Lets a reader stuck on the FIFO finish before the
				// directory is removed.
				w.Write([]byte(strings.Repeat("x", 200)))
				w.Close()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
				}
			})
			// One deadline bounds the call and the test's wait for it:
			// it only ends a hang, so a slow machine cannot turn the
			// refusal into ErrLocked.
			hang := hangCtx(t)
			go func() { done <- tc.call(hang, dir) }()
			select {
			case err := <-done:
				done <- err // for the cleanup
				if !errors.Is(err, lock.ErrNotLockFile) {
					t.Errorf("%s with a FIFO held open for writing at %s: %v, want ErrNotLockFile", tc.name, tc.file, err)
				}
			case <-hang.Done():
				t.Fatalf("%s has not returned by its deadline: stuck reading the FIFO at %s, or waiting for it", tc.name, tc.file)
			}
		})
	}
}

// TestFIFOSwappedForHeldLease: a FIFO put at a held lease's name (the
// lease file removed or renamed over by a tool) blocked the lease's
// renewal in a read for ever, holding the lease's mutex: the holder's
// Verify and Unlock never returned. The renewal finds the lease lost,
// and so do Verify and Unlock.
func TestFIFOSwappedForHeldLease(t *testing.T) {
	dir := t.TempDir()
	tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: 300 * time.Millisecond})
	h, err := tab.TryLock("k", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "k.lease")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(fifo); err != nil {
		h.Unlock()
		t.Skip(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		// Unblocks a renewal stuck reading the FIFO, whatever happens.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscallONonblock, 0); err == nil {
			f.Write([]byte(strings.Repeat("x", 200)))
			f.Close()
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	})
	// Until the renewal has come to the FIFO: it holds it open (a
	// writer's open then finds a reader), or has found the lease lost.
	ctx := hangCtx(t)
	for ctx.Err() == nil && !lock.KnownLost(h) {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscallONonblock, 0); err == nil {
			f.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var verr error
	go func() {
		verr = h.Verify()
		done <- h.Unlock()
	}()
	select {
	case err := <-done:
		done <- err
		if !errors.Is(verr, lock.ErrLockLost) || !errors.Is(err, lock.ErrLockLost) {
			t.Errorf("Verify and Unlock of a lease whose file became a FIFO: %v and %v, want ErrLockLost", verr, err)
		}
	case <-ctx.Done():
		t.Fatal("Verify or Unlock of a lease whose file became a FIFO has not returned")
	}
}
