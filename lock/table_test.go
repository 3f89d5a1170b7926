//go:build unix

package lock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/internal/mountinfo"
	"github.com/sessfs/sessfs/lock"
)

var strategies = []lock.Strategy{lock.Flock, lock.Lease}

// mustTry and mustBeLocked lock the key named like its lock file.
func mustTry(t *testing.T, tab *lock.Table, name string, mode lock.Mode) *lock.Handle {
	t.Helper()
	h, err := tab.TryLock(name, name, mode)
	if err != nil {
		t.Fatalf("TryLock(%q, %v): %v", name, mode, err)
	}
	return h
}

func mustBeLocked(t *testing.T, tab *lock.Table, name string, mode lock.Mode) {
	t.Helper()
	h, err := tab.TryLock(name, name, mode)
	if !errors.Is(err, lock.ErrLocked) {
		if h != nil {
			h.Unlock()
		}
		t.Fatalf("TryLock(%q, %v): %v, want ErrLocked", name, mode, err)
	}
}

func TestAutoStrategyOnLocalDisk(t *testing.T) {
	dir := t.TempDir()
	if m, err := mountinfo.Lookup(dir); err == nil && m.IsNFS() {
		t.Skipf("%s is on NFS (%s); this test wants a local filesystem", dir, m.FSType)
	}
	tab := newTable(t, lock.Config{Dir: dir})
	if got := tab.Strategy(); got != lock.Flock {
		t.Fatalf("Auto on a local filesystem resolved to %v, want flock", got)
	}
}

func TestForcedLease(t *testing.T) {
	dir := t.TempDir()
	tab := newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease})
	if got := tab.Strategy(); got != lock.Lease {
		t.Fatalf("Strategy() = %v, want lease", got)
	}
	h := mustTry(t, tab, "x", lock.Shared)
	if _, err := os.Stat(filepath.Join(dir, "x.lease")); err != nil {
		t.Fatalf("no lease file while held: %v", err)
	}
	mustBeLocked(t, newTable(t, lock.Config{Dir: dir, Strategy: lock.Lease}), "x", lock.Shared)
	if err := h.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := h.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.lease")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lease file after unlock: %v, want removed", err)
	}
	if name, broken, ok := lock.IsLeaseFile("x.lease"); name != "x" || broken || !ok {
		t.Errorf("IsLeaseFile(x.lease) = %q %v %v", name, broken, ok)
	}
}

// Many goroutines of one process on one name never overlap, whether they
// share the Table (in-process queue and hand-off) or use two Tables (two OS
// locks in one process).
func TestInProcessExclusive(t *testing.T) {
	for _, strategy := range strategies {
		for _, tables := range []int{1, 2} {
			t.Run(fmt.Sprintf("%v/tables=%d", strategy, tables), func(t *testing.T) {
				dir := t.TempDir()
				var tabs []*lock.Table
				for i := 0; i < tables; i++ {
					tabs = append(tabs, newTable(t, lock.Config{Dir: dir, Strategy: strategy}))
				}
				const goroutines = 12
				iter := 40
				if strategy == lock.Lease {
					iter = 10
				}
				var (
					active  atomic.Int32
					counter int // guarded by the lock under test; -race checks it
					wg      sync.WaitGroup
				)
				errs := make(chan error, goroutines)
				for g := 0; g < goroutines; g++ {
					wg.Add(1)
					go func(tab *lock.Table) {
						defer wg.Done()
						for i := 0; i < iter; i++ {
							h, err := tab.Lock(context.Background(), "n", "n", lock.Exclusive)
							if err != nil {
								errs <- err
								return
							}
							if n := active.Add(1); n != 1 {
								errs <- fmt.Errorf("%d exclusive holders at once", n)
							}
							counter++
							active.Add(-1)
							if err := h.Unlock(); err != nil {
								errs <- err
								return
							}
						}
					}(tabs[g%tables])
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				if counter != goroutines*iter {
					t.Fatalf("counter = %d, want %d", counter, goroutines*iter)
				}
			})
		}
	}
}

// Shared holders of a key overlap each other in one Table but never an
// exclusive holder; another Table (another process) is excluded whatever
// the modes, because the OS lock behind keys is always exclusive.
func TestSharedAndExclusive(t *testing.T) {
	t.Run("deterministic", func(t *testing.T) {
		dir := t.TempDir()
		a := newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock})
		b := newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock})
		s1 := mustTry(t, a, "n", lock.Shared)
		s2 := mustTry(t, a, "n", lock.Shared) // same table: shares the key
		mustBeLocked(t, b, "n", lock.Shared)  // other table: excluded
		mustBeLocked(t, a, "n", lock.Exclusive)
		mustBeLocked(t, b, "n", lock.Exclusive)
		for _, h := range []*lock.Handle{s1, s2} {
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
		}
		s3 := mustTry(t, b, "n", lock.Shared)
		mustBeLocked(t, a, "n", lock.Shared)
		if err := s3.Unlock(); err != nil {
			t.Fatal(err)
		}
		x := mustTry(t, a, "n", lock.Exclusive)
		mustBeLocked(t, a, "n", lock.Shared)
		mustBeLocked(t, b, "n", lock.Shared)
		mustBeLocked(t, b, "n", lock.Exclusive)
		if err := x.Unlock(); err != nil {
			t.Fatal(err)
		}
		mustTry(t, b, "n", lock.Exclusive).Unlock()
	})
	t.Run("concurrent", func(t *testing.T) {
		dir := t.TempDir()
		tabs := []*lock.Table{
			newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock}),
			newTable(t, lock.Config{Dir: dir, Strategy: lock.Flock}),
		}
		var (
			shared, excl atomic.Int32
			maxShared    atomic.Int32
			wg           sync.WaitGroup
		)
		errs := make(chan error, 64)
		const goroutines, iter = 12, 40
		for g := 0; g < goroutines; g++ {
			mode := lock.Shared
			if g%4 == 0 {
				mode = lock.Exclusive
			}
			wg.Add(1)
			go func(tab *lock.Table, mode lock.Mode) {
				defer wg.Done()
				for i := 0; i < iter; i++ {
					h, err := tab.Lock(context.Background(), "n", "n", mode)
					if err != nil {
						errs <- err
						return
					}
					if mode == lock.Exclusive {
						if excl.Add(1) != 1 || shared.Load() != 0 {
							errs <- errors.New("exclusive holder overlaps another holder")
						}
						excl.Add(-1)
					} else {
						n := shared.Add(1)
						if excl.Load() != 0 {
							errs <- errors.New("shared holder overlaps an exclusive holder")
						}
						for m := maxShared.Load(); n > m && !maxShared.CompareAndSwap(m, n); m = maxShared.Load() {
						}
						for j := 0; j < 20; j++ {
							runtime.Gosched() // widen the window for overlap
						}
						shared.Add(-1)
					}
					if err := h.Unlock(); err != nil {
						errs <- err
						return
					}
				}
			}(tabs[g%2], mode)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Overlap of shared holders is likely but not guaranteed under
		// scheduling; the deterministic subtest proves it can happen.
		t.Logf("most shared holders at once: %d", maxShared.Load())
	})
}

// MaxHeld caps the OS locks a Table holds: a third lock file fails at once
// with ErrTooManyLocks (never ErrLocked: nobody holds it), naming the cap,
// even under a context that never ends. Keys on a lock file the Table
// already holds need no slot.
func TestMaxHeld(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: strategy, MaxHeld: 2})
			if tab.MaxHeld() != 2 {
				t.Fatalf("MaxHeld() = %d, want 2", tab.MaxHeld())
			}
			a := mustTry(t, tab, "a", lock.Exclusive)
			b := mustTry(t, tab, "b", lock.Exclusive)
			for _, try := range []struct {
				name string
				fn   func() (*lock.Handle, error)
			}{
				{"TryLock", func() (*lock.Handle, error) { return tab.TryLock("c", "c", lock.Exclusive) }},
				{"Lock", func() (*lock.Handle, error) { return tab.Lock(context.Background(), "c", "c", lock.Exclusive) }},
			} {
				h, err := try.fn()
				if err == nil {
					h.Unlock()
					t.Fatalf("%s(c) with MaxHeld reached succeeded", try.name)
				}
				if !errors.Is(err, lock.ErrTooManyLocks) || errors.Is(err, lock.ErrLocked) {
					t.Fatalf("%s(c) with MaxHeld reached: %v, want ErrTooManyLocks and not ErrLocked", try.name, err)
				}
				if !strings.Contains(err.Error(), "cap of 2") || strings.Contains(err.Error(), "another owner") {
					t.Fatalf("%s(c) error %q does not name the cap", try.name, err)
				}
			}
			// Another key on a held lock file shares its OS lock.
			a2, err := tab.TryLock("a", "a2", lock.Exclusive)
			if err != nil {
				t.Fatalf("second key on a held file with MaxHeld reached: %v", err)
			}
			if err := a.Unlock(); err != nil {
				t.Fatal(err)
			}
			mustBeLocked2(t, tab, "c", lock.ErrTooManyLocks) // a2 still holds file a
			if err := a2.Unlock(); err != nil {
				t.Fatal(err)
			}
			mustTry(t, tab, "c", lock.Exclusive).Unlock()
			b.Unlock()
			if n := tab.Stats().Held; n != 0 {
				t.Fatalf("%d OS locks held after every handle was unlocked", n)
			}
		})
	}
}

func mustBeLocked2(t *testing.T, tab *lock.Table, name string, want error) {
	t.Helper()
	h, err := tab.TryLock(name, name, lock.Exclusive)
	if !errors.Is(err, want) {
		if h != nil {
			h.Unlock()
		}
		t.Fatalf("TryLock(%q): %v, want %v", name, err, want)
	}
}

// Many goroutines over many lock files with a small MaxHeld never exceed
// the cap; those that find it full fail fast and try again.
func TestMaxHeldStress(t *testing.T) {
	tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: lock.Flock, MaxHeld: 3})
	var (
		held atomic.Int32
		full atomic.Int32
		wg   sync.WaitGroup
	)
	errs := make(chan error, 32)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				name := fmt.Sprintf("n%d", (g+i)%7)
				h, err := tab.Lock(context.Background(), name, name, lock.Exclusive)
				if errors.Is(err, lock.ErrTooManyLocks) {
					full.Add(1)
					runtime.Gosched()
					i--
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				// Every holder holds a distinct file (one key per file,
				// exclusive), so holders at once bound OS locks from below.
				if n := held.Add(1); n > 3 {
					errs <- fmt.Errorf("%d locks held at once, MaxHeld is 3", n)
				}
				for j := 0; j < 5; j++ {
					runtime.Gosched() // let others find the table full
				}
				held.Add(-1)
				h.Unlock()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d attempts found the table full", full.Load())
}

func TestInvalidNames(t *testing.T) {
	dir := t.TempDir()
	tab := newTable(t, lock.Config{Dir: dir})
	before := listDir(t, dir)
	for _, name := range []string{"", ".hidden", "..", "../x", "a/b", "/etc/passwd", "a\x00b", "tab\there", "é", strings.Repeat("x", 201)} {
		if h, err := tab.TryLock(name, name, lock.Exclusive); err == nil {
			h.Unlock()
			t.Errorf("TryLock(%q) succeeded", name)
		}
		if h, err := tab.Lock(context.Background(), name, name, lock.Exclusive); err == nil {
			h.Unlock()
			t.Errorf("Lock(%q) succeeded", name)
		}
	}
	if after := listDir(t, dir); after != before {
		t.Fatalf("invalid names created files:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := tab.TryLock("ok", "ok", lock.Mode(7)); err == nil {
		t.Error("TryLock with an invalid mode succeeded")
	}
}

// TestInvalidNameSaysWhy: the error for a refused lock name says what is
// wrong with it: "invalid lock file name" alone left the caller to guess
// among the rules (a dot first, the ".lease" infix, a byte past ASCII, the
// length, and on Windows its devices and refused characters).
func TestInvalidNameSaysWhy(t *testing.T) {
	tab := newTable(t, lock.Config{Dir: t.TempDir()})
	for _, tt := range []struct{ name, why string }{
		{"", "empty"},
		{".hidden", "starts with a dot"},
		{"x.lease", `".lease"`},
		{"a/b", "path separator"},
		{"tab\there", "control character"},
		{"é", "printable ASCII"},
		{strings.Repeat("x", 201), "longer than 200 bytes"},
	} {
		_, err := tab.TryLock(tt.name, "k", lock.Exclusive)
		if err == nil || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("TryLock(%q) = %v; want an error saying %q", tt.name, err, tt.why)
		}
		// A caller tells a refused name from a lock held or lost, as
		// for every other error of the package.
		if !errors.Is(err, lock.ErrInvalidName) || errors.Is(err, lock.ErrLocked) {
			t.Errorf("TryLock(%q) = %v; want it to match ErrInvalidName, and not ErrLocked", tt.name, err)
		}
	}
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	filepath.WalkDir(filepath.Dir(dir), func(p string, d os.DirEntry, err error) error {
		if err == nil {
			names = append(names, p)
		}
		return nil
	})
	return strings.Join(names, " ")
}

func TestHandleAfterUnlockAndClose(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy.String(), func(t *testing.T) {
			tab, err := lock.NewTable(lock.Config{Dir: t.TempDir(), Strategy: strategy})
			if err != nil {
				t.Fatal(err)
			}
			h := mustTry(t, tab, "x", lock.Exclusive)
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			if err := h.Unlock(); err != nil {
				t.Fatalf("second Unlock: %v, want nil", err)
			}
			if err := h.Verify(); !errors.Is(err, lock.ErrLockLost) {
				t.Fatalf("Verify after Unlock: %v, want ErrLockLost", err)
			}
			if err := tab.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := tab.TryLock("x", "x", lock.Exclusive); !errors.Is(err, lock.ErrClosed) {
				t.Fatalf("TryLock after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// Linux host names may be 64 bytes long (HOST_NAME_MAX), and Kubernetes pod
// names commonly approach 63. The lease owner record must fit any of them.
func TestLeaseLongHostname(t *testing.T) {
	for _, n := range []int{57, 58, 64, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			tab := newTable(t, lock.Config{Dir: t.TempDir(), Strategy: lock.Lease, Hostname: strings.Repeat("h", n)})
			var (
				h   *lock.Handle
				err error
			)
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				h, err = tab.TryLock("x", "x", lock.Exclusive)
			}()
			if err != nil {
				t.Fatalf("TryLock with a %d-byte host name: %v", n, err)
			}
			if err := h.Verify(); err != nil {
				t.Fatal(err)
			}
			h.Unlock()
		})
	}
}

func TestParseStrategy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want lock.Strategy
		ok   bool
	}{
		{"", lock.Auto, true}, {"auto", lock.Auto, true}, {"FLOCK", lock.Flock, true},
		{"lease", lock.Lease, true}, {"fcntl", lock.Auto, false},
	} {
		got, err := lock.ParseStrategy(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseStrategy(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// A lock directory that is a symlink is refused at NewTable, with either
// strategy, and nothing is created where it points. With the directory
// replaced after NewTable, lock files are still created only relative to
// the directory the table opened, never through the new symlink; a lease
// held across Close still removes its file at Unlock.
func TestSymlinkedLockDir(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			ctx := context.Background()
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			if err := os.Mkdir(outside, 0o700); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(base, "locks")
			if err := os.Symlink(outside, link); err != nil {
				t.Fatal(err)
			}
			if tb, err := lock.NewTable(lock.Config{Dir: link, Strategy: strategy}); err == nil {
				tb.Close()
				t.Errorf("NewTable on a symlinked directory succeeded")
			} else if !errors.Is(err, syscall.ELOOP) {
				t.Errorf("NewTable on a symlinked directory: %v, want an error matching ELOOP", err)
			}

			// Replaced after NewTable: the table keeps its own directory.
			real := filepath.Join(base, "real")
			if err := os.Mkdir(real, 0o700); err != nil {
				t.Fatal(err)
			}
			tb, err := lock.NewTable(lock.Config{Dir: real, Strategy: strategy})
			if err != nil {
				t.Fatal(err)
			}
			moved := filepath.Join(base, "moved")
			if err := os.Rename(real, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, real); err != nil {
				t.Fatal(err)
			}
			h, err := tb.Lock(ctx, "f1", "k", lock.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			if err := tb.Close(); err != nil {
				t.Fatal(err)
			}
			if err := h.Unlock(); err != nil {
				t.Errorf("Unlock after Close: %v", err)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("files created through the symlink: %v", ents)
			}
			if strategy == lock.Lease {
				ents, _ := os.ReadDir(moved)
				ents = slices.DeleteFunc(ents, func(e os.DirEntry) bool { return e.Name() == lock.StrategyFile })
				if len(ents) != 0 {
					t.Errorf("lease files left in the lock directory after Unlock: %v", ents)
				}
			} else if _, err := os.Stat(filepath.Join(moved, "f1")); err != nil {
				t.Errorf("the lock file is not in the table's directory: %v", err)
			}
		})
	}
}
