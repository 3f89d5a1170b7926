package lock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/proctest"
)

// Goroutines lock keys of lock files by Lock, Lock cancelled while it may
// wait, and TryLock, in both modes, while another host takes the files'
// OS locks between their turns and some holders find their lock lost
// (Verify): keys pass along their waiter queues, OS locks are kept for
// waiters, released for other hosts' sake and lost. Never two holders
// where one is Exclusive, and every Lock without a deadline returns.
// Afterwards the table's state is empty: no queue, waiter or OS lock
// left, and the spare waiters are at most maxSpare, none holding a
// wake-up meant for its previous user. The narrow run has one key and
// nothing else going on: no other key's or host's change of state wakes
// a waiter a lost wake-up left asleep.
func TestQueueInvariantsStress(t *testing.T) {
	for _, narrow := range []bool{false, true} {
		t.Run(fmt.Sprint("narrow=", narrow), func(t *testing.T) { queueInvariantsStress(t, narrow) })
	}
}

func queueInvariantsStress(t *testing.T, narrow bool) {
	const goroutines = 8
	turns := 600
	if narrow {
		turns = 3000
	}
	fos := &FakeOS{}
	tab := NewTableWithFakeOS(Config{Dir: t.TempDir()}, fos)
	files, keys := []string{"f1", "f2"}, []string{"a", "b", "c"}
	var excl, shared [2][3]atomic.Int32
	var progress atomic.Int64
	errs := make(chan error, goroutines*turns)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if !narrow {
		// Another host, taking a file's OS lock when it finds it free.
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(99, 1))
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(r.IntN(3)) * time.Millisecond):
				}
				f := files[r.IntN(len(files))]
				fos.mu.Lock()
				var mine *fakeLock
				if fos.holders[f] == nil {
					mine = &fakeLock{os: fos, file: f}
					fos.holders[f] = mine
				}
				fos.mu.Unlock()
				if mine == nil {
					continue
				}
				time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond) // its turn
				fos.mu.Lock()
				delete(fos.holders, f)
				fos.mu.Unlock()
			}
		}()
	}
	var workers sync.WaitGroup
	for g := range goroutines {
		workers.Add(1)
		go func() {
			defer workers.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range turns {
				fi, k := r.IntN(len(files)), r.IntN(len(keys))
				if narrow {
					fi, k = 0, 0
				}
				mode := Exclusive
				if r.IntN(2) == 0 {
					mode = Shared
				}
				var h *Handle
				var err error
				switch r.IntN(5) {
				case 0:
					h, err = tab.TryLock(files[fi], keys[k], mode)
				case 1, 2:
					ctx, cancel := context.WithCancel(context.Background())
					spins := r.IntN(40)
					go func() {
						for range spins {
							runtime.Gosched()
						}
						cancel()
					}()
					h, err = tab.Lock(ctx, files[fi], keys[k], mode)
					cancel()
				default:
					h, err = tab.Lock(context.Background(), files[fi], keys[k], mode)
				}
				progress.Add(1)
				if err != nil {
					// ErrLocked: a TryLock, a cancelled Lock, or a lock
					// found lost (ErrLockLost too).
					if !errors.Is(err, ErrLocked) {
						errs <- err
					}
					continue
				}
				if mode == Exclusive {
					if n := excl[fi][k].Add(1); n != 1 || shared[fi][k].Load() != 0 {
						errs <- fmt.Errorf("%s/%s held Exclusive with %d Exclusive and %d Shared holders", files[fi], keys[k], n, shared[fi][k].Load())
					}
				} else if shared[fi][k].Add(1); excl[fi][k].Load() != 0 {
					errs <- fmt.Errorf("%s/%s held Shared with an Exclusive holder", files[fi], keys[k])
				}
				if !narrow && r.IntN(100) == 0 {
					fos.MarkLost(files[fi])
					h.Verify()
				}
				for range r.IntN(20) {
					runtime.Gosched()
				}
				if !narrow && r.IntN(4) == 0 {
					time.Sleep(time.Duration(r.IntN(1000)) * time.Microsecond) // a longer turn
				}
				if mode == Exclusive {
					excl[fi][k].Add(-1)
				} else {
					shared[fi][k].Add(-1)
				}
				h.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	// A lost wake-up leaves a Lock without a deadline asleep for good;
	// the others may go on for a while.
	for last, lastAt := int64(-1), time.Now(); ; {
		select {
		case <-done:
		case <-time.After(10 * time.Millisecond):
			if p := progress.Load(); p != last {
				last, lastAt = p, time.Now()
			} else if time.Since(lastAt) > proctest.Deadline {
				t.Fatalf("no Lock returned for %v:\n%s", proctest.Deadline, tab.dumpForTest())
			}
			continue
		}
		break
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tab.mu.Lock()
	defer tab.mu.Unlock()
	if len(tab.spare) > maxSpare {
		t.Errorf("%d spare waiters, want at most %d", len(tab.spare), maxSpare)
	}
	for _, w := range tab.spare {
		if w.woken || len(w.ready) != 0 {
			t.Errorf("a spare waiter holds a wake-up (woken %v, %d in its channel)", w.woken, len(w.ready))
		}
	}
	if tab.held != 0 {
		t.Errorf("table counts %d OS locks held after every goroutine, want 0", tab.held)
	}
	for name, f := range tab.files {
		if !f.unused() || len(f.keys) != 0 {
			t.Errorf("after every goroutine:\n%s", tab.dumpLocked(name, f))
		}
	}
}

// Close with goroutines waiting, taking and handing over keys: every
// goroutine returns, and no OS lock is left held (one kept for waiters
// that Close turned away is released by the last of them).
func TestQueueCloseWhileWaiting(t *testing.T) {
	for round := range 10 {
		fos := &FakeOS{}
		tab := NewTableWithFakeOS(Config{Dir: t.TempDir()}, fos)
		var wg sync.WaitGroup
		var turns atomic.Int64
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), uint64(round)))
				for {
					mode := Exclusive
					if r.IntN(2) == 0 {
						mode = Shared
					}
					key := []string{"a", "b"}[r.IntN(2)]
					var h *Handle
					var err error
					if r.IntN(4) == 0 {
						h, err = tab.TryLock("f", key, mode)
					} else {
						h, err = tab.Lock(context.Background(), "f", key, mode)
					}
					if errors.Is(err, ErrClosed) {
						return
					}
					turns.Add(1)
					if err != nil {
						continue
					}
					for range r.IntN(20) {
						runtime.Gosched()
					}
					h.Unlock()
				}
			}()
		}
		// Close after a number of turns, not a time.
		for want := int64(50 * round); turns.Load() < want; {
			runtime.Gosched()
		}
		tab.Close()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(proctest.Deadline):
			t.Fatalf("round %d: goroutines still locking %v after Close:\n%s", round, proctest.Deadline, tab.dumpForTest())
		}
		if gen := fos.Holder("f"); gen != 0 || tab.Stats().Held != 0 {
			t.Errorf("round %d: after Close and every goroutine: OS lock %d held, %+v", round, gen, tab.Stats())
		}
	}
}

// dumpForTest describes every file state of t, for a test's failure.
func (t *Table) dumpForTest() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for name, f := range t.files {
		b.WriteString(t.dumpLocked(name, f))
	}
	return b.String()
}

func (t *Table) dumpLocked(name string, f *fileState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "file %s: OS lock %v, busy %v, refs %d, waiters %d, lostOS %v, pause left %v\n", name, f.os != nil, f.busy, f.refs, f.waiters, f.lostOS, max(f.yieldUntil.sub(monoNow()), 0))
	for _, ks := range f.keys {
		fmt.Fprintf(&b, "  key %s: %v, holders %d, waiters %d, queued:", ks.key, ks.mode, ks.holders, ks.waiters)
		for _, w := range ks.queue {
			fmt.Fprintf(&b, " %v(woken %v, %d in channel)", w.mode, w.woken, len(w.ready))
		}
		b.WriteString("\n")
	}
	return b.String()
}
