package httppeers

import (
	"math"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
)

// TestValidateBounds: every setting that sizes the run is bounded, as
// sessbench run's are. The lost-update test (--hot) started a goroutine
// per client and kept a counter value per increment, with no bound: a
// mistyped 1000000x1000000 asked for a million goroutines and 8 TB of
// counter values, and its product could overflow; --concurrency was
// bounded only by --sessions (10,000,000 goroutines).
func TestValidateBounds(t *testing.T) {
	base := func() Config {
		return Config{Sizes: []int{16}, Duration: time.Second, Rounds: 1, Concurrency: 1, Sessions: 1, HotClients: 8, HotIncrements: 50}
	}
	for _, tt := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"no lost-update test", func(c *Config) { c.HotClients, c.HotIncrements = 0, 0 }, true},
		{"at the increments bound", func(c *Config) { c.HotClients, c.HotIncrements = 1000, MaxHotIncrements/1000 }, true},
		{"at the clients bound", func(c *Config) { c.HotClients, c.HotIncrements = bench.MaxConcurrency, 1 }, true},
		{"increments above the bound", func(c *Config) { c.HotClients, c.HotIncrements = 1000, MaxHotIncrements/1000+1 }, false},
		{"one client, too many increments", func(c *Config) { c.HotClients, c.HotIncrements = 1, MaxHotIncrements+1 }, false},
		{"too many clients", func(c *Config) { c.HotClients, c.HotIncrements = bench.MaxConcurrency+1, 1 }, false},
		{"a product that overflows", func(c *Config) { c.HotClients, c.HotIncrements = math.MaxInt, math.MaxInt }, false},
		{"negative", func(c *Config) { c.HotClients = -1 }, false},
		{"concurrency above the bound", func(c *Config) {
			c.Concurrency, c.Sessions = bench.MaxConcurrency+1, bench.MaxConcurrency+1
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(&c)
			err := c.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate of %d clients × %d increments, concurrency %d: %v, want ok %v", c.HotClients, c.HotIncrements, c.Concurrency, err, tt.ok)
			}
		})
	}
}
