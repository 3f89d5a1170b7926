//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// lockKeysEnv selects the child-process roles of this file's tests.
const lockKeysEnv = "SESSFS_FSSTORE_LOCKKEYS_HELPER"

// TestLockKeysHelper is not a test: it is the body of this file's children.
func TestLockKeysHelper(t *testing.T) { proctest.Main(t, lockKeysEnv, runLockKeysHelper) }

// noHang bounds a call that must not wait: a hang becomes a failure instead
// of a test-binary timeout. Nothing is measured against it.
func noHang(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Deadline)
	t.Cleanup(cancel)
	return ctx
}

// Two session IDs on one stripe, locked by one goroutine, in every way the
// store offers (Lock, TryLock, CompareAndSwap while holding, Shared then
// Exclusive), with both lock strategies: none may wait for the other. It
// used to hang: the in-process table queued the second ID behind the first.
func TestLockTwoIDsOneStripe(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, step := range []struct {
			name   string
			first  fsstore.LockMode
			second func(ctx context.Context, s *fsstore.Store, id string) error
		}{
			{"Lock", fsstore.Exclusive, func(ctx context.Context, s *fsstore.Store, id string) error {
				l, err := s.Lock(ctx, id, fsstore.Exclusive)
				if err != nil {
					return err
				}
				if err := l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("b")}); err != nil {
					return err
				}
				return l.Unlock()
			}},
			{"TryLock", fsstore.Exclusive, func(ctx context.Context, s *fsstore.Store, id string) error {
				l, err := s.TryLock(id, fsstore.Exclusive)
				if err != nil {
					return err
				}
				return l.Unlock()
			}},
			{"CompareAndSwap", fsstore.Exclusive, func(ctx context.Context, s *fsstore.Store, id string) error {
				return s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("b")})
			}},
			{"Shared-then-Exclusive", fsstore.Shared, func(ctx context.Context, s *fsstore.Store, id string) error {
				l, err := s.Lock(ctx, id, fsstore.Exclusive)
				if err != nil {
					return err
				}
				return l.Unlock()
			}},
		} {
			t.Run(strategy.String()+"/"+step.name, func(t *testing.T) {
				s, err := fsstore.Open(t.TempDir(), fsstore.WithLockStripes(1), fsstore.WithLockStrategy(strategy), fsstore.WithDurability(fsstore.DurabilityNone))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				a, b := lockKeysID("a", 1), lockKeysID("b", 2)
				la, err := s.Lock(noHang(t), a, step.first)
				if err != nil {
					t.Fatal(err)
				}
				if err := step.second(noHang(t), s, b); err != nil {
					t.Fatalf("second ID on the same stripe while the first is held: %v", err)
				}
				// The first ID is still locked against everyone else.
				if l, err := s.TryLock(a, fsstore.Exclusive); !errors.Is(err, fsstore.ErrLocked) {
					if l != nil {
						l.Unlock()
					}
					t.Fatalf("TryLock of the held ID: %v, want ErrLocked", err)
				}
				if err := la.Unlock(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// With WithMaxHeldLocks reached, a lock on another stripe fails at once with
// ErrTooManyLocks, which names the cap and is not ErrLocked; IDs on a stripe
// already held need no extra lock.
func TestLockTooManyLocks(t *testing.T) {
	s, err := fsstore.Open(t.TempDir(), fsstore.WithMaxHeldLocks(2), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := distinctStripeIDs(s, "m", 3, nil)
	for _, id := range ids[:2] {
		l, err := s.Lock(noHang(t), id, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Unlock()
	}
	l, err := s.Lock(noHang(t), ids[2], fsstore.Exclusive)
	if err == nil {
		l.Unlock()
		t.Fatal("third stripe locked beyond WithMaxHeldLocks(2)")
	}
	if !errors.Is(err, fsstore.ErrTooManyLocks) || errors.Is(err, fsstore.ErrLocked) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third stripe: %v; want ErrTooManyLocks at once, not ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "cap of 2") {
		t.Fatalf("error %q does not name the cap", err)
	}
	if err := s.CompareAndSwap(noHang(t), &fsstore.Session{ID: ids[2]}); !errors.Is(err, fsstore.ErrTooManyLocks) {
		t.Fatalf("CompareAndSwap with the cap reached: %v, want ErrTooManyLocks", err)
	}
}

// 64 requests of this process wait for sessions another process holds,
// with WithMaxHeldLocks(64): waiting takes no lock slot, so an unrelated
// session is locked at once. It used to fail: every waiter held a slot while
// it polled, and the unrelated session found the table full.
func TestLockWaitersTakeNoSlot(t *testing.T) {
	const n = 64
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithMaxHeldLocks(n), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	busy := distinctStripeIDs(s, "busy", n, nil)
	stripes := map[string]bool{}
	for _, id := range busy {
		stripes[s.StripeForTest(id)] = true
	}
	unrelated := distinctStripeIDs(s, "free", 1, stripes)[0]
	kid := proctest.Start(t, "TestLockKeysHelper", lockKeysEnv, "hold", []string{"STORE_DIR=" + dir, "STORE_IDS=" + strings.Join(busy, ",")})
	kid.Expect(t, "locked")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, id := range busy {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			switch {
			case err == nil:
				l.Unlock()
				errs <- errors.New("locked a session another process holds")
			case !errors.Is(err, context.Canceled):
				errs <- err
			}
		}(id)
	}
	eventually(t, func() bool { return s.LockWaitersForTest() == n }, "64 waiters")
	l, err := s.TryLock(unrelated, fsstore.Exclusive)
	if err != nil {
		t.Fatalf("unrelated session with 64 requests waiting: %v", err)
	}
	l.Unlock()
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Lock descriptors must leave the application its descriptors. Children
// run with RLIMIT_NOFILE 64:
//   - "cycle": 300 sessions on distinct stripes, each locked, saved and
//     unlocked, then 20 more files opened by the application. Kept lock
//     descriptors used to grow to the limit, and then every Lock, Load and
//     Save failed with EMFILE.
//   - "emfile": a few idle lock descriptors are kept, the application opens
//     files until EMFILE, and a lock on a new stripe still succeeds (the
//     idle descriptors are closed and the open retried once).
func TestLockDescriptorLimit(t *testing.T) {
	for _, role := range []string{"cycle", "emfile"} {
		t.Run(role, func(t *testing.T) {
			kid := proctest.Start(t, "TestLockKeysHelper", lockKeysEnv, role, []string{"STORE_DIR=" + t.TempDir(), "STORE_NOFILE=64"})
			kid.Expect(t, "ok")
			kid.Finish(t)
		})
	}
}

// A lock held across Store.Close closes its descriptor at Unlock instead of
// putting it back among the kept ones, which nobody would close.
func TestLockUnlockAfterCloseReleasesDescriptor(t *testing.T) {
	for _, held := range []int{1, 3} {
		t.Run(strconv.Itoa(held), func(t *testing.T) {
			s, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			before := openDescriptors(t)
			var locks []*fsstore.Locked
			for _, id := range distinctStripeIDs(s, "c", held, nil) {
				l, err := s.Lock(noHang(t), id, fsstore.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				locks = append(locks, l)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			for _, l := range locks {
				if err := l.Unlock(); err != nil {
					t.Fatal(err)
				}
			}
			if after := openDescriptors(t); after > before {
				t.Fatalf("%d descriptors open after Close and Unlock, %d before the locks", after, before)
			}
		})
	}
}

// openDescriptors counts this process's open descriptors.
func openDescriptors(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors here: %v", err)
	}
	return len(ents)
}

func runLockKeysHelper(role string) error {
	if v := os.Getenv("STORE_NOFILE"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return err
		}
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return err
		}
		setRlimit(&rl.Cur, n)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return err
		}
	}
	ctx := context.Background()
	s, err := fsstore.Open(os.Getenv("STORE_DIR"), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		return err
	}
	defer s.Close()
	switch role {
	case "health":
		// Every descriptor in use, as in a process that leaks them:
		// the probe's open is refused with EMFILE.
		release, err := useAllDescriptors()
		defer release()
		if err != nil {
			return err
		}
		err = s.Health(ctx)
		proctest.Say("health %t %t %q", errors.Is(err, fsstore.ErrUnavailable), errors.Is(err, syscall.EMFILE), fmt.Sprint(err))
		return nil
	case "ops":
		return opsOutOfDescriptors(ctx, s)
	case "hold":
		for _, id := range strings.Split(os.Getenv("STORE_IDS"), ",") {
			if _, err := s.Lock(ctx, id, fsstore.Exclusive); err != nil {
				return err
			}
		}
		proctest.Say("locked")
		io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin
		return nil
	case "cycle":
		for _, id := range distinctStripeIDs(s, "fd", 300, nil) {
			if err := lockCycle(ctx, s, id); err != nil {
				return err
			}
		}
		var files []*os.File
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
		for i := 0; i < 20; i++ {
			f, err := os.Open(os.DevNull)
			if err != nil {
				return fmt.Errorf("the application cannot open a file after 300 locked requests: %w", err)
			}
			files = append(files, f)
		}
		proctest.Say("ok")
		return nil
	case "emfile":
		ids := distinctStripeIDs(s, "fd", 9, nil)
		for _, id := range ids[:8] {
			if err := lockCycle(ctx, s, id); err != nil {
				return err
			}
		}
		release, err := useAllDescriptors()
		defer release()
		if err != nil {
			return err
		}
		l, err := s.Lock(ctx, ids[8], fsstore.Exclusive)
		if err != nil {
			return fmt.Errorf("lock with every descriptor in use and idle lock descriptors kept: %w", err)
		}
		if err := l.Unlock(); err != nil {
			return err
		}
		proctest.Say("ok")
		return nil
	}
	return fmt.Errorf("unknown role %q", role)
}

// opsOutOfDescriptors runs each operation of s with every descriptor in
// use, and says for each what its error matches and its words.
func opsOutOfDescriptors(ctx context.Context, s *fsstore.Store) error {
	ids := distinctStripeIDs(s, "ops", 2, nil)
	id, other := ids[0], ids[1]
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("a")}); err != nil {
		return err
	}
	held, err := s.Lock(ctx, other, fsstore.Exclusive)
	if err != nil {
		return err
	}
	defer held.Unlock()
	release, err := useAllDescriptors()
	defer release()
	if err != nil {
		return err
	}
	say := func(op string, err error) {
		proctest.Say("op %s emfile=%t unavailable=%t %q", op, errors.Is(err, syscall.EMFILE), errors.Is(err, fsstore.ErrUnavailable), fmt.Sprint(err))
	}
	_, err = fsstore.Open(s.Dir())
	say("open", err)
	_, err = s.Load(ctx, id)
	say("load", err)
	say("save", s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("b")}))
	say("touch", s.Touch(ctx, id))
	say("delete", s.Delete(ctx, id))
	say("cas", s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("b")}))
	_, err = s.Lock(ctx, id, fsstore.Exclusive)
	say("lock", err)
	_, err = s.TryLock(id, fsstore.Exclusive)
	say("trylock", err)
	_, err = held.Load(ctx)
	say("locked-load", err)
	_, err = s.Stats(ctx, fsstore.StatsOptions{})
	say("stats", err)
	_, err = s.Sweep(ctx, fsstore.SweepOptions{})
	say("sweep", err)
	_, err = s.Range(ctx, func(*fsstore.Record) bool { return true })
	say("range", err)
	say("health", s.Health(ctx))
	return nil
}

// lockCycle is one locked request: Lock, Load, Save, Unlock.
func lockCycle(ctx context.Context, s *fsstore.Store, id string) error {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if _, err := l.Load(ctx); err != nil && !errors.Is(err, fsstore.ErrNotFound) {
		return err
	}
	if err := l.Save(ctx, &fsstore.Session{ID: id, Data: []byte(filepath.Base(id))}); err != nil {
		return err
	}
	return l.Unlock()
}

// setRlimit sets a field of syscall.Rlimit, uint64 on most systems and
// int64 on FreeBSD.
func setRlimit[T int64 | uint64](p *T, n uint64) { *p = T(n) }

// useAllDescriptors opens /dev/null until the process has no descriptor
// left (EMFILE), as a process that leaks them; release closes them.
func useAllDescriptors() (release func(), err error) {
	var files []*os.File
	release = func() {
		for _, f := range files {
			f.Close()
		}
	}
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			return release, nil
		}
		if err != nil {
			return release, err
		}
		files = append(files, f)
	}
}
