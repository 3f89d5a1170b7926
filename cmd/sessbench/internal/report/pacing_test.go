package report

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
)

// sleepTarget's loads take lat, in the fake time of a synctest bubble,
// but for the stallAt-th (from 1; 0: none), which takes stall.
type sleepTarget struct {
	bench.Noop
	lat, stall time.Duration
	stallAt    int64
	calls      atomic.Int64
}

func (*sleepTarget) Name() string { return "slow" }
func (s *sleepTarget) Load(context.Context, string) error {
	if s.calls.Add(1) == s.stallAt {
		time.Sleep(s.stall)
	} else {
		time.Sleep(s.lat)
	}
	return nil
}

// TestBehindRateFromSchedule: a row is "behind --rate" when its target
// could not keep up with the schedule, not when its operations are long.
// Judged by the operations started per second of wall time, a measurement
// whose operations all start on time still fell short, since its wall time
// also holds the last operation in flight: with the defaults (1 s in 3
// rounds) every target whose operations take about 37 ms or more was
// flagged, 10 clients at --rate 100 with loads of 60 ms (87 a second)
// among them, although each load started on time and took 60 ms. What
// the schedule called for and the target left waiting at the end is
// reported (behind) whether or not the row is flagged.
func TestBehindRateFromSchedule(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		clients int
		rate    float64
		ops     int64 // 0: --duration 1s
		lat     time.Duration
		// stallAt, if not 0, is the load (from 1) that takes stall.
		stallAt int64
		stall   time.Duration
		// flagged: named behind --rate; behind: the operations left
		// waiting at the ends of the three rounds.
		flagged bool
		behind  uint64
	}{
		// Each client starts a load every 100 ms.
		{"on schedule, loads of 60ms", 10, 100, 0, 60 * ms, 0, 0, false, 0},
		{"on schedule, loads of 60ms, --ops", 10, 100, 102, 60 * ms, 0, 0, false, 0},
		{"on schedule, loads just short of the interval", 10, 100, 0, 99 * ms, 0, 0, false, 0},
		{"one client, loads of 9ms every 10ms", 1, 100, 0, 9 * ms, 0, 0, false, 0},
		// The 21 loads of the warm-up come first, then the first round's,
		// due every 10 ms: the one due at 320 ms takes 25 ms, and the one
		// due at 330 ms has not started when the round ends at 333 ms.
		{"one client, a stall at the end of a round", 1, 100, 0, ms, 21 + 33, 25 * ms, false, 1},
		// Loads of 150 ms every 100 ms: two thirds of the rate. In each
		// round the clients start 24 of the 34 loads due.
		{"behind, loads of 150ms", 10, 100, 0, 150 * ms, 0, 0, true, 30},
		// With --ops the clients start all 34 loads of a round; 48 were
		// due by the time they ran out of them.
		{"behind, loads of 150ms, --ops", 10, 100, 102, 150 * ms, 0, 0, true, 42},
		// Half the rate, for a single client.
		{"behind, one client, loads of 20ms every 10ms", 1, 100, 0, 20 * ms, 0, 0, true, 51},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// No operation is due at the end of the warm-up (205 ms) or
				// of a round (333.3 ms), where which comes first, the end
				// or the operation, would be up to the order of timers.
				cfg := bench.Config{
					Workloads: []bench.Workload{bench.Load}, Sizes: []int{16}, Concurrency: []int{tc.clients},
					Sessions: 10, HotSessions: 1, Duration: time.Second, Ops: tc.ops,
					Warmup: 205 * ms, Rounds: 3, Rate: tc.rate,
				}
				tg := &sleepTarget{lat: tc.lat, stall: tc.stall, stallAt: tc.stallAt}
				res, err := (&bench.Runner{Config: cfg, Targets: []bench.Target{tg}}).Run(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				rc := Config{Workloads: []string{"load"}, PayloadSizes: cfg.Sizes, Concurrency: cfg.Concurrency,
					Sessions: cfg.Sessions, HotSessions: cfg.HotSessions, DurationSec: 1, Ops: tc.ops, WarmupSec: 0.205,
					Rounds: cfg.Rounds, Rate: tc.rate}
				r := Build(rc, []Target{{Name: "slow", Info: bench.Info{Kind: "noop"}}}, res, time.Unix(0, 0).UTC(), time.Unix(10, 0).UTC())
				var b bytes.Buffer
				if err := WriteTable(&b, r); err != nil {
					t.Fatal(err)
				}
				flagged := strings.Count(b.String(), "behind --rate:")
				named := strings.Contains(r.Verdict, "started only")
				if flagged != b2i(tc.flagged) || named != tc.flagged {
					t.Errorf("%d clients at --rate %g, loads of %v: table flags %d rows behind --rate, verdict names it %v; want %d, %v:\n%s",
						tc.clients, tc.rate, tc.lat, flagged, named, b2i(tc.flagged), tc.flagged, b.String())
				}
				// As --json has it.
				var j bytes.Buffer
				if err := WriteJSON(&j, r); err != nil {
					t.Fatal(err)
				}
				var out struct {
					Results []map[string]any `json:"results"`
				}
				if err := json.Unmarshal(j.Bytes(), &out); err != nil {
					t.Fatal(err)
				}
				if row := out.Results[0]; row["behind"] != float64(tc.behind) {
					t.Errorf("%v started, %v behind; want %d behind", row["ops"], row["behind"], tc.behind)
				}
				// A backlog too small for the flag is still reported.
				if got, want := strings.Contains(b.String(), "backlog at the end:"), tc.behind > 0 && !tc.flagged; got != want {
					t.Errorf("table reports a backlog at the end: %v, want %v:\n%s", got, want, b.String())
				}
			})
		})
	}
}
