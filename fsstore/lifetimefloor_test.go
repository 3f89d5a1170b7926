package fsstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestLifetimeFloor holds that Open refuses a lifetime below 1s (a units
// mistake: WithLifetime(1) is 1ns) with an error naming the option, as it
// refuses such an idle timeout, where it opened a store that expired
// every session as it was made; 0 (no lifetime) and 1s open.
func TestLifetimeFloor(t *testing.T) {
	for _, tt := range []struct {
		d  time.Duration
		ok bool
	}{{1, false}, {999 * time.Millisecond, false}, {0, true}, {time.Second, true}} {
		s, err := fsstore.Open(t.TempDir(), fsstore.WithLifetime(tt.d))
		if tt.ok {
			if err != nil {
				t.Errorf("WithLifetime(%v): %v", tt.d, err)
				continue
			}
			s.Close()
			continue
		}
		if err == nil {
			s.Close()
			t.Errorf("WithLifetime(%v) opened, want an error naming it", tt.d)
			continue
		}
		if !strings.Contains(err.Error(), "WithLifetime "+tt.d.String()+" is below 1s") {
			t.Errorf("WithLifetime(%v): %v, want it named", tt.d, err)
		}
	}
}
