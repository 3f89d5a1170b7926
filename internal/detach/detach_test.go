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
		name     string
		parent   func() context.Context
		err      error // the detached context's error at once
		deadline bool  // it has the parent's deadline
	}{
		{"canceled parent", func() context.Context {
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
			cancel()
			return ctx
		}, nil, false},
		{"parent past its deadline", func() context.Context {
			ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), time.Unix(1, 0))
			cancel()
			return ctx
		}, context.DeadlineExceeded, true},
		{"canceled parent with a deadline to come", func() context.Context {
			ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), soon)
			cancel()
			return ctx
		}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := tc.parent()
			ctx, cancel := Context(parent)
			defer cancel()
			if !errors.Is(ctx.Err(), tc.err) || (tc.err == nil) != (ctx.Err() == nil) {
				t.Errorf("Err() = %v; want %v", ctx.Err(), tc.err)
			}
			if ctx.Value(key{}) != "v" {
				t.Errorf("the parent's values are lost")
			}
			d, ok := ctx.Deadline()
			pd, _ := parent.Deadline()
			if ok != tc.deadline || !d.Equal(pd) {
				t.Errorf("deadline %v, %v; want the parent's %v", d, ok, pd)
			}
		})
	}
}

// BenchmarkContext is the cost a detached context adds to each store call
// of the adapters, for a request without a deadline (net/http's default).
func BenchmarkContext(b *testing.B) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		_, cancel := Context(parent)
		cancel()
	}
}
