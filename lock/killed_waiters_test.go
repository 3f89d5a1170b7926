//go:build unix

package lock_test

import (
	"errors"
	"testing"

	"github.com/sessfs/sessfs/lock"
)

// A holder killed (SIGKILL) while goroutines of this process wait for
// keys on its lock file, two of them for one key, and another process
// waits for the file too: every waiter here gets its key, the other
// process gets the file, and never while this process holds it.
func TestKilledHolderWithWaitersHereAndElsewhere(t *testing.T) {
	for _, cfg := range []lock.Config{{Strategy: lock.Flock}, killedLease} {
		t.Run(cfg.Strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg.Dir = dir
			tab := holderTable(t, cfg)
			holder := startChild(t, "hold", strategyEnv(dir, "k", cfg)...)
			holder.Expect(t, "locked")
			keys := []string{"a", "b", "a"}
			got := make(chan error, len(keys))
			for _, key := range keys {
				go func() {
					h, err := tab.Lock(hangCtx(t), "k", key, lock.Exclusive)
					if err == nil {
						err = h.Unlock()
					}
					got <- err
				}()
			}
			if !pollUntil(func() bool { return tab.Stats().Waiting == len(keys) }) {
				t.Fatalf("waiters here: %+v, want %d", tab.Stats(), len(keys))
			}
			// The other process keeps what it takes over, for good: with
			// the killed holder's short lease (then 300 ms), a renewer
			// starved by a loaded machine lost it before this process's
			// TryLock below, which then took the file, rightly (in a CI
			// run of 34 minutes: "TryLock while the other process holds
			// the file: <nil>, want ErrLocked").
			otherCfg := cfg
			if cfg.Strategy == lock.Lease {
				otherCfg = holderLease
			}
			other := startChild(t, "hold", strategyEnv(dir, "k", otherCfg)...)
			holder.Kill(t)
			// Either side may win the file first; the other gets it once
			// the winner lets go.
			otherLocked := make(chan string, 1)
			go func() {
				// Sent also when Expect fails the test (runtime.Goexit).
				var said string
				defer func() { otherLocked <- said }()
				said = other.ExpectWithin(t, "locked", childDeadline)
			}()
			done := 0
			select {
			case err := <-got:
				if err != nil {
					t.Fatalf("a waiter here after the holder was killed: %v", err)
				}
				done++
			case <-otherLocked:
				if st := tab.Stats(); st.Held != 0 {
					t.Fatalf("the other process holds the file while this one holds it too: %+v", st)
				}
				other.Send(t, "unlock")
				otherLocked = nil
			}
			for ; done < len(keys); done++ {
				if err := <-got; err != nil {
					t.Fatalf("a waiter here after the holder was killed: %v", err)
				}
			}
			if otherLocked != nil {
				<-otherLocked
				if h, err := tab.TryLock("k", "c", lock.Exclusive); !errors.Is(err, lock.ErrLocked) {
					if h != nil {
						h.Unlock()
					}
					t.Fatalf("TryLock while the other process holds the file: %v, want ErrLocked", err)
				}
				other.Send(t, "unlock")
			}
			other.Expect(t, "unlock ok")
			if st := tab.Stats(); st.Held != 0 || st.Waiting != 0 {
				t.Errorf("after every waiter: %+v, want nothing held or waiting", st)
			}
		})
	}
}
