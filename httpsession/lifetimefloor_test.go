package httpsession_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestLifetimeFloor holds that a Manager given a lifetime below 1s (a
// units mistake: WithLifetime(1) is 1ns) reports it from Err, naming the
// option, as it does such an idle timeout, where every session it made
// expired as it was made; 0 (the store's) and 1s are fine.
func TestLifetimeFloor(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tt := range []struct {
		d  time.Duration
		ok bool
	}{{1, false}, {999 * time.Millisecond, false}, {0, true}, {time.Second, true}} {
		err := httpsession.New(st, httpsession.WithLifetime(tt.d)).Err()
		switch {
		case tt.ok && err != nil:
			t.Errorf("WithLifetime(%v): %v", tt.d, err)
		case !tt.ok && (err == nil || !strings.Contains(err.Error(), "WithLifetime "+tt.d.String()+" is below 1s")):
			t.Errorf("WithLifetime(%v): Err() = %v, want an error naming it", tt.d, err)
		}
	}
}
