package opwatch

import (
	"context"
	"testing"
)

// The waiter and the work agree on who owns an operation's outcome, and an
// abandoned operation starts no further call and skips its commit.
func TestStates(t *testing.T) {
	for _, tc := range []struct {
		name            string
		steps           func(o *Op) (enter, commit, detach, finishDetached bool)
		enter, commit   bool
		detach, lateOwn bool
	}{
		{"normal", func(o *Op) (bool, bool, bool, bool) {
			e := o.Enter()
			c := o.Commit()
			o.Exit()
			f := o.Finish()
			d, _ := o.Detach()
			return e, c, d, f
		}, true, true, false, false},
		{"abandoned-before-call", func(o *Op) (bool, bool, bool, bool) {
			o.Abandon()
			e := o.Enter()
			c := o.Commit()
			f := o.Finish()
			return e, c, false, f
		}, false, false, false, false},
		{"detached-in-call", func(o *Op) (bool, bool, bool, bool) {
			e := o.Enter()
			d, committed := o.Detach()
			c := o.Commit()
			o.Exit()
			f := o.Finish()
			if committed {
				t.Error("detached before commit reported committed")
			}
			return e, c, d, f
		}, true, false, true, true},
		{"detached-after-commit", func(o *Op) (bool, bool, bool, bool) {
			e := o.Enter()
			c := o.Commit()
			d, committed := o.Detach()
			if !committed {
				t.Error("detached after commit not reported committed")
			}
			f := o.Finish()
			return e, c, d, f
		}, true, true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Op
			e, c, d, f := tc.steps(&o)
			if e != tc.enter || c != tc.commit || d != tc.detach || f != tc.lateOwn {
				t.Fatalf("enter %v commit %v detach %v finish-detached %v; want %v %v %v %v", e, c, d, f, tc.enter, tc.commit, tc.detach, tc.lateOwn)
			}
		})
	}
}

// Enter takes a slot of the bound and Exit gives it back; a full bound
// refuses the call.
func TestBound(t *testing.T) {
	b := &Bound{Max: 1}
	a, c := Op{Bound: b}, Op{Bound: b}
	if !a.Enter() || b.InFlight() != 1 {
		t.Fatal("first call refused")
	}
	if c.Enter() || !c.Refused() || b.InFlight() != 1 {
		t.Fatal("call over the bound admitted")
	}
	a.Exit()
	if b.InFlight() != 0 {
		t.Fatalf("slots %d after Exit", b.InFlight())
	}
	c.EnterAlways()
	c.EnterAlways()
	if b.InFlight() != 1 {
		t.Fatalf("EnterAlways twice took %d slots, want 1", b.InFlight())
	}
	c.Exit()
	if b.InFlight() != 0 {
		t.Fatal("slot kept")
	}
}

func TestContext(t *testing.T) {
	if FromContext(context.Background()) != nil {
		t.Fatal("op from an empty context")
	}
	var o Op
	if FromContext(NewContext(context.Background(), &o)) != &o {
		t.Fatal("op lost")
	}
	var nilOp *Op
	if !nilOp.Enter() || !nilOp.Commit() || nilOp.Abandoned() {
		t.Fatal("a nil Op must accept every call")
	}
	nilOp.Exit()
	nilOp.EnterAlways()
}

// TestWoken: an operation that enters the OS after its waiter abandoned it
// wakes the waiter, whichever of the two came first; one that was inside
// already is reported by Abandon instead, with no wake-up.
func TestWoken(t *testing.T) {
	woken := func(o *Op) bool {
		select {
		case <-o.Woken:
			return true
		default:
			return false
		}
	}
	tests := []struct {
		name      string
		run       func(o *Op) (abandonSawInOS bool)
		wantWoken bool
		wantInOS  bool
	}{
		{"abandoned, then enters", func(o *Op) bool {
			in, _ := o.Abandon()
			o.EnterAlways()
			return in
		}, true, true},
		{"inside, then abandoned", func(o *Op) bool {
			o.EnterAlways()
			in, _ := o.Abandon()
			return in
		}, false, true},
		{"abandoned, never enters", func(o *Op) bool {
			in, _ := o.Abandon()
			return in
		}, false, false},
		{"Enter refused once abandoned", func(o *Op) bool {
			in, _ := o.Abandon()
			if o.Enter() {
				t.Error("Enter admitted an abandoned operation")
			}
			return in
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Op{Woken: make(chan struct{}, 1)}
			sawInOS := tt.run(o)
			got := woken(o)
			if got != tt.wantWoken {
				t.Errorf("woken = %v, want %v", got, tt.wantWoken)
			}
			if in, _ := o.InOS(); in != tt.wantInOS {
				t.Errorf("InOS = %v, want %v", in, tt.wantInOS)
			}
			if tt.wantInOS && sawInOS == got {
				t.Errorf("Abandon reported inOS=%v and the waiter was woken=%v: exactly one must tell", sawInOS, got)
			}
			// A second entry while a wake-up is pending does not block.
			if tt.wantWoken {
				o.EnterAlways()
				o.EnterAlways()
				o.Reset()
				if woken(o) {
					t.Error("Reset left a wake-up pending")
				}
			}
		})
	}
}

// Polls fill all of a bound but a quarter (at least one slot); other calls
// fill the rest.
func TestPollReserve(t *testing.T) {
	for _, tc := range []struct {
		max, polls int64 // polls: how many polls are admitted
	}{
		{1, 1}, {2, 1}, {3, 2}, {4, 3}, {5, 4}, {8, 6}, {64, 48}, {65, 49},
	} {
		b := &Bound{Max: tc.max}
		var polls int64
		for {
			o := &Op{Bound: b}
			if !o.EnterPoll() {
				if !o.Refused() {
					t.Fatalf("max %d: a poll refused a slot does not say so", tc.max)
				}
				break
			}
			polls++
		}
		if polls != tc.polls {
			t.Errorf("max %d: %d polls admitted, want %d", tc.max, polls, tc.polls)
		}
		others := int64(0)
		for (&Op{Bound: b}).Enter() {
			others++
		}
		if polls+others != tc.max {
			t.Errorf("max %d: %d polls and then %d other calls admitted, want %d in all", tc.max, polls, others, tc.max)
		}
	}
}

// TestProgress: progress inside the OS moves the start the ceiling counts
// from; outside the OS it changes nothing, and a nil Op accepts it.
func TestProgress(t *testing.T) {
	var o Op
	o.since.Store(1)
	o.Progress()
	if _, since := o.InOS(); since != 1 {
		t.Fatalf("progress outside the OS moved since to %d", since)
	}
	o.MarkInOS()
	o.since.Store(1)
	o.Progress()
	if in, since := o.InOS(); !in || since <= 1 {
		t.Fatalf("progress inside the OS: in %v, since %d; want a later since", in, since)
	}
	var nilOp *Op
	nilOp.Progress()
}

// TestLastAnswer: an answer is recorded on the operation's Bound only
// where the caller says the server answered (not by entering or leaving
// the OS), not at all without a Bound, and the record never moves back.
func TestLastAnswer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steps    func(o *Op)
		answered bool
	}{
		{"answered", func(o *Op) { o.Enter(); o.Answered(); o.Exit() }, true},
		{"poll-answered", func(o *Op) { o.EnterPoll(); o.Answered(); o.Exit() }, true},
		{"call-returned-unanswered", func(o *Op) { o.Enter(); o.Exit() }, false},
		{"operation-ended", func(o *Op) { o.MarkInOS(); o.Exit() }, false},
		{"abandoned-before-call", func(o *Op) { o.Abandon(); o.Enter() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Bound{Max: 1}
			tc.steps(&Op{Bound: b})
			if got := b.LastAnswer() != 0; got != tc.answered {
				t.Fatalf("answer recorded: %v, want %v", got, tc.answered)
			}
		})
	}
	var nilOp *Op
	nilOp.Answered()
	(&Op{}).Answered() // no Bound: nothing to record on
	b := &Bound{}
	b.Answered()
	last := b.LastAnswer()
	b.answer(last - 1)
	if got := b.LastAnswer(); got != last {
		t.Fatalf("an older reading moved the record from %d to %d", last, got)
	}
}

// TestGrantedAfterAbandon: a waiter that gives up on an operation inside
// the OS for a poll (Abandon reports it inside) judges that call by
// Polling, after Abandon: a poll on the wire is a lock wait timed out,
// not the server failing to answer. A poll granted meanwhile, whose
// operation then called Granted before the waiter looked, read as no
// poll: the waiter took the release that follows (or the moment before
// it) for the operation's own work hanging, ErrUnavailable, counted by
// the breaker. Granted before Abandon still ends the polling.
func TestGrantedAfterAbandon(t *testing.T) {
	var o Op
	o.Poll()
	if !o.Enter() {
		t.Fatal("Enter refused")
	}
	if inOS, _ := o.Abandon(); !inOS {
		t.Fatal("Abandon: not inside the OS")
	}
	o.Exit() // the poll is granted
	o.Granted()
	if !o.Polling() {
		t.Fatal("Polling false after a Granted that came after Abandon: the poll the waiter gave up on looks like the operation's own work")
	}
	if !o.WasGranted() {
		t.Fatal("WasGranted false")
	}

	var p Op
	p.Poll()
	p.Granted()
	if p.Polling() {
		t.Fatal("Polling true after Granted, not abandoned")
	}
}
