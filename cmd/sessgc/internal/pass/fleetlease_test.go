package pass

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/storetest"
	"github.com/sessfs/sessfs/lock"
)

// leaseStores opens the store at a new directory twice with the lease
// strategy, as two hosts would: each has its own lock table.
func leaseStores(t *testing.T) (a, b *fsstore.Store) {
	t.Helper()
	storetest.Skip(t)
	dir := t.TempDir()
	for _, s := range []**fsstore.Store{&a, &b} {
		var err error
		*s, err = fsstore.Open(dir, fsstore.WithLockStrategy(lock.Lease))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { (*s).Close() })
	}
	return a, b
}

// takeOver does what another host's sessgc does with a lease it found
// expired: the lease goes, and it takes the lock itself.
func takeOver(t *testing.T, other *fsstore.Store, name string) *lock.Handle {
	t.Helper()
	if err := os.Remove(filepath.Join(other.Dir(), fsstore.LockDir, name+".lease")); err != nil {
		t.Fatalf("the pass's lease: %v", err)
	}
	h, err := other.TryLockFleet(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Unlock() })
	return h
}

// TestRunStopsOnFleetLeaseLost: a pass whose fleet lease was taken over
// ran on to its end, exit 0, alongside the new holder's pass, and the
// lease's loss, which its Unlock returned, was dropped. Run ends the
// work's context once it finds the lease lost (stopped early,
// fleet-lock-lost, exit 1); a pass that ran to its end before that is
// not stopped early, and the failed release is logged.
func TestRunStopsOnFleetLeaseLost(t *testing.T) {
	t.Run("lost mid-pass", func(t *testing.T) {
		s, other := leaseStores(t)
		var h *lock.Handle
		out, err := Run(context.Background(), s, Limits{LockName: ".sessgc"}, func(ctx context.Context) error {
			h = takeOver(t, other, "sessgc")
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Minute): // guards against a hang only
				return errors.New("the pass's context did not end after its lease was taken over")
			}
		})
		if !out.StoppedEarly || out.StopReason != StopFleetLockLost || !errors.Is(err, ErrFleetLockLost) || !errors.Is(err, lock.ErrLockLost) || cmdutil.ExitCode(err) != cmdutil.ExitFailure {
			t.Errorf("outcome %+v, err %v (exit %d); want stopped early (%s), ErrFleetLockLost, exit 1", out, err, cmdutil.ExitCode(err), StopFleetLockLost)
		}
		if err := h.Verify(); err != nil {
			t.Errorf("the new holder's lease after the pass: %v", err)
		}
	})
	t.Run("loss seen after the pass ended", func(t *testing.T) {
		// The watch, still running after the outcome was decided, found
		// the loss before the release: the outcome said the pass ran to
		// its end, and the release's error went unlogged, as if reported.
		s, other := leaseStores(t)
		var log bytes.Buffer
		var workCtx context.Context
		lim := Limits{LockName: ".sessgc", Log: slog.New(slog.NewTextHandler(&log, nil))}
		lim.beforeRelease = func() {
			select {
			case <-workCtx.Done(): // at once once the watch has stopped
			case <-time.After(time.Minute): // guards against a hang only
			}
		}
		out, err := Run(context.Background(), s, lim, func(ctx context.Context) error {
			workCtx = ctx
			takeOver(t, other, "sessgc")
			return nil
		})
		if out.StoppedEarly || err != nil {
			t.Errorf("outcome %+v, err %v; want a pass that ran to its end", out, err)
		}
		if got := log.String(); !strings.Contains(got, "releasing the fleet lock failed") {
			t.Errorf("log %q; want the failed release of the lease taken over", got)
		}
	})
	t.Run("lost as the pass ended", func(t *testing.T) {
		s, other := leaseStores(t)
		var log bytes.Buffer
		out, err := Run(context.Background(), s, Limits{LockName: ".sessgc", Log: slog.New(slog.NewTextHandler(&log, nil))}, func(ctx context.Context) error {
			takeOver(t, other, "sessgc")
			return nil
		})
		if out.StoppedEarly || err != nil {
			t.Errorf("outcome %+v, err %v; want a pass that ran to its end", out, err)
		}
		if got := log.String(); !strings.Contains(got, "releasing the fleet lock failed") || !strings.Contains(got, "lease taken over") {
			t.Errorf("log %q; want the failed release of the lease taken over", got)
		}
	})
}

// TestRunStopsOnFleetFlockLost: on a store that locks with flock, the
// fleet lock is a flock on locks/.sessgc, which no longer excludes another
// host's pass once its file is replaced (a host that then takes the lock
// takes it on the new file) or, on NFS, once the server dropped it (a
// host cut off for longer than the server's lease). Run verifies it as it
// reads a fleet lease back, and stops the pass as for a lease lost; it
// went on unaware.
func TestRunStopsOnFleetFlockLost(t *testing.T) {
	storetest.Skip(t)
	s, err := fsstore.Open(t.TempDir(), fsstore.WithLockStrategy(lock.Flock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	path := filepath.Join(s.Dir(), fsstore.LockDir, ".sessgc")
	out, err := Run(context.Background(), s, Limits{LockName: ".sessgc"}, func(ctx context.Context) error {
		if err := os.WriteFile(path+".new", nil, 0o600); err != nil {
			return err
		}
		if err := os.Rename(path+".new", path); err != nil {
			return err
		}
		other, err := lock.TryLockFile(path)
		if err != nil {
			return fmt.Errorf("the fleet lock on the file put in its place: %w", err)
		}
		defer other.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute): // guards against a hang only
			return errors.New("the pass's context did not end after its fleet lock's file was replaced")
		}
	})
	if !out.StoppedEarly || out.StopReason != StopFleetLockLost || !errors.Is(err, ErrFleetLockLost) || !errors.Is(err, lock.ErrLockLost) || cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Errorf("outcome %+v, err %v (exit %d); want stopped early (%s), ErrFleetLockLost, exit 1", out, err, cmdutil.ExitCode(err), StopFleetLockLost)
	}
}

// TestRunFleetFlockLostAsPassEnded: on a flock store, a fleet lock lost
// after the watch's last check (its file replaced, or on NFS dropped by
// the server, in the pass's last second) went unreported: the lease's
// release reports such a loss (TestRunStopsOnFleetLeaseLost), the
// flock's Unlock said nothing, and its error was dropped. The pass ran
// to its end and exits as it would have; the log says the lock was lost.
func TestRunFleetFlockLostAsPassEnded(t *testing.T) {
	storetest.Skip(t)
	s, err := fsstore.Open(t.TempDir(), fsstore.WithLockStrategy(lock.Flock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	path := filepath.Join(s.Dir(), fsstore.LockDir, ".sessgc")
	var log bytes.Buffer
	out, err := Run(context.Background(), s, Limits{LockName: ".sessgc", Log: slog.New(slog.NewTextHandler(&log, nil))}, func(ctx context.Context) error {
		if err := os.WriteFile(path+".new", nil, 0o600); err != nil {
			return err
		}
		return os.Rename(path+".new", path)
	})
	if out.StoppedEarly || err != nil {
		t.Errorf("outcome %+v, err %v; want a pass that ran to its end", out, err)
	}
	if got := log.String(); !strings.Contains(got, "releasing the fleet lock failed") || !strings.Contains(got, "replaced") {
		t.Errorf("log %q; want the loss of the fleet lock whose file was replaced", got)
	}
	if l, err := lock.TryLockFile(path); err != nil {
		t.Errorf("the fleet lock after the pass: %v; want it free", err)
	} else {
		l.Unlock()
	}
}

// TestRunFleetLeaseTTL: --fleet-lock-ttl gives the fleet lease a TTL of
// its own, written in its record, which the store's other leases do not
// take; the lease excludes another host's pass as the store's does, and
// is released after the pass. Without it the lease has the store's.
func TestRunFleetLeaseTTL(t *testing.T) {
	expiresRe := regexp.MustCompile(`expires=(\d+)`)
	for _, tc := range []struct {
		ttl      time.Duration
		min, max time.Duration // of the record's expiry, from the take
	}{
		{ttl: 0, min: 10 * time.Second, max: 15 * time.Second},
		{ttl: 5 * time.Minute, min: 4 * time.Minute, max: 5 * time.Minute},
	} {
		t.Run(fmt.Sprint("ttl=", tc.ttl), func(t *testing.T) {
			s, other := leaseStores(t)
			lease := filepath.Join(s.Dir(), fsstore.LockDir, "sessgc.lease")
			before := time.Now()
			out, err := Run(context.Background(), s, Limits{LockName: ".sessgc", FleetLeaseTTL: tc.ttl}, func(ctx context.Context) error {
				b, err := os.ReadFile(lease)
				if err != nil {
					return err
				}
				m := expiresRe.FindSubmatch(b)
				if m == nil {
					return fmt.Errorf("lease record %q has no expiry", b)
				}
				ns, err := strconv.ParseInt(string(m[1]), 10, 64)
				if err != nil {
					return err
				}
				if left := time.Unix(0, ns).Sub(before); left < tc.min || left > tc.max+time.Minute {
					return fmt.Errorf("the fleet lease expires %v after the pass began; want about %v", left, tc.max)
				}
				if h, err := other.TryLockFleet("sessgc"); !errors.Is(err, lock.ErrLocked) {
					if err == nil {
						h.Unlock()
					}
					return fmt.Errorf("another host's fleet lock beside the pass's lease: %v; want ErrLocked", err)
				}
				return nil
			})
			if err != nil || out.Skipped || out.StoppedEarly {
				t.Fatalf("outcome %+v, err %v", out, err)
			}
			if _, err := os.Stat(lease); !os.IsNotExist(err) {
				t.Errorf("the fleet lease after the pass: %v; want it released", err)
			}
		})
	}
}

// TestCheckFleetLockTTL: what --fleet-lock-ttl accepts.
func TestCheckFleetLockTTL(t *testing.T) {
	for _, tc := range []struct {
		ttl, maxDuration time.Duration
		ok               bool
	}{
		{0, 0, true},
		{0, time.Second, true},
		{5 * time.Second, 0, true},
		{time.Minute, 8 * time.Minute, true},
		{10 * time.Minute, 0, true},
		{time.Second, 0, false},               // one slow renewal loses it
		{11 * time.Minute, 0, false},          // above lock.MaxLeaseTTL
		{5 * time.Minute, time.Minute, false}, // outlasts a pass
		{-time.Second, 0, false},
	} {
		err := CheckFleetLockTTL(tc.ttl, tc.maxDuration)
		if (err == nil) != tc.ok || err != nil && cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("CheckFleetLockTTL(%v, --max-duration %v) = %v (exit %d); want ok %v, else a usage error", tc.ttl, tc.maxDuration, err, cmdutil.ExitCode(err), tc.ok)
		}
	}
}
