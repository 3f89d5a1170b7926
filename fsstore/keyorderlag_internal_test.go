package fsstore

import (
	"crypto/rand"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// A judgement of a key set that is no longer the store's when it is made
// changes nothing: the recheck's goroutine takes the key set in use, then
// judges it, and a keys file reload that applied and judged the next key
// set in between (the fix of a stale host) was undone: the state went back
// to the stale key set's, warning and observed again, until the next
// recheck a minute later.
func TestKeyOrderJudgementOfKeySetNoLongerInUse(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := Key{ID: 1, Secret: make([]byte, 32)}, Key{ID: 2, Secret: make([]byte, 32)}
	rand.Read(k1.Secret)
	rand.Read(k2.Secret)
	// The hosts rotated to key 2.
	for _, keys := range [][]Key{{k1, k2}, {k2, k1}} {
		s, err := Open(dir, WithKeys(keys...))
		noErr(t, err)
		noErr(t, s.Close())
	}
	s, err := Open(dir, WithKeys(k2, k1), withKeyOrderPoll(time.Hour, nil))
	noErr(t, err)
	defer s.Close()
	if b, ok := s.NewestKeyBehind(); ok {
		t.Fatalf("host with the hosts' key set: behind %+v", b)
	}
	stale, err := newKeyring([]Key{k1, k2}) // the key set it had before a reload
	noErr(t, err)
	s.judgeKeyOrder(stale)
	if b, ok := s.NewestKeyBehind(); ok {
		t.Errorf("a judgement of a key set no longer in use changed the state: behind %+v", b)
	}
}

// Only an application store with keys rechecks the key order: a store
// without keys, and a maintenance or read-only one (sessgc's), whose keys
// are not the hosts', start no goroutine; and Close stops the one started,
// also over stores opened and closed in a loop.
func TestKeyOrderRechecksOnlyWhereJudged(t *testing.T) {
	k1 := Key{ID: 1, Secret: make([]byte, 32)}
	rand.Read(k1.Secret)
	dir := t.TempDir()
	s, err := Open(dir, WithKeys(k1))
	noErr(t, err)
	noErr(t, s.Close())
	for _, tc := range []struct {
		name string
		opts []Option
		want bool
	}{
		{"application store with keys", []Option{WithKeys(k1)}, true},
		{"maintenance store with keys", []Option{WithKeys(k1), WithMaintenanceOnly()}, false},
		{"read-only store with keys", []Option{WithKeys(k1), WithReadOnly()}, false},
		{"maintenance store without keys", []Option{WithMaintenanceOnly()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(dir, tc.opts...)
			noErr(t, err)
			if got := s.keyOrder.stop != nil; got != tc.want {
				t.Errorf("rechecks started: %v, want %v", got, tc.want)
			}
			noErr(t, s.Close())
			if done := s.keyOrder.done; done != nil {
				select {
				case <-done:
				default:
					t.Error("Close returned with the rechecks' goroutine running")
				}
			}
		})
	}
	t.Run("without keys", func(t *testing.T) {
		s, err := Open(t.TempDir())
		noErr(t, err)
		defer s.Close()
		if s.keyOrder.stop != nil {
			t.Error("rechecks started")
		}
	})
	t.Run("opened and closed in a loop", func(t *testing.T) {
		before := runtime.NumGoroutine()
		for range 50 {
			s, err := Open(dir, WithKeys(k1), withKeyOrderPoll(time.Millisecond, nil))
			noErr(t, err)
			noErr(t, s.Close())
		}
		for deadline := time.Now().Add(30 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d goroutines after 50 stores opened and closed, %d before", runtime.NumGoroutine(), before)
			}
		}
	})
}

// A judgement begun once the store is closed reads nothing: the rechecks'
// goroutine may be asked for one (a reload's) as Close stops it, and Close
// waits for it, on a mount that does not answer as long as a read hangs.
func TestKeyOrderJudgementAfterCloseReadsNothing(t *testing.T) {
	k1, k2 := Key{ID: 1, Secret: make([]byte, 32)}, Key{ID: 2, Secret: make([]byte, 32)}
	rand.Read(k1.Secret)
	rand.Read(k2.Secret)
	var reads atomic.Int32
	s, err := Open(t.TempDir(), WithKeys(k1, k2), withKeyOrderPoll(time.Hour, func(uint32) { reads.Add(1) }))
	noErr(t, err)
	noErr(t, s.Close())
	before := reads.Load() // Open's, of key 2's record: a standby has none
	s.judgeKeyOrder(s.keys.Load())
	if n := reads.Load() - before; n != 0 {
		t.Errorf("a judgement after Close read %d records", n)
	}
}
