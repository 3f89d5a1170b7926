package detach

import (
	"context"
	"errors"
	"testing"
	"time"
)

type key struct{}

func TestContext(t *testing.T) {
	soon := time.Now().Add(time.Minute)
	for _, tc := range []struct {
		name   string
		parent func() context.Context
		bound  time.Duration
		err    error         // the detached context's error at once
		within time.Duration // its deadline lies within this of now (0: the parent's)
	}{
		{"canceled parent", func() context.Context {
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
			cancel()
			return ctx
		}, Bound, nil, Bound},
		{"parent past its deadline", func() context.Context {
			ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), time.Unix(1, 0))
			cancel()
			return ctx
		}, Bound, context.DeadlineExceeded, 0},
		{"parent's deadline earlier than the bound", func() context.Context {
			ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), soon)
			t.Cleanup(cancel)
			return ctx
		}, time.Hour, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := tc.parent()
			ctx, cancel := Context(parent, tc.bound)
			defer cancel()
			if !errors.Is(ctx.Err(), tc.err) || (tc.err == nil) != (ctx.Err() == nil) {
				t.Errorf("Err() = %v; want %v", ctx.Err(), tc.err)
			}
			if ctx.Value(key{}) != "v" {
				t.Errorf("the parent's values are lost")
			}
			d, ok := ctx.Deadline()
			if !ok {
				t.Fatal("no deadline")
			}
			if tc.within == 0 {
				if pd, _ := parent.Deadline(); !d.Equal(pd) {
					t.Errorf("deadline %v; want the parent's %v", d, pd)
				}
			} else if d.After(time.Now().Add(tc.within)) {
				t.Errorf("deadline %v; want within %v of now", d, tc.within)
			}
		})
	}
}
