package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// silentTarget answers its first answered operations, then fails every
// later one as a server that stopped answering does (each would have
// waited out its deadline).
type silentTarget struct {
	Noop
	answered int64
	calls    atomic.Int64
}

var errTimeout = errors.New("i/o timeout")

func (s *silentTarget) Load(context.Context, string) error {
	if s.calls.Add(1) > s.answered {
		return NoAnswer(errTimeout)
	}
	return nil
}

// TestNoAnswerStopsRun: a target that stops answering ends the run at its
// first unanswered operation, with ErrNoAnswer and the target's error,
// however many operations are left (with a quota, each would have waited
// out its deadline in turn), in a paced run and in a closed loop alike.
func TestNoAnswerStopsRun(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*Config)
	}{
		{"quota", func(c *Config) { c.Ops = 1 << 40 }},
		{"duration", func(c *Config) { c.Ops, c.Duration = 0, time.Hour }},
		{"paced", func(c *Config) { c.Ops, c.Duration, c.Rate = 0, time.Hour, 1000 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Workloads = []Workload{Load}
			tt.mod(&cfg)
			tg := &silentTarget{answered: 50}
			_, err := (&Runner{Config: cfg, Targets: []Target{tg}}).Run(context.Background())
			if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, errTimeout) {
				t.Fatalf("Run: %v; want ErrNoAnswer and the target's error", err)
			}
			if errors.Is(err, ErrAllFailed) {
				t.Errorf("Run: %v; the operations before were answered", err)
			}
		})
	}
}
