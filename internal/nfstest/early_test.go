package nfstest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTakeStartedLater: a test whose early guest has not ended when the
// test is reached hands the wait back (Run makes it parallel, so that the
// package's later tests run beside the guest), and one whose guest has
// ended takes its result at once.
func TestTakeStartedLater(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ended     bool // the result is there when the test is reached
		wantLater bool
	}{
		{"guest still running", false, true},
		{"guest ended", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Hosts: 2}
			state := t.TempDir()
			write := func() {
				b, err := json.Marshal(startResult{Code: 0, Out: []byte("ran")})
				if err != nil {
					t.Error(err)
					return
				}
				if err := os.WriteFile(filepath.Join(state, startResultFile), b, 0o644); err != nil {
					t.Error(err)
				}
			}
			started.mu.Lock()
			saved := started.runs
			savedChild := started.child
			started.runs = map[string]*startedRun{"TestX": {cfg: cfg, state: state}}
			started.child = make(chan struct{})
			started.mu.Unlock()
			t.Cleanup(func() {
				started.mu.Lock()
				started.runs, started.child = saved, savedChild
				started.mu.Unlock()
			})
			if tc.ended {
				write()
			}
			later := 0
			done := make(chan *guestRun, 1)
			go func() {
				done <- takeStarted("TestX", cfg, 2, func() {
					later++
					write() // the guest ends while the other tests run
				})
			}()
			var g *guestRun
			select {
			case g = <-done:
			case <-time.After(time.Minute):
				t.Fatal("takeStarted did not return within a minute of the result")
			}
			if g == nil || g.err != nil || g.out.String() != "ran" {
				t.Fatalf("takeStarted: %+v; want the run's result", g)
			}
			if got := later == 1; got != tc.wantLater || later > 1 {
				t.Errorf("later called %d times; want it called: %v", later, tc.wantLater)
			}
		})
	}
}
