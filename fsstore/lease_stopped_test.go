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

// stoppedLeaseTTL is the lease of the child that the lease tests stop:
// short, so that its lease lapses while it is stopped, but not the
// shortest the lock package allows. A 100 ms lease was lost whenever its
// renewer missed three ticks of 33 ms before the child reached the stage
// under test, as it did on a machine loaded as CI loads it ("saved
// lost=true … lease expired" where "at aside" was due): the lease did what
// it must, the test asked too much of the machine. A run whose 1 s lease
// lapses before its stage all the same is made again (startAtStage). The
// store keeps the lock package's default grace (2 s), so a takeover waits
// for about 3 s.
const stoppedLeaseTTL = time.Second

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
			// Each waits for a lease to lapse, past the lock package's
			// grace, in a store of its own: side by side.
			t.Parallel()
			ctx := context.Background()
			s, id, a := startAtStage(t, "save", tc.stage)
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
		})
	}
}

// TestLeaseStoppedHolderDeleteFenced: a process holding a session's lock
// under the lease strategy is stopped (SIGSTOP) past its lease at each
// stage of a Locked.Delete; another process takes the lock over, loads
// the session (the record, or the copy the stopped Delete holds aside,
// or nothing once that is removed), saves and keeps holding the lock; the
// first resumes and finishes its Delete. The second holder's save must
// stay, and it must still hold its lock and save again. The stopped
// Delete must fail with ErrLockLost: alone where it had removed nothing
// when stopped (the session as it was), with ErrInDoubt where it had (the
// record it held is gone, and the second holder acted on it). With swept,
// the second holder lets go after its save, a sweep settles the copy the
// stopped Delete holds aside (older than the save: removed, through the
// sweep's own aside name), and the second holder locks again before the
// first resumes, whose next move takes the name, the second holder's
// record, to its aside name: the second holder still finds it.
func TestLeaseStoppedHolderDeleteFenced(t *testing.T) {
	for _, tc := range []struct {
		stage   string // where the Delete is stopped
		swept   bool   // a sweep settles the copy aside while it is stopped
		found   bool   // the second holder finds the session
		inDoubt bool   // the stopped Delete reports ErrInDoubt
	}{
		{"commit", false, true, false},     // lock checked, before the first unlink
		{"name", false, true, false},       // the record moved aside, before the check
		{"name", true, true, false},        // the same, the copy aside settled meanwhile
		{"name check", false, true, true},  // checked, before the unlink of the copy aside
		{"name check", true, true, true},   // the same, the copy aside settled meanwhile
		{"aside", false, false, true},      // the copy aside removed
		{"temp again", false, false, true}, // every step done, before the last check
	} {
		name := tc.stage
		if tc.swept {
			name += ", swept"
		}
		t.Run(name, func(t *testing.T) {
			// Each waits for a lease to lapse, past the lock package's
			// grace: side by side, the stages take one wait.
			t.Parallel()
			ctx := context.Background()
			s, id, a := startAtStage(t, "delete", tc.stage)
			resume := stopChild(t, a)
			lctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			l, err := s.Lock(lctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatalf("Lock while the holder is stopped past its lease: %v", err)
			}
			defer func() { l.Unlock() }()
			sess, err := l.Load(ctx)
			switch {
			case err == nil && tc.found:
				if string(sess.Data) != "old" {
					t.Fatalf("second holder loaded %q, want \"old\"", sess.Data)
				}
			case errors.Is(err, fsstore.ErrNotFound) && !tc.found:
				sess = &fsstore.Session{ID: id}
			default:
				t.Fatalf("second holder's Load: %v, %v; want found=%v", nfsData(sess), err, tc.found)
			}
			sess.Data = []byte("B")
			if err := l.Save(ctx, sess); err != nil {
				t.Fatalf("second holder's Save: %v", err)
			}
			if tc.swept {
				if err := l.Unlock(); err != nil {
					t.Fatalf("second holder's Unlock: %v", err)
				}
				st, err := s.Sweep(ctx, fsstore.SweepOptions{})
				if err != nil || st.Temps != 1 || st.Errors != 0 {
					t.Fatalf("sweep while the Delete is stopped: %+v, %v; want its copy aside removed as superseded", st, err)
				}
				if l, err = s.Lock(lctx, id, fsstore.Exclusive); err != nil {
					t.Fatalf("second holder's Lock again: %v", err)
				}
			}

			resume()
			a.Send(t, "go")
			got := a.Expect(t, "saved ")
			a.Finish(t)
			if want := fmt.Sprintf("lost=true indoubt=%v", tc.inDoubt); !strings.Contains(got, want) {
				t.Errorf("stopped holder's Delete, run on after its lock was taken over: %s; want %s", got, want)
			}
			sess, err = l.Load(ctx)
			if err != nil {
				t.Fatalf("second holder's Load after the stopped Delete resumed: %v (its save removed)", err)
			}
			if string(sess.Data) != "B" {
				t.Fatalf("record holds %q after the stopped Delete resumed; want the second holder's \"B\"", sess.Data)
			}
			sess.Data = []byte("B2")
			if err := l.Save(ctx, sess); err != nil {
				t.Fatalf("second holder's Save after the first resumed: %v (its lease removed?)", err)
			}
			if err := l.Unlock(); err != nil {
				t.Fatalf("second holder's Unlock: %v", err)
			}
			mustLoad(t, s, id, "B2")
			// A Delete that found its lock lost leaves its copy aside for
			// the sweep, which finds it older than the second holder's.
			if _, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
				t.Fatal(err)
			}
			mustLoad(t, s, id, "B2")
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(s.RecordPathForTest(id)), ".tmp-*")); len(left) != 0 {
				t.Errorf("left in the shard: %v", left)
			}
		})
	}
}

// TestLeaseKilledHolderDeleteRestored: a process killed (SIGKILL) in a
// Locked.Delete under the lease strategy right after it moved the record
// to its aside name, before the check of its lock that decides
// between removing and putting back, leaves the record there. The session
// stays readable meanwhile, and a sweep puts the record back under its
// name once the dead holder's lease has lapsed (it settles a record aside
// under the session's lock): a Delete that never returned may not have
// happened, and nothing is left aside.
func TestLeaseKilledHolderDeleteRestored(t *testing.T) {
	// Waits for the dead holder's lease to lapse, past the lock package's
	// grace, beside the stopped holders' tests.
	t.Parallel()
	ctx := context.Background()
	s, id, a := startAtStage(t, "delete", "name", fsstore.WithIdleTimeout(time.Hour))
	a.Kill(t)
	p := s.RecordPathForTest(id)
	if _, err := os.Lstat(filepath.Join(filepath.Dir(p), ".tmp-gd-"+filepath.Base(p))); err != nil {
		t.Fatalf("the killed Delete's record aside: %v", err)
	}
	mustLoad(t, s, id, "old")
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	l, err := s.Lock(lctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatalf("Lock once the killed holder's lease lapsed: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	st, err := s.Sweep(ctx, fsstore.SweepOptions{})
	if err != nil || st.Restored != 1 || st.Errors != 0 {
		t.Fatalf("sweep: %+v, %v; want the record put back", st, err)
	}
	if _, err := os.Lstat(p); err != nil {
		t.Fatalf("record after the sweep: %v; want it back under its name", err)
	}
	mustLoad(t, s, id, "old")
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".tmp-*")); len(left) != 0 {
		t.Errorf("left in the shard: %v", left)
	}
}

// startAtStage opens a store under the lease strategy in a fresh
// directory (with opts), saves a session "old" in it, and starts the
// lease-stop-save child, which locks the session under a lease of
// stoppedLeaseTTL and runs op on it; it returns once the child is at
// stage. A child whose lease lapsed before it got there reports the
// outcome of its op instead, an ErrLockLost: its renewer missed three
// renewals in a row on a loaded machine, before the stop under test,
// which then never happens. That run proves nothing either way, and is
// made again on a fresh store, at most maxAttempts times in all: the
// renewer is the machine's to starve, the stages are the test's.
func startAtStage(t *testing.T, op, stage string, opts ...fsstore.Option) (*fsstore.Store, string, *child) {
	t.Helper()
	const maxAttempts = 3
	for attempt := 1; ; attempt++ {
		dir := t.TempDir()
		s := openDir(t, dir, append([]fsstore.Option{fsstore.WithLockStrategy(lock.Lease), fsstore.WithLeaseTTL(time.Minute)}, opts...)...)
		id := newID(t)
		if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
			t.Fatal(err)
		}
		a := startChild(t, "lease-stop-save", []string{"STORE_DIR=" + dir, "STORE_ID=" + id, "STORE_STAGE=" + stage, "STORE_OP=" + op})
		got := a.Expect(t, "")
		if got == "at "+stage {
			return s, id, a
		}
		if !strings.HasPrefix(got, "saved lost=true") || attempt == maxAttempts {
			t.Fatalf("child said %q, want %q (attempt %d of %d)", got, "at "+stage, attempt, maxAttempts)
		}
		t.Logf("attempt %d: the child's lease lapsed before it got to %q (%s); again on a fresh store", attempt, stage, got)
		a.Finish(t)
		s.Close()
	}
}

// leaseStopSave is the child of TestLeaseStoppedHolderSaveFenced and
// TestLeaseStoppedHolderDeleteFenced: it locks id under a short lease,
// loads it and saves "A" under the lock (op "delete": deletes it), saying
// "at <stage>" at stage (a lock check's, a step of the Delete's, or
// "commit", right before the first change on disk) and waiting there for
// "go", then reports the outcome.
func leaseStopSave(ctx context.Context, dir, id, stage, op string) error {
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
	s.SetDeleteHookForTest(func(step string) {
		if step == stage {
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
	if op == "delete" {
		err = l.Delete(ctx)
	} else {
		err = l.Save(ctx, sess)
	}
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

// TestLeaseStoppedSweeperTakenOver: a sweep under the lease strategy is
// stopped (SIGSTOP) past its sweep lock's lease midway, after judging
// records expired (before moving them aside) or after moving them aside
// (before checking what it moved). Meanwhile one of those records is
// saved afresh, and a second sweep takes the sweep lock over and runs to
// its end. The first then resumes and finishes. No live session may be
// removed, and no expired one removed twice or left behind.
func TestLeaseStoppedSweeperTakenOver(t *testing.T) {
	for _, tc := range []struct {
		stage string // where the first sweep is stopped
		// midway: the second sweep has taken the sweep lock over and
		// stands before its first move when the first resumes, and
		// finishes after it; otherwise it has finished by then.
		midway bool
	}{
		{"judged", false},
		{"judged", true},
		{"moved", false},
		{"moved", true},
	} {
		stage := tc.stage
		name := stage + "/second-sweep-done"
		if tc.midway {
			name = stage + "/second-sweep-midway"
		}
		t.Run(name, func(t *testing.T) {
			// Each waits for the stopped sweep's lease to lapse, past
			// the lock package's grace, in a store of its own: side by
			// side.
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithLockStrategy(lock.Lease), fsstore.WithLeaseTTL(time.Minute), fsstore.WithIdleTimeout(time.Second))
			// Live sessions last far longer than the test, and far less
			// than the hour the expired ones have been idle.
			const expired, live, liveIdle = 8, 3, 10 * time.Minute
			ids := make(map[string]string) // record file name -> session ID
			var expiredIDs, liveIDs []string
			for i := 0; i < expired+live; i++ {
				id := newID(t)
				ids[filepath.Base(s.RecordPathForTest(id))] = id
				if i < expired {
					// A second's idle timeout, last written an hour ago.
					if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("old")}); err != nil {
						t.Fatal(err)
					}
					age(t, s.RecordPathForTest(id))
					expiredIDs = append(expiredIDs, id)
				} else {
					if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v" + id), Idle: liveIdle}); err != nil {
						t.Fatal(err)
					}
					liveIDs = append(liveIDs, id)
				}
			}

			a := startChild(t, "lease-sweep", []string{"STORE_DIR=" + dir, "STORE_STAGE=" + stage})
			at := a.Expect(t, "at "+stage+" ")
			revived, ok := ids[filepath.Base(strings.TrimPrefix(at, "at "+stage+" "))]
			if !ok {
				t.Fatalf("sweeper paused at %q, not a record of the test's", at)
			}
			resume := stopChild(t, a)
			// A request saves the record the stopped sweep judged
			// expired (and, at "moved", holds aside): a live session now.
			if err := s.Save(ctx, &fsstore.Session{ID: revived, Data: []byte("revived"), Idle: liveIdle}); err != nil {
				t.Fatal(err)
			}
			liveIDs = append(liveIDs, revived)

			bStage := "none"
			if tc.midway {
				bStage = "judged"
			}
			b := startChild(t, "lease-sweep", []string{"STORE_DIR=" + dir, "STORE_STAGE=" + bStage})
			var (
				aRemoved, bRemoved []string
				aStats, bStats     string
			)
			if tc.midway {
				// Holding the sweep lock, taken over from the stopped
				// sweep, before its first move.
				bRemoved, _ = sweepReport(t, b, "at judged ")
			} else {
				bRemoved, bStats = sweepReport(t, b, "swept ")
				b.Finish(t)
			}
			resume()
			a.Send(t, "go")
			aRemoved, aStats = sweepReport(t, a, "swept ")
			a.Finish(t)
			if tc.midway {
				b.Send(t, "go")
				more, st := sweepReport(t, b, "swept ")
				bRemoved, bStats = append(bRemoved, more...), st
				b.Finish(t)
			}
			t.Logf("stopped sweep: %s; second sweep: %s", aStats, bStats)
			for _, st := range []string{aStats, bStats} {
				if !strings.Contains(st, " errors=0") {
					t.Errorf("sweep: %s, want no errors", st)
				}
			}

			removedBy := make(map[string]string) // session ID -> sweeper
			for who, removed := range map[string][]string{"stopped": aRemoved, "second": bRemoved} {
				for _, p := range removed {
					id := ids[strings.TrimPrefix(filepath.Base(p), ".tmp-gc-")]
					if prev, ok := removedBy[id]; ok {
						t.Errorf("session %s removed by the %s sweep and again by the %s one", id, prev, who)
					}
					removedBy[id] = who
				}
			}
			for _, id := range liveIDs {
				// The revived session's expired record, which the
				// stopped sweep held aside, is removed (once).
				if who, ok := removedBy[id]; ok && id != revived {
					t.Errorf("live session %s removed by the %s sweep", id, who)
				}
				want := "v" + id
				if id == revived {
					want = "revived"
				}
				mustLoad(t, s, id, want)
			}
			for _, id := range expiredIDs {
				if id == revived {
					continue
				}
				if _, err := os.Lstat(s.RecordPathForTest(id)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("expired session %s still there after both sweeps (%v)", id, err)
				}
				if _, ok := removedBy[id]; !ok {
					t.Errorf("expired session %s gone, but no sweep reported its removal", id)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "data", "*", ".tmp-*")); len(left) != 0 {
				t.Errorf("left in the shards: %v", left)
			}
		})
	}
}

// sweepReport reads a lease-sweep child's report up to a line starting
// with last, which it returns, and the paths of the sessions it reported
// removed before.
func sweepReport(t *testing.T, c *child, last string) (removed []string, stats string) {
	t.Helper()
	for {
		line := c.Expect(t, "")
		if p, ok := strings.CutPrefix(line, "removed session "); ok {
			removed = append(removed, p)
			continue
		}
		if strings.HasPrefix(line, "removed ") {
			continue
		}
		if !strings.HasPrefix(line, last) {
			t.Fatalf("sweeper said %q, want %q...", line, last)
		}
		return removed, line
	}
}

// leaseSweep is the child of TestLeaseStoppedSweeperTakenOver: one sweep
// of the store under a short lease that, at stage ("judged": before
// moving records aside; "moved": before checking what it moved; "none":
// nowhere), says "at <stage> <path>" the first time and waits there, in
// every worker that gets there, for the parent's "go". It reports each
// removal and then its stats.
func leaseSweep(ctx context.Context, dir, stage string) error {
	s, err := fsstore.Open(dir, fsstore.WithCreate(false), fsstore.WithLockStrategy(lock.Lease), fsstore.WithLeaseTTL(stoppedLeaseTTL), fsstore.WithIdleTimeout(time.Second))
	if err != nil {
		return err
	}
	defer s.Close()
	var (
		once sync.Once
		goOn = make(chan struct{})
	)
	pause := func(p string) {
		once.Do(func() {
			say("at %s %s", stage, p)
			stdinLines.Scan()
			close(goOn)
		})
		<-goOn
	}
	var judged, moved func(string)
	switch stage {
	case "judged":
		judged = pause
	case "moved":
		moved = pause
	}
	s.SetSweepHooksForTest(nil, judged, moved)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	st, err := s.Sweep(sctx, fsstore.SweepOptions{
		Grace:    time.Nanosecond,
		OnRemove: func(r fsstore.Removal) { say("removed %s %s", r.Kind, r.Path) },
		OnError:  func(err error) { say("removed nothing: error %v", err) },
	})
	if err != nil {
		return err
	}
	say("swept sessions=%d temps=%d renewed=%d restored=%d errors=%d", st.Sessions, st.Temps, st.SkippedRenewed, st.Restored, st.Errors)
	return nil
}
