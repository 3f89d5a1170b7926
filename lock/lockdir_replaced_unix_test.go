//go:build unix

package lock_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// lockDirSwaps are the ways an operator replaces a lock directory while
// processes use it: each leaves a directory at the name that a process
// opening it afterwards locks in.
var lockDirSwaps = []struct {
	name string
	swap func(t *testing.T, dir string)
}{
	{"moved away and made anew", func(t *testing.T, dir string) {
		if err := os.Rename(dir, dir+".old"); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}},
	{"removed and made anew", func(t *testing.T, dir string) {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}},
	{"replaced by a restored copy", func(t *testing.T, dir string) {
		if err := os.Rename(dir, dir+".old"); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(dir, os.DirFS(dir+".old")); err != nil {
			t.Fatal(err)
		}
	}},
}

// newLockDir returns a lock directory that a test may move and remove.
func newLockDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLockDirReplaced: a lock directory moved away, removed or replaced
// by a copy while a Table has it open, and opened afresh at its name by
// another process (two Tables stand for the two processes: flocks and
// leases of two Tables exclude each other as two processes' do). Once the
// Table looks at the name again (VerifyAfter has passed: a nanosecond
// here), a lock it held in the old directory is lost (Verify says
// ErrLockLost, so nothing is published under it), and its takes lock in
// the directory now at the name, where the other process's locks
// exclude them. The Table kept locking in the directory it had opened:
// the locks of both processes on one name were held at once (moved, or
// a copy), or every take failed with the removed directory's ENOENT.
func TestLockDirReplaced(t *testing.T) {
	for _, strat := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, sw := range lockDirSwaps {
			t.Run(strat.String()+"/"+sw.name, func(t *testing.T) {
				dir := newLockDir(t)
				cfg := lock.Config{Dir: dir, Strategy: strat, LeaseTTL: 5 * time.Minute, VerifyAfter: time.Nanosecond}
				a := newTable(t, cfg)
				// s2 leaves a kept descriptor (Flock) in the old directory.
				h2, err := a.TryLock("s2", "k", lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				h2.Unlock()
				held, err := a.TryLock("s1", "k", lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				defer held.Unlock()

				sw.swap(t, dir)
				b := newTable(t, lock.Config{Dir: dir, Strategy: strat, LeaseTTL: 5 * time.Minute})

				if err := held.Verify(); !errors.Is(err, lock.ErrLockLost) {
					t.Errorf("Verify of a lock held in the directory %s: %v, want ErrLockLost", sw.name, err)
				}
				for _, s := range []string{"s2", "s3"} {
					hb, err := b.TryLock(s, "k", lock.Exclusive)
					if err != nil {
						t.Fatal(err)
					}
					if ha, err := a.TryLock(s, "k", lock.Exclusive); err == nil {
						ha.Unlock()
						t.Errorf("%s: both processes hold it: the first locked in the directory that was %s", s, sw.name)
					} else if !errors.Is(err, lock.ErrLocked) {
						t.Errorf("%s, held by the other process: %v, want ErrLocked", s, err)
					}
					hb.Unlock()
					ha, err := a.TryLock(s, "k", lock.Exclusive)
					if err != nil {
						t.Fatalf("%s, free: %v", s, err)
					}
					if hb, err := b.TryLock(s, "k", lock.Exclusive); err == nil {
						hb.Unlock()
						t.Errorf("%s: both processes hold it after the first retook it", s)
					}
					ha.Unlock()
				}
			})
		}
	}
}

// TestLockDirRemovedRetakenAtOnce: a take that meets the lock directory
// gone (its create fails with ENOENT) looks at the name at once, without
// waiting for VerifyAfter, and locks in the directory made anew there;
// a lock held in the removed one is then lost. Every take failed with
// ENOENT until the process restarted.
func TestLockDirRemovedRetakenAtOnce(t *testing.T) {
	for _, strat := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strat.String(), func(t *testing.T) {
			dir := newLockDir(t)
			cfg := lock.Config{Dir: dir, Strategy: strat, LeaseTTL: 5 * time.Minute, VerifyAfter: time.Hour}
			a := newTable(t, cfg)
			held, err := a.TryLock("s1", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Unlock()
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := a.TryLock("s3", "k", lock.Exclusive); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a take with the lock directory removed: %v, want ErrNotExist", err)
			}
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			b := newTable(t, cfg)
			hb, err := b.TryLock("s3", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			if ha, err := a.TryLock("s3", "k", lock.Exclusive); err == nil {
				ha.Unlock()
				t.Errorf("both processes hold s3: the first locked in the removed directory")
			} else if !errors.Is(err, lock.ErrLocked) {
				t.Errorf("s3, held by the other process: %v, want ErrLocked", err)
			}
			hb.Unlock()
			if err := held.Verify(); !errors.Is(err, lock.ErrLockLost) {
				t.Errorf("Verify of a lock held in the removed directory: %v, want ErrLockLost", err)
			}
		})
	}
}

// TestLockDirReplacedOtherStrategy: a Table that finds its lock
// directory replaced by one whose processes record the other strategy
// fails its takes with ErrStrategyMismatch, as NewTable would there,
// rather than lock in the old directory or with a strategy that does not
// exclude theirs.
func TestLockDirReplacedOtherStrategy(t *testing.T) {
	for _, strat := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strat.String(), func(t *testing.T) {
			other := lock.Lease
			if strat == lock.Lease {
				other = lock.Flock
			}
			dir := newLockDir(t)
			a := newTable(t, lock.Config{Dir: dir, Strategy: strat, LeaseTTL: 5 * time.Minute, VerifyAfter: time.Nanosecond})
			lockDirSwaps[0].swap(t, dir)
			b := newTable(t, lock.Config{Dir: dir, Strategy: other, LeaseTTL: 5 * time.Minute})
			hb, err := b.TryLock("s1", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer hb.Unlock()
			if ha, err := a.TryLock("s1", "k", lock.Exclusive); err == nil {
				ha.Unlock()
				t.Errorf("both processes hold s1")
			} else if !errors.Is(err, lock.ErrStrategyMismatch) {
				t.Errorf("a take in a directory made anew by processes of the other strategy: %v, want ErrStrategyMismatch", err)
			}
		})
	}
}

// TestLockDirReplacedAcrossProcesses is TestLockDirReplaced with a real
// process opened before the change (the child) and one opened after it
// (the test): the child's lock taken before is lost, and its takes after
// it meet the test's locks.
func TestLockDirReplacedAcrossProcesses(t *testing.T) {
	for _, strat := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, sw := range lockDirSwaps {
			t.Run(strat.String()+"/"+sw.name, func(t *testing.T) {
				dir := newLockDir(t)
				cfg := lock.Config{Dir: dir, Strategy: strat, LeaseTTL: 5 * time.Minute}
				kid := startChild(t, "hold", append(strategyEnv(dir, "k", cfg), "LOCK_VERIFY_AFTER=1ns")...)
				kid.Expect(t, "locked")
				sw.swap(t, dir)
				b := newTable(t, cfg)
				kid.Send(t, "verify")
				kid.Expect(t, "verify lost")
				hb, err := b.TryLock("s3", "s3", lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				kid.Send(t, "take s3")
				if got := kid.Expect(t, "take"); got != "take locked" {
					t.Errorf("the child's take of s3, held by the test: %q, want \"take locked\"", got)
				}
				hb.Unlock()
				kid.Send(t, "take s3")
				if got := kid.Expect(t, "take"); got != "take ok" {
					t.Fatalf("the child's take of s3, free: %q, want \"take ok\"", got)
				}
				if hb, err := b.TryLock("s3", "s3", lock.Exclusive); err == nil {
					hb.Unlock()
					t.Errorf("both processes hold s3")
				}
				kid.Send(t, "drop s3")
				kid.Expect(t, "dropped")
			})
		}
	}
}

// TestLockDirReplacedWhileTaking: goroutines lock and unlock while the
// lock directory is moved away and made anew, so that takes race with
// the reopen (a take granted in the old directory after another found it
// replaced, one refused by the old backend closed under it). No take
// fails for it (but with ErrNotExist between the move and the mkdir,
// with no directory at the path), and once the change is found every
// take excludes the other process's.
func TestLockDirReplacedWhileTaking(t *testing.T) {
	for _, strat := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strat.String(), func(t *testing.T) {
			dir := newLockDir(t)
			cfg := lock.Config{Dir: dir, Strategy: strat, LeaseTTL: 5 * time.Minute, VerifyAfter: time.Nanosecond}
			a := newTable(t, cfg)
			const workers, rounds = 4, 50
			errs := make(chan error, workers)
			start := make(chan struct{})
			for w := range workers {
				go func() {
					<-start
					for i := range rounds {
						name := fmt.Sprintf("w%d-%d", w, i%5)
						h, err := a.Lock(context.Background(), name, name, lock.Exclusive)
						switch {
						case errors.Is(err, fs.ErrNotExist):
							// Between the move and the mkdir: no
							// directory at the path to lock in.
							continue
						case err != nil:
							errs <- fmt.Errorf("%s: %w", name, err)
							return
						}
						h.Unlock()
					}
					errs <- nil
				}()
			}
			close(start)
			lockDirSwaps[0].swap(t, dir)
			for range workers {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			b := newTable(t, cfg)
			for w := range workers {
				name := fmt.Sprintf("w%d-0", w)
				hb, err := b.TryLock(name, name, lock.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				if ha, err := a.TryLock(name, name, lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
					if ha != nil {
						ha.Unlock()
					}
					t.Errorf("%s, held by the other process: %v, want ErrLocked", name, err)
				}
				hb.Unlock()
			}
		})
	}
}

// TestLockDirReplacedRelative: a Table given a relative directory opens
// it afresh, once replaced, at the path it named at NewTable, not at
// what the relative path names after the process changed directory (a
// "locks" of another store there).
func TestLockDirReplacedRelative(t *testing.T) {
	dir := newLockDir(t)
	elsewhere := newLockDir(t)
	t.Chdir(filepath.Dir(dir))
	a := newTable(t, lock.Config{Dir: "locks", Strategy: lock.Flock, VerifyAfter: time.Nanosecond})
	t.Chdir(filepath.Dir(elsewhere))
	lockDirSwaps[0].swap(t, dir)
	b := newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock})
	hb, err := b.TryLock("s1", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Unlock()
	if ha, err := a.TryLock("s1", "k", lock.Exclusive); err == nil {
		ha.Unlock()
		t.Errorf("both hold s1: the table reopened %s", filepath.Join(filepath.Dir(elsewhere), "locks"))
	} else if !errors.Is(err, lock.ErrLocked) {
		t.Errorf("s1, held by the other process: %v, want ErrLocked", err)
	}
}

// TestLockDirReplacedUnrecordedOtherStrategy: a Table opened with Auto
// that finds its lock directory replaced by one that records no strategy
// (made by an earlier version's Open) and holds the lease files of
// processes of that version agrees on the strategy there as NewTable
// does with Auto: it would join the leases, which this Table, locking
// with flock, cannot, so its takes fail with ErrStrategyMismatch. It
// forced its own strategy on the new directory: it took flocks beside
// their leases (both held the session) and recorded flock there, for
// every later Auto process to adopt.
func TestLockDirReplacedUnrecordedOtherStrategy(t *testing.T) {
	dir := newLockDir(t)
	a := newTable(t, lock.Config{Dir: dir, VerifyAfter: time.Nanosecond})
	if a.Strategy() != lock.Flock {
		t.Skipf("Auto picks %v here", a.Strategy())
	}
	lockDirSwaps[0].swap(t, dir)
	// The earlier version's process: leases, nothing recorded.
	b := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease, LeaseTTL: 5 * time.Minute})
	hb, err := b.TryLock("s1", "k", lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Unlock()
	if err := os.Remove(filepath.Join(dir, lock.StrategyFile)); err != nil {
		t.Fatal(err)
	}
	if ha, err := a.TryLock("s1", "k", lock.Exclusive); err == nil {
		ha.Unlock()
		t.Errorf("both processes hold s1: a flock beside a lease")
	} else if !errors.Is(err, lock.ErrStrategyMismatch) {
		t.Errorf("a take in a directory made anew by lease processes recording nothing: %v, want ErrStrategyMismatch", err)
	}
	if rec, err := os.ReadFile(filepath.Join(dir, lock.StrategyFile)); err == nil && strings.HasPrefix(string(rec), lock.Flock.String()+"\n") {
		t.Errorf("the directory now records %q, for every later Auto process to adopt beside the lease processes", rec)
	}
}

// TestLockDirPathMissingAWhile: the lock directory's path names nothing
// for a moment, while the directory itself is still there (a deploy's
// "current" symlink above it replaced by ln -sfn, an unlink and then a
// symlink; a directory above it renamed and back). Nobody can lock at a
// path that names nothing, so a look then says nothing: the locks held
// stay held and takes go on in the directory, still the one at the path
// once it names one again. The look took it for the directory removed:
// every lock held was lost (their saves failed) and takes failed until
// the path named it again.
func TestLockDirPathMissingAWhile(t *testing.T) {
	for _, strat := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strat.String(), func(t *testing.T) {
			base := t.TempDir()
			if err := os.MkdirAll(filepath.Join(base, "release1", "locks"), 0o700); err != nil {
				t.Fatal(err)
			}
			current := filepath.Join(base, "current")
			if err := os.Symlink("release1", current); err != nil {
				t.Fatal(err)
			}
			a := newTable(t, lock.Config{Dir: filepath.Join(current, "locks"), Strategy: strat, LeaseTTL: 5 * time.Minute, VerifyAfter: time.Nanosecond})
			held, err := a.TryLock("s1", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Unlock()
			if err := os.Remove(current); err != nil {
				t.Fatal(err)
			}
			if h, err := a.TryLock("s2", "k", lock.Exclusive); err != nil {
				t.Errorf("a take while the path names nothing: %v", err)
			} else {
				h.Unlock()
			}
			if err := held.Verify(); err != nil {
				t.Errorf("Verify while the path names nothing: %v", err)
			}
			if err := os.Symlink("release1", current); err != nil {
				t.Fatal(err)
			}
			if err := held.Verify(); err != nil {
				t.Errorf("Verify once the path names the directory again: %v", err)
			}
		})
	}
}
