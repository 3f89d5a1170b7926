package redistarget

import (
	"math"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
)

// TestTTL: a session outlives the planned run twice over and by an hour,
// whole hours, at least a day (also for a run of unknown length), never
// longer than a directory target keeps one.
func TestTTL(t *testing.T) {
	tests := []struct {
		name    string
		planned time.Duration
		want    time.Duration
	}{
		{"unknown length (--ops)", 0, MinTTL},
		{"negative taken as unknown", -time.Hour, MinTTL},
		{"the defaults: 24 slices of 1.2s", 24 * 1200 * time.Millisecond, MinTTL},
		{"just under the minimum", 11*time.Hour + 30*time.Minute, MinTTL},
		{"twice plus an hour over a day", 12 * time.Hour, 25 * time.Hour},
		{"rounded up to a whole hour", 12*time.Hour + time.Second, 26 * time.Hour},
		{"48 hours and 9.6s planned", 48*time.Hour + 9600*time.Millisecond, 98 * time.Hour},
		{"a long run", 30 * 24 * time.Hour, 60*24*time.Hour + time.Hour},
		{"capped at a directory's", 300 * 24 * time.Hour, bench.SessionIdle},
		{"just below the cap", (bench.SessionIdle - time.Hour) / 2, bench.SessionIdle},
		{"the longest plan", math.MaxInt64, bench.SessionIdle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TTL(tt.planned); got != tt.want {
				t.Errorf("TTL(%v) = %v, want %v", tt.planned, got, tt.want)
			}
		})
	}
}

func TestPersistence(t *testing.T) {
	for _, tt := range []struct{ appendonly, appendfsync, save, want string }{
		{"yes", "always", "", "aof, fsync always"},
		{"yes", "everysec", "3600 1", "aof, fsync every second"},
		{"yes", "no", "", "aof, fsync left to the OS"},
		{"yes", "", "", "aof"},
		{"no", "everysec", "3600 1 300 100", "rdb snapshots only"},
		{"no", "everysec", "", "none"},
		{"no", "everysec", " ", "none"},
		{"", "", "", ""},
	} {
		if got := Persistence(tt.appendonly, tt.appendfsync, tt.save); got != tt.want {
			t.Errorf("Persistence(%q, %q, %q) = %q, want %q", tt.appendonly, tt.appendfsync, tt.save, got, tt.want)
		}
	}
}
