package lock_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// TestConfigErrorsNameTheField holds that every setting of Config that
// NewTable refuses is refused with an error naming the one field at
// fault, as the caller wrote it (Config.MaxHeld), where one message
// covered two fields ("MaxHeld and MaxOpen must not be negative") and
// none said which struct they belong to.
func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(*lock.Config)
		want string
	}{
		{"no directory", func(c *lock.Config) { c.Dir = "" }, "Config.Dir is empty"},
		{"NUL in the directory", func(c *lock.Config) { c.Dir = "a\x00b" }, `Config.Dir "a\x00b"`},
		{"negative MaxHeld", func(c *lock.Config) { c.MaxHeld = -1 }, "Config.MaxHeld -1"},
		{"negative MaxOpen", func(c *lock.Config) { c.MaxOpen = -1 }, "Config.MaxOpen -1"},
		{"lease too short", func(c *lock.Config) { c.LeaseTTL = time.Millisecond }, "Config.LeaseTTL 1ms"},
		{"lease too long", func(c *lock.Config) { c.LeaseTTL = lock.MaxLeaseTTL + time.Second }, "Config.LeaseTTL 10m1s"},
		{"negative lease TTL", func(c *lock.Config) { c.LeaseTTL = -time.Second }, "Config.LeaseTTL -1s"},
		{"negative LeaseGrace", func(c *lock.Config) { c.LeaseGrace = -time.Second }, "Config.LeaseGrace -1s"},
		{"negative VerifyAfter", func(c *lock.Config) { c.VerifyAfter = -time.Second }, "Config.VerifyAfter -1s"},
		{"unknown strategy", func(c *lock.Config) { c.Strategy = 9 }, "Config.Strategy Strategy(9)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := lock.Config{Dir: t.TempDir()}
			tt.set(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate: %v, want it to name %q", err, tt.want)
			}
			if tab, err := lock.NewTable(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				if err == nil {
					tab.Close()
				}
				t.Errorf("NewTable: %v, want it to name %q", err, tt.want)
			}
		})
	}
}
