//go:build unix

package fsstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// stoppedLeaseTTL is the lease of the child that the lease tests stop: as
// short as the lock package allows, so that its lease lapses while it is
// stopped. The store keeps the lock package's default grace (2 s), so a
// takeover waits for about that long.
const stoppedLeaseTTL = 100 * time.Millisecond

// TestLeaseStoppedHolderSaveFenced: a process holding a session's lock
// under the lease strategy is stopped (SIGSTOP) past its lease, at every
// stage of a locked save; another process takes the lock over, saves and
// keeps holding it; the first resumes and finishes its save. That save
// must be refused with an error matching ErrLockLost (reported in doubt
// only when its record was published before the stop), the second
// holder's save must stay, and the second holder must still hold its
// lock and save again.
func TestLeaseStoppedHolderSaveFenced(t *testing.T) {
	for _, tc := range []struct {
		stage   string
		inDoubt bool // the stopped save had published its record
	}{
		{"locked", false}, // holding the lock, before Save
		{"rename", false}, // temp file written, before the lock check
		{"commit", false}, // lock checked, before the rename
		{"after", true},   // renamed, before the check after it
	} {
		t.Run(tc.stage, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithLockStrategy(lock.Lease), fsstore.WithLeaseTTL(time.Minute))
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
				t.Fatal(err)
			}
			a := startChild(t, "lease-stop-save", []string{"STORE_DIR=" + dir, "STORE_ID=" + id, "STORE_STAGE=" + tc.stage})
			a.Expect(t, "at "+tc.stage)
			resume := stopChild(t, a)

			lctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			l, err := s.Lock(lctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatalf("Lock while the holder is stopped past its lease: %v", err)
			}
			defer l.Unlock()
			sess, err := l.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sess.Data = []byte("B")
			if err := l.Save(ctx, sess); err != nil {
				t.Fatalf("second holder's Save: %v", err)
			}

			resume()
			a.Send(t, "go")
			got := a.Expect(t, "saved ")
			a.Finish(t)
			if !strings.Contains(got, "lost=true") {
				t.Errorf("stopped holder's Save after its lock was taken over: %s; want an error matching ErrLockLost", got)
			}
			if want := fmt.Sprintf("indoubt=%v", tc.inDoubt); !strings.Contains(got, want) {
				t.Errorf("stopped holder's Save after its lock was taken over: %s; want %s", got, want)
			}
			sess, err = l.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(sess.Data) != "B" {
				t.Fatalf("record holds %q after the stopped holder resumed: the second holder's save was lost", sess.Data)
			}
			sess.Data = []byte("B2")
			if err := l.Save(ctx, sess); err != nil {
				t.Fatalf("second holder's Save after the first resumed: %v (its lease removed?)", err)
			}
			if err := l.Unlock(); err != nil {
				t.Fatalf("second holder's Unlock: %v", err)
			}
			mustLoad(t, s, id, "B2")
			if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(s.RecordPathForTest(id)), ".tmp-*")); len(tmps) != 0 {
				t.Logf("left in the shard: %v (the sweep's)", tmps)
			}
		})
	}
}

// leaseStopSave is the child of TestLeaseStoppedHolderSaveFenced: it locks
// id under a short lease, loads it and saves "A" under the lock, saying
// "at <stage>" at stage and waiting there for "go", then reports the
// save's outcome.
func leaseStopSave(ctx context.Context, dir, id, stage string) error {
	s, err := fsstore.Open(dir, fsstore.WithLockStrategy(lock.Lease), fsstore.WithLeaseTTL(stoppedLeaseTTL),
		// Bounded, for its hook right before the rename ("commit"),
		// which never gives up here.
		fsstore.WithMaxInFlight(8), fsstore.WithOpTimeout(time.Hour), fsstore.WithBreaker(1000, time.Hour),
		fsstore.WithTestFSForTest(func(site string) {
			if site == "commit" && stage == "commit" {
				pauseForParent(stage)
			}
		}))
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetLockCheckHookForTest(func(at string) {
		if at == stage {
			pauseForParent(stage)
		}
	})
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return err
	}
	sess, err := l.Load(ctx)
	if err != nil {
		return err
	}
	if stage == "locked" {
		pauseForParent(stage)
	}
	sess.Data = []byte("A")
	err = l.Save(ctx, sess)
	say("saved lost=%v indoubt=%v err=%v", errors.Is(err, fsstore.ErrLockLost), errors.Is(err, fsstore.ErrInDoubt), err)
	l.Unlock()
	return nil
}

var stdinLines = bufio.NewScanner(os.Stdin)

// pauseForParent says "at <stage>" and waits for the parent's next line.
func pauseForParent(stage string) {
	say("at %s", stage)
	stdinLines.Scan()
}

// stopChild stops c (SIGSTOP) and returns the function that resumes it,
// which also runs at the test's end if the test has not.
func stopChild(t *testing.T, c *child) (resume func()) {
	t.Helper()
	if err := c.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	resume = func() {
		once.Do(func() {
			if err := c.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(resume)
	return resume
}
