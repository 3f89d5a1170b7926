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
