package bench

import (
	"math"
	"testing"
	"time"
)

// TestPlannedLength: every target measures every cell for Duration (over
// all its rounds) after one warm-up; a count-based run has no planned
// length; an absurd plan saturates rather than wrapping to a short one.
func TestPlannedLength(t *testing.T) {
	base := func(f func(*Config)) Config {
		c := Config{Workloads: []Workload{Cycle, Load, Save, Touch}, Sizes: []int{1024, 16384}, Concurrency: []int{1, 8, 64},
			Duration: time.Second, Warmup: 200 * time.Millisecond, Rounds: 3}
		if f != nil {
			f(&c)
		}
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		targets int
		want    time.Duration
	}{
		{"the defaults, one target", base(nil), 1, 24 * 1200 * time.Millisecond},
		{"two targets", base(nil), 2, 2 * 24 * 1200 * time.Millisecond},
		{"rounds split the duration, not add to it", base(func(c *Config) { c.Rounds = 10 }), 1, 24 * 1200 * time.Millisecond},
		{"no warm-up", base(func(c *Config) { c.Warmup = 0 }), 3, 3 * 24 * time.Second},
		{"an hour per cell", base(func(c *Config) { c.Duration = time.Hour }), 2, 2 * 24 * (time.Hour + 200*time.Millisecond)},
		{"one cell", base(func(c *Config) { c.Workloads, c.Sizes, c.Concurrency = []Workload{Hot}, []int{1}, []int{4} }), 1, 1200 * time.Millisecond},
		{"count-based", base(func(c *Config) { c.Ops, c.Duration = 1000, 0 }), 2, 0},
		{"no targets", base(nil), 0, 0},
		{"duration and warm-up overflow", base(func(c *Config) { c.Duration, c.Warmup = math.MaxInt64-1, time.Second }), 1, math.MaxInt64},
		{"cells overflow", base(func(c *Config) { c.Duration = math.MaxInt64 / 10 }), 1, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.PlannedLength(tt.targets); got != tt.want {
				t.Errorf("PlannedLength(%d) = %v, want %v", tt.targets, got, tt.want)
			}
		})
	}
}
