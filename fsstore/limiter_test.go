package fsstore

import (
	"context"
	"testing"
)

// TestLimiterGivesBackUnusedSlots: a slot waited for and not used (the
// sweep found nothing to do by then, or ctx ended the wait) goes to the
// next caller, unless a later slot was handed out meanwhile; tryTake
// takes only a slot due now.
func TestLimiterGivesBackUnusedSlots(t *testing.T) {
	l := newLimiter(1e-20, nil) // one slot now, the next in centuries
	if !l.tryTake() {
		t.Fatal("tryTake of a fresh limiter found no slot due")
	}
	if l.tryTake() {
		t.Fatal("tryTake found a second slot due at once")
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	next := l.next
	if _, err := l.reserve(ended); err == nil {
		t.Fatal("reserve of a slot in centuries returned with ctx ended")
	}
	if !l.next.Equal(next) {
		t.Errorf("a wait ctx ended kept its slot: next slot %v, want %v", l.next, next)
	}
	// A slot given back once a later one was handed out stays spent: the
	// two would be closer than the interval.
	l2 := newLimiter(1e-20, nil)
	at, err := l2.reserve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	later := l2.next
	l2.next = later.Add(l2.interval) // another caller holds the slot after at
	l2.giveBack(at)
	if !l2.next.Equal(later.Add(l2.interval)) {
		t.Errorf("a slot given back behind a later one moved the next slot to %v", l2.next)
	}
	l3 := newLimiter(1e-20, nil)
	at, err = l3.reserve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l3.giveBack(at)
	if !l3.tryTake() {
		t.Error("a slot given back, with none handed out after it, is not due to the next caller")
	}
}
