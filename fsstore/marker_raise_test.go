//go:build unix

package fsstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
)

// raiser is one process of a raise trial: the idle timeout it opens the
// store with and, if not zero, the idle timeout of a session it saves.
type raiser struct{ store, record time.Duration }

// runRaiseTrial starts one process per raiser on a fresh store whose
// marker says base, lets them all go at once, and returns the marker's
// max idle after they are done.
func runRaiseTrial(t *testing.T, base time.Duration, raisers []raiser) time.Duration {
	t.Helper()
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(base))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// All started before any is waited for: a child's start on a busy
	// machine takes a good part of a second, little of it on a CPU, and
	// nothing is raised before every one has said ready.
	var kids []*child
	for _, r := range raisers {
		env := []string{"STORE_DIR=" + dir, "STORE_IDLE=" + r.store.String()}
		if r.record != 0 {
			env = append(env, "STORE_RECORD_IDLE="+r.record.String())
		}
		kids = append(kids, startChild(t, "raise", env, plainChild(t)))
	}
	for _, k := range kids {
		k.Expect(t, "ready")
	}
	for _, k := range kids {
		k.Send(t, "go")
	}
	for _, k := range kids {
		k.Expect(t, "done")
		k.Finish(t)
	}
	return markerIdle(t, dir)
}

// Processes raising the marker's max idle at once, with different values,
// from their WithIdleTimeout and from sessions' own idle timeouts, always
// leave it at the largest: a raise is never lost to a concurrent smaller
// one.
func TestMarkerRaiseMultiProcess(t *testing.T) {
	trials := proctest.EnvInt("SESSFS_RAISE_TRIALS", 12)
	for _, tc := range []struct {
		name    string
		raisers []raiser
		want    time.Duration
	}{
		{"store idles", []raiser{{2 * time.Hour, 0}, {3 * time.Hour, 0}, {4 * time.Hour, 0}, {5 * time.Hour, 0}}, 5 * time.Hour},
		{"record idles", []raiser{{time.Hour, 7 * time.Hour}, {time.Hour, 6 * time.Hour}, {2 * time.Hour, 9 * time.Hour}, {time.Hour, 8 * time.Hour}}, 9 * time.Hour},
		{"mixed", []raiser{{5 * time.Hour, 0}, {time.Hour, 3 * time.Hour}, {4 * time.Hour, 6 * time.Hour}, {2 * time.Hour, 0}}, 6 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each trial has a store of its own and waits mostly for
			// its processes to start: the cases side by side.
			t.Parallel()
			var lost []string
			for i := 0; i < trials; i++ {
				if got := runRaiseTrial(t, time.Hour, tc.raisers); got != tc.want {
					lost = append(lost, fmt.Sprintf("trial %d: %v", i, got))
				}
			}
			if len(lost) > 0 {
				t.Errorf("%d of %d trials ended below %v: %v", len(lost), trials, tc.want, lost)
			}
		})
	}
}
