package fsstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestHostClockSteppedAway: a maintenance pass on a host whose clock is an
// hour ahead of, or behind, the file server's judges the records by the
// server's clock, which stamped their mtimes: Stats counts, and the sweep
// removes, exactly the session the server's clock calls expired, and a
// rekey rewrites exactly the live ones. The rekey judged by this host's
// clock: an hour ahead, it took every live session (idle timeout 30 min)
// for expired and left it under the old key, whose retirement then logged
// its user out; an hour behind, it rewrote the expired one. (WithClock
// replaces the server's clock too; SetHostClockForTest, this host's
// alone.)
func TestHostClockSteppedAway(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(step.String(), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			idle := fsstore.WithIdleTimeout(30 * time.Minute)
			app := openDir(t, dir, fsstore.WithKeys(k1), idle)
			var live []string
			for i := 0; i < 3; i++ {
				id := newID(t)
				must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("live")}))
				live = append(live, id)
			}
			// Idle for 70 minutes by the server's clock: expired 40
			// minutes ago, live to a clock an hour behind.
			gone := newID(t)
			must(t, app.Save(ctx, &fsstore.Session{ID: gone, Data: []byte("expired")}))
			old := time.Now().Add(-70 * time.Minute)
			must(t, os.Chtimes(app.RecordPathForTest(gone), old, old))

			gc := openDir(t, dir, fsstore.WithKeys(k2, k1), idle)
			gc.SetHostClockForTest(func() time.Time { return time.Now().Add(step) })
			st, err := gc.Stats(ctx, fsstore.StatsOptions{})
			if err != nil || st.Live != 3 || st.Expired != 1 {
				t.Errorf("Stats: live %d, expired %d, %v; want 3 and 1", st.Live, st.Expired, err)
			}
			rk, err := gc.Rekey(ctx, fsstore.RekeyOptions{})
			if err != nil || rk.Rekeyed != 3 || rk.Expired != 1 || rk.Errors != 0 {
				t.Errorf("Rekey: %+v, %v; want the 3 live sessions rekeyed and the expired one left", rk, err)
			}
			sw, err := gc.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil || sw.Sessions != 1 || sw.Live != 3 {
				t.Errorf("Sweep: %+v, %v; want the expired session removed, the 3 live ones kept", sw, err)
			}
			// Every live session is under the new key: a host with it
			// alone (the old key retired) loads each.
			retired := openDir(t, dir, fsstore.WithKeys(k2), idle)
			for _, id := range live {
				if _, err := retired.Load(ctx, id); err != nil {
					t.Errorf("a live session once the old key is retired: %v", err)
				}
			}
		})
	}
}
