//go:build unix

package lock_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// A flock and a lease file do not exclude each other, so a directory's
// processes must all use one strategy: the first Table records its own, a
// later Auto one adopts it, and one that asks for the other is refused
// before it can take a lock.
func TestStrategyAgreed(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, then lock.Strategy
		want        lock.Strategy // 0 (Auto): refused
	}{
		{"flock-then-lease", lock.Flock, lock.Lease, 0},
		{"lease-then-flock", lock.Lease, lock.Flock, 0},
		{"auto-then-lease", lock.Auto, lock.Lease, 0},
		{"lease-then-auto", lock.Lease, lock.Auto, lock.Lease},
		{"flock-then-auto", lock.Flock, lock.Auto, lock.Flock},
		{"flock-then-flock", lock.Flock, lock.Flock, lock.Flock},
		{"lease-then-lease", lock.Lease, lock.Lease, lock.Lease},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := localDir(t)
			first := newTable(t, lock.Config{Dir: dir, Strategy: tc.first})
			tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: tc.then})
			if tc.want == lock.Auto {
				if err == nil {
					tab.Close()
					t.Fatalf("a %s table beside a %s one was let in", tc.then, first.Strategy())
				}
				if !errors.Is(err, lock.ErrStrategyMismatch) || !strings.Contains(err.Error(), lock.StrategyFile) {
					t.Fatalf("NewTable(%s) beside %s = %v, want ErrStrategyMismatch naming %s", tc.then, first.Strategy(), err, lock.StrategyFile)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewTable(%s) beside %s: %v", tc.then, first.Strategy(), err)
			}
			defer tab.Close()
			if tab.Strategy() != tc.want {
				t.Fatalf("NewTable(%s) beside %s uses %s, want %s", tc.then, first.Strategy(), tab.Strategy(), tc.want)
			}
		})
	}
}

// A process on whose mount the recorded strategy does not work (flock
// recorded, and this host's NFS mount keeps flock locks to itself) is
// refused, although Auto would have picked the lease strategy there.
func TestStrategyRecordedDoesNotWorkHere(t *testing.T) {
	dir := localDir(t)
	newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock})
	for _, localOnly := range []string{"flock", "all"} {
		s, err := lock.AgreeStrategy(lock.Config{Dir: dir}, localOnly, nil)
		if !errors.Is(err, lock.ErrStrategyMismatch) || !errors.Is(err, lock.ErrNotSupported) {
			t.Errorf("local_lock=%s, flock recorded: %v, %v; want ErrStrategyMismatch and ErrNotSupported", localOnly, s, err)
		}
	}
	// Where lease was recorded, such a host joins.
	dir = localDir(t)
	newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
	if s, err := lock.AgreeStrategy(lock.Config{Dir: dir}, "flock", nil); err != nil || s != lock.Lease {
		t.Errorf("local_lock=flock, lease recorded: %v, %v; want lease", s, err)
	}
	// A fresh directory: such a host records lease, and a host whose
	// flock works adopts it.
	dir = localDir(t)
	if s, err := lock.AgreeStrategy(lock.Config{Dir: dir}, "all", nil); err != nil || s != lock.Lease {
		t.Fatalf("local_lock=all, nothing recorded: %v, %v; want lease", s, err)
	}
	if tab := newTable(t, lock.Config{Dir: dir}); tab.Strategy() != lock.Lease {
		t.Errorf("Auto after a local_lock host recorded lease: %s", tab.Strategy())
	}
}

// Tables opened at once with different strategies on a fresh directory:
// one strategy is recorded, and only its tables (and Auto ones, which
// adopt it) open.
func TestStrategyRace(t *testing.T) {
	for round := range 20 {
		dir := localDir(t)
		asks := []lock.Strategy{lock.Flock, lock.Lease, lock.Auto, lock.Flock, lock.Lease, lock.Auto}
		got := make([]lock.Strategy, len(asks))
		errs := make([]error, len(asks))
		var wg sync.WaitGroup
		for i, s := range asks {
			wg.Go(func() {
				tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: s})
				if err == nil {
					got[i] = tab.Strategy()
					tab.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		rec := readStrategyFile(t, dir)
		for i, s := range asks {
			switch {
			case s == lock.Auto || s == rec:
				if errs[i] != nil || got[i] != rec {
					t.Fatalf("round %d: %s recorded; NewTable(%s) = %s, %v", round, rec, s, got[i], errs[i])
				}
			case !errors.Is(errs[i], lock.ErrStrategyMismatch):
				t.Fatalf("round %d: %s recorded; NewTable(%s) = %s, %v; want ErrStrategyMismatch", round, rec, s, got[i], errs[i])
			}
		}
		if tmp, _ := filepath.Glob(filepath.Join(dir, lock.StrategyFile+"-*")); len(tmp) != 0 {
			t.Fatalf("round %d: temporary files left: %q", round, tmp)
		}
	}
}

// A strategy file that names no strategy (edited, or damaged) is an error
// that says what to do, not a silent choice.
func TestStrategyFileDamaged(t *testing.T) {
	for _, content := range []string{"", "\n", "auto\n", "flocks\n", "\x00\x00\x00"} {
		dir := localDir(t)
		if err := os.WriteFile(filepath.Join(dir, lock.StrategyFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		tab, err := lock.NewTable(lock.Config{Dir: dir})
		if err == nil {
			tab.Close()
			t.Fatalf("content %q: NewTable succeeded", content)
		}
		if !strings.Contains(err.Error(), "remove the file") {
			t.Errorf("content %q: %v; want advice", content, err)
		}
	}
	// The operator's way out: with the file removed, the next table
	// records its strategy afresh.
	dir := localDir(t)
	newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
	if err := os.Remove(filepath.Join(dir, lock.StrategyFile)); err != nil {
		t.Fatal(err)
	}
	if tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock}); tab.Strategy() != lock.Flock {
		t.Fatalf("after removing the file: %s", tab.Strategy())
	}
	if rec := readStrategyFile(t, dir); rec != lock.Flock {
		t.Fatalf("recorded after removing the file: %s", rec)
	}
}

// A process forced to the lease strategy beside processes using flock is
// refused at start: before, it took "the same" lock as a running one.
func TestStrategyMismatchAcrossProcesses(t *testing.T) {
	dir := localDir(t)
	tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock})
	h := mustTry(t, tab, "k", lock.Exclusive)
	defer h.Unlock()
	kid := startChild(t, "hold", strategyEnv(dir, "k", lock.Config{Strategy: lock.Lease})...)
	// Stop closes its stdin: a child let in, holding "k", exits cleanly.
	err := kid.Stop(childDeadline)
	if err == nil || !strings.Contains(err.Error(), "use another strategy") {
		t.Fatalf("a lease child beside a flock holder of its key: %v; want it refused at start", err)
	}
}

func localDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readStrategyFile(t *testing.T, dir string) lock.Strategy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, lock.StrategyFile))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	s, err := lock.ParseStrategy(line)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A store that processes of an earlier version use records no strategy.
// The first process of this one to open it records its own, which every
// later Auto process adopts: one on whose mount flock does not work must
// not record lease files beside the flock lock files the others use.
func TestStrategyUnrecordedBesideFlockFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   []string
		refused bool
	}{
		{"flock stripe files", []string{"0000", "03ff", ".probe"}, true},
		{"the marker's flock file", []string{"marker"}, true},
		{"lease files and dot files only", []string{"0000.lease", "0001.lease.claim-x-1", ".probe", ".sessgc"}, false},
		{"nothing", nil, false},
		{"a directory", []string{"lost+found/"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := localDir(t)
			for _, n := range tc.files {
				var err error
				if d, ok := strings.CutSuffix(n, "/"); ok {
					err = os.Mkdir(filepath.Join(dir, d), 0o700)
				} else {
					err = os.WriteFile(filepath.Join(dir, n), nil, 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			s, err := lock.AgreeStrategy(lock.Config{Dir: dir}, "flock", nil)
			if tc.refused {
				if !errors.Is(err, lock.ErrStrategyMismatch) {
					t.Fatalf("Auto where flock does not work, beside flock lock files: %v, %v; want ErrStrategyMismatch", s, err)
				}
				if _, err := os.Stat(filepath.Join(dir, lock.StrategyFile)); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("a strategy was recorded: %v", err)
				}
				// Forcing it is the operator's way to say no process
				// uses flock there any more.
				if s, err := lock.AgreeStrategy(lock.Config{Dir: dir, Strategy: lock.Lease}, "flock", nil); err != nil || s != lock.Lease {
					t.Fatalf("forced lease: %v, %v", s, err)
				}
				return
			}
			if err != nil || s != lock.Lease {
				t.Fatalf("Auto where flock does not work: %v, %v; want lease", s, err)
			}
		})
	}
}

// A probe that fails for another reason than the strategy (an I/O error,
// here a directory at the probe's name) is that error, not a mismatch: it
// may pass, and the mount's options are not to blame.
func TestStrategyProbeErrorIsNotMismatch(t *testing.T) {
	dir := localDir(t)
	newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock}).Close()
	if err := os.Remove(filepath.Join(dir, ".probe")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".probe"), 0o700); err != nil {
		t.Fatal(err)
	}
	tab, err := lock.NewTable(lock.Config{Dir: dir})
	if err == nil {
		tab.Close()
		t.Fatal("NewTable succeeded with a directory at the probe's name")
	}
	if errors.Is(err, lock.ErrStrategyMismatch) {
		t.Fatalf("a probe's I/O error reported as a strategy mismatch: %v", err)
	}
}

// The link that publishes the strategy fails because another process's is
// there, which is gone again when read (removed by an operator, say): the
// process looks again rather than run unchecked. A filesystem without hard
// links records nothing and checks nothing.
func TestStrategyLinkOutcomes(t *testing.T) {
	dir := localDir(t)
	tries := 0
	s, err := lock.AgreeStrategy(lock.Config{Dir: dir, Strategy: lock.Lease}, "", func(err error) error {
		tries++
		if tries == 1 && err == nil {
			if rerr := os.Remove(filepath.Join(dir, lock.StrategyFile)); rerr != nil {
				t.Fatal(rerr)
			}
			return fs.ErrExist
		}
		return err
	})
	if err != nil || s != lock.Lease || tries != 2 {
		t.Fatalf("after a vanished record: %v, %v, %d links; want lease after 2", s, err, tries)
	}
	if rec := readStrategyFile(t, dir); rec != lock.Lease {
		t.Fatalf("recorded %s", rec)
	}

	dir = localDir(t)
	s, err = lock.AgreeStrategy(lock.Config{Dir: dir, Strategy: lock.Lease}, "", func(error) error {
		// As if the link had not been made.
		if err := os.Remove(filepath.Join(dir, lock.StrategyFile)); err != nil {
			t.Fatal(err)
		}
		return &os.LinkError{Op: "link", Err: syscall.ENOTSUP}
	})
	if err != nil || s != lock.Lease {
		t.Fatalf("no hard links: %v, %v; want lease, unrecorded", s, err)
	}
	if _, err := os.Stat(filepath.Join(dir, lock.StrategyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no hard links, yet recorded: %v", err)
	}
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.ENOTSUP, syscall.EOPNOTSUPP, syscall.ENOSYS} {
		if !lock.LinkUnsupported(&os.LinkError{Op: "link", Err: errno}) {
			t.Errorf("linkUnsupported(%v) = false", errno)
		}
	}
	if lock.LinkUnsupported(&os.LinkError{Op: "link", Err: syscall.EIO}) {
		t.Error("linkUnsupported(EIO) = true")
	}
}

// The other way round: a process on whose mount flock works, opening a
// store that processes of an earlier version lock with lease files (their
// mounts have no working flock), joins them instead of recording flock,
// which would not exclude them and would refuse every later one of theirs.
func TestStrategyUnrecordedBesideLeaseFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  lock.Strategy
	}{
		{"held leases", []string{"0000.lease", "01a2.lease", "marker.lease"}, lock.Lease},
		{"probes and a dead breaker's claim only", []string{".probe-ab.lease", "0001.lease.claim-x-1"}, lock.Flock},
		{"flock files", []string{"0000", "0001"}, lock.Flock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := localDir(t)
			for _, n := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := lock.AgreeStrategy(lock.Config{Dir: dir}, "", nil)
			if err != nil || s != tc.want {
				t.Fatalf("Auto where flock works, beside %q: %v, %v; want %s", tc.files, s, err, tc.want)
			}
			if rec := readStrategyFile(t, dir); rec != tc.want {
				t.Fatalf("recorded %s, want %s", rec, tc.want)
			}
			// A host of that fleet whose flock does not work joins.
			if tc.want == lock.Lease {
				if s, err := lock.AgreeStrategy(lock.Config{Dir: dir}, "flock", nil); err != nil || s != lock.Lease {
					t.Fatalf("a lease host after the upgrade: %v, %v", s, err)
				}
			}
		})
	}
}
