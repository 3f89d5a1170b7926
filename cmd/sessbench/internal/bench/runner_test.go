package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessfs/sessfs/internal/mountstats"
)

// countingTarget counts calls per method and can fail on demand.
type countingTarget struct {
	Noop
	name                      string
	cycles, loads, saves, tch atomic.Int64
	fail                      error
	mu                        sync.Mutex
	seen                      map[string]bool
}

func (c *countingTarget) Name() string { return c.name }
func (c *countingTarget) Cycle(_ context.Context, id string, _ []byte) error {
	c.cycles.Add(1)
	c.mark(id)
	return c.fail
}
func (c *countingTarget) Load(_ context.Context, id string) error {
	c.loads.Add(1)
	c.mark(id)
	return c.fail
}
func (c *countingTarget) Save(_ context.Context, id string, _ []byte) error {
	c.saves.Add(1)
	return nil // populate must succeed
}
func (c *countingTarget) Touch(_ context.Context, id string) error { c.tch.Add(1); return c.fail }
func (c *countingTarget) mark(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	c.seen[id] = true
}

func baseConfig() Config {
	return Config{
		Workloads: []Workload{Cycle}, Sizes: []int{16}, Concurrency: []int{2},
		Sessions: 10, HotSessions: 1, WriteRatio: 0.5, Ops: 100, Rounds: 2,
	}
}

func TestRunOpCounts(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Config)
		check  func(t *testing.T, c *countingTarget)
		wantOp uint64
	}{
		{"cycle", func(c *Config) {}, func(t *testing.T, c *countingTarget) {
			if c.cycles.Load() != 100 {
				t.Errorf("cycles = %d", c.cycles.Load())
			}
		}, 100},
		{"load", func(c *Config) { c.Workloads = []Workload{Load} }, func(t *testing.T, c *countingTarget) {
			if c.loads.Load() != 100 || c.cycles.Load() != 0 {
				t.Errorf("loads/cycles = %d/%d", c.loads.Load(), c.cycles.Load())
			}
		}, 100},
		{"mixed all writes", func(c *Config) { c.Workloads = []Workload{Mixed}; c.WriteRatio = 1 }, func(t *testing.T, c *countingTarget) {
			if c.cycles.Load() != 100 || c.loads.Load() != 0 {
				t.Errorf("cycles/loads = %d/%d", c.cycles.Load(), c.loads.Load())
			}
		}, 100},
		{"mixed no writes", func(c *Config) { c.Workloads = []Workload{Mixed}; c.WriteRatio = 0 }, func(t *testing.T, c *countingTarget) {
			if c.loads.Load() != 100 {
				t.Errorf("loads = %d", c.loads.Load())
			}
		}, 100},
		{"hot uses one session", func(c *Config) { c.Workloads = []Workload{Hot} }, func(t *testing.T, c *countingTarget) {
			if len(c.seen) != 1 {
				t.Errorf("hot workload touched %d sessions", len(c.seen))
			}
		}, 100},
		{"touch", func(c *Config) { c.Workloads = []Workload{Touch} }, func(t *testing.T, c *countingTarget) {
			if c.tch.Load() != 100 {
				t.Errorf("touches = %d", c.tch.Load())
			}
		}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.mod(&cfg)
			tg := &countingTarget{name: "t"}
			r := &Runner{Config: cfg, Targets: []Target{tg}}
			res, err := r.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].Ops != tt.wantOp || res[0].Hist.Count() != tt.wantOp {
				t.Fatalf("results = %+v", res)
			}
			if tg.saves.Load() != 10 {
				t.Errorf("populate saved %d sessions, want 10", tg.saves.Load())
			}
			tt.check(t, tg)
		})
	}
}

func TestRunInterleavesTargets(t *testing.T) {
	cfg := baseConfig()
	cfg.Concurrency = []int{1, 4}
	var order []string
	a, b := &countingTarget{name: "a"}, &countingTarget{name: "b"}
	r := &Runner{Config: cfg, Targets: []Target{a, b}, OnStep: func(s Step) { order = append(order, s.Label) }}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || res[0].Target != "a" || res[1].Target != "b" || res[0].Concurrency != 1 || res[2].Concurrency != 4 {
		t.Fatalf("result order: %v %v %v %v", res[0].Target, res[1].Target, res[2].Target, res[3].Target)
	}
	// 2 rounds x 2 cells x 2 targets, alternating targets.
	if len(order) != 8 {
		t.Fatalf("steps = %d", len(order))
	}
	for i, l := range order {
		want := "a"
		if i%2 == 1 {
			want = "b"
		}
		if !contains(l, "  "+want+"  ") {
			t.Errorf("step %d = %q, want target %s", i, l, want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestRunAllFailing: a measurement whose every operation fails stops the
// run with ErrAllFailed and the first operation's error, and says so: the
// error was the operation's alone ("x: cycle: boom", a disk that filled
// mid-run: "no space left on device"), which read as if one failure had
// thrown the whole run away.
func TestRunAllFailing(t *testing.T) {
	boom := errors.New("boom")
	r := &Runner{Config: baseConfig(), Targets: []Target{&countingTarget{name: "x", fail: boom}}}
	_, err := r.Run(context.Background())
	if !errors.Is(err, boom) || !errors.Is(err, ErrAllFailed) {
		t.Fatalf("err = %v, want boom and ErrAllFailed", err)
	}
	if !strings.Contains(err.Error(), "every operation failed") {
		t.Errorf("err = %q, want it to say every operation failed", err)
	}
}

// TestRunLeavesOutFailed: with LeaveOutFailed, a target whose every
// operation of a measurement fails is left out of the rest of the run,
// once, and the others are measured in full; its results are dropped and
// its failure is in Failed, said as it happens. With no other target
// left, the failure stops the run as it always did, and names the
// targets left out before it.
func TestRunLeavesOutFailed(t *testing.T) {
	boom, bang := errors.New("boom"), errors.New("bang")
	cfg := baseConfig()
	cfg.Workloads = []Workload{Cycle, Load}
	a, bad, c := &countingTarget{name: "a"}, &countingTarget{name: "bad", fail: boom}, &countingTarget{name: "c"}
	var told []Failure
	r := &Runner{Config: cfg, Targets: []Target{bad, a, c}, LeaveOutFailed: true, OnFail: func(f Failure) { told = append(told, f) }}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Failed) != 1 || r.Failed[0].Target != "bad" || !errors.Is(r.Failed[0].Err, boom) || !errors.Is(r.Failed[0].Err, ErrAllFailed) {
		t.Fatalf("Failed = %v, want bad's boom alone", r.Failed)
	}
	if !strings.Contains(r.Failed[0].Err.Error(), "left out of the rest of the run") {
		t.Errorf("error %q does not say the target was left out", r.Failed[0].Err)
	}
	if len(told) != 1 || told[0].Target != "bad" {
		t.Errorf("OnFail told %v", told)
	}
	// Its first measurement only: the others' two workloads, two rounds.
	if n := bad.cycles.Load() + bad.loads.Load(); n != 100/2 {
		t.Errorf("the failed target ran %d operations after it failed", n-100/2)
	}
	if len(res) != 2*2 {
		t.Fatalf("%d results, want a's and c's 2 each", len(res))
	}
	for _, x := range res {
		if x.Target == "bad" || x.Ops != 100 {
			t.Errorf("result %s %s: %d ops", x.Target, x.Workload, x.Ops)
		}
	}

	// The last target left failing stops the run.
	a.fail, c.fail = bang, bang
	_, err = r.Run(context.Background())
	if !errors.Is(err, boom) || !errors.Is(err, bang) || !strings.Contains(err.Error(), "the run stopped") {
		t.Errorf("err = %v, want bad's boom, then a's and c's bang, the last of which stopped the run", err)
	}
}

func TestRunDurationAndCancel(t *testing.T) {
	cfg := baseConfig()
	cfg.Ops = 0
	cfg.Duration = 20 * time.Millisecond
	cfg.Rounds = 1
	r := &Runner{Config: cfg, Targets: []Target{Noop{}}}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Ops == 0 || res[0].Elapsed < 20*time.Millisecond {
		t.Fatalf("ops=%d elapsed=%v", res[0].Ops, res[0].Elapsed)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cfg.Duration = time.Hour
	r = &Runner{Config: cfg, Targets: []Target{Noop{}}, OnStep: func(Step) { time.AfterFunc(10*time.Millisecond, cancel) }}
	if _, err := r.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
}

// TestRateMeasuresFromIntendedStart checks coordinated-omission correction:
// one slow operation at a fixed rate delays the ones queued behind it, and
// their latency must include the wait.
func TestRateMeasuresFromIntendedStart(t *testing.T) {
	cfg := baseConfig()
	cfg.Workloads = []Workload{Load}
	cfg.Concurrency = []int{1}
	cfg.Rounds = 1
	cfg.Ops = 20
	cfg.Rate = 1000 // one op per ms
	st := &stallTarget{stall: 10 * time.Millisecond}
	r := &Runner{Config: cfg, Targets: []Target{st}}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := &res[0].Hist
	// The first op stalls 10 ms; about nine ops that should have started
	// during the stall each wait several ms. Without correction only one
	// sample would exceed 1 ms.
	if h.Quantile(0.75) < 2*time.Millisecond {
		t.Errorf("p75 = %v: queued operations not charged for the stall", h.Quantile(0.75))
	}
}

type stallTarget struct {
	Noop
	stall time.Duration
	n     atomic.Int64
}

func (s *stallTarget) Load(context.Context, string) error {
	if s.n.Add(1) == 1 {
		time.Sleep(s.stall) // the simulated slow operation itself
	}
	return nil
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no workloads", func(c *Config) { c.Workloads = nil }},
		{"zero sessions", func(c *Config) { c.Sessions = 0 }},
		// A billion IDs are 64 GB of memory, allocated before anything
		// else is checked.
		{"too many sessions", func(c *Config) { c.Sessions = MaxSessions + 1; c.HotSessions = 1 }},
		{"hot above sessions", func(c *Config) { c.HotSessions = 11 }},
		{"ratio", func(c *Config) { c.WriteRatio = 1.5 }},
		{"conc", func(c *Config) { c.Concurrency = []int{0} }},
		{"size", func(c *Config) { c.Sizes = []int{-1} }},
		{"rounds", func(c *Config) { c.Rounds = 0 }},
		{"no duration", func(c *Config) { c.Ops = 0; c.Duration = 0 }},
		{"rate", func(c *Config) { c.Rate = -1 }},
		{"rate not a number", func(c *Config) { c.Rate = math.NaN() }},
		{"infinite rate", func(c *Config) { c.Rate = math.Inf(1) }},
		{"ratio not a number", func(c *Config) { c.WriteRatio = math.NaN() }},
		{"rounds of no time", func(c *Config) { c.Ops = 0; c.Duration = 2; c.Rounds = 3 }},
		{"repeated conc", func(c *Config) { c.Concurrency = []int{1, 2, 1} }},
		{"repeated size", func(c *Config) { c.Sizes = []int{1024, 1024} }},
		{"repeated workload", func(c *Config) { c.Workloads = []Workload{Load, Load} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			tt.mod(&c)
			if c.Validate() == nil {
				t.Fatal("no error")
			}
		})
	}
}

// fastestOp is the fastest real operation the harness must not distort: a
// session load from local disk.
const fastestOp = 13 * time.Microsecond

// BenchmarkHarnessOverhead runs the full measurement loop against a target
// that does nothing, so ns/op is the harness's own cost per operation:
// workload generation, two clock reads, and a histogram record. It also
// reports that cost as a percentage of the fastest real operation; the
// budget is 2%.
func BenchmarkHarnessOverhead(b *testing.B) {
	for _, wl := range []Workload{Load, Mixed} {
		b.Run(string(wl), func(b *testing.B) {
			cfg := baseConfig()
			cfg.Workloads = []Workload{wl}
			cfg.Concurrency = []int{1}
			cfg.Rounds = 1
			cfg.Sessions = 1000
			cfg.Ops = int64(b.N)
			r := &Runner{Config: cfg, Targets: []Target{Noop{}}}
			b.ReportAllocs()
			b.ResetTimer()
			res, err := r.Run(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			perOp := float64(res[0].Elapsed) / float64(res[0].Ops)
			b.ReportMetric(100*perOp/float64(fastestOp), "%-of-13µs")
		})
	}
}

// TestMemoryFlat checks that memory does not grow with the number of
// operations: a run 100 times longer allocates about the same. A
// histogram allocates its buckets as samples first reach them, so the
// longer run's wider tail may take each of the four clients' and the
// result's histograms to their full 37 KiB, and no further.
func TestMemoryFlat(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates per operation")
	}
	alloc := func(ops int64) uint64 {
		cfg := baseConfig()
		cfg.Concurrency = []int{4}
		cfg.Workloads = []Workload{Mixed}
		cfg.Ops = ops
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := (&Runner{Config: cfg, Targets: []Target{Noop{}}}).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc(10000), alloc(1000000)
	if large > small+64<<10+5*37<<10 {
		t.Errorf("10k ops allocated %d bytes, 1M ops %d: memory grows with the run", small, large)
	}
}

// rpcTarget counts two RPCs per load, like an NFS mount's counters.
type rpcTarget struct {
	Noop
	n atomic.Uint64
}

func (r *rpcTarget) Load(context.Context, string) error { r.n.Add(2); return nil }
func (r *rpcTarget) RPCCounts() (mountstats.Counts, error) {
	return mountstats.Counts{"GETATTR": r.n.Load(), "READ": r.n.Load() / 2}, nil
}

func TestRPCCountsCoverMeasuredOpsOnly(t *testing.T) {
	cfg := baseConfig()
	cfg.Workloads = []Workload{Load}
	cfg.Warmup = 5 * time.Millisecond // warm-up loads must not be counted
	res, err := (&Runner{Config: cfg, Targets: []Target{&rpcTarget{}}}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].RPC; got["GETATTR"] != 2*res[0].Ops || got["READ"] != res[0].Ops {
		t.Errorf("RPCs %v for %d ops", got, res[0].Ops)
	}
}

// slowFirst is a target whose first load takes first and every other one
// rest, in the fake time of a synctest bubble.
type slowFirst struct {
	Noop
	first, rest time.Duration
	calls       atomic.Int64
}

func (s *slowFirst) Load(context.Context, string) error {
	if s.calls.Add(1) == 1 {
		time.Sleep(s.first) // the operation's own duration, in fake time
	} else {
		time.Sleep(s.rest)
	}
	return nil
}

// TestOpsSharedByClients: with --ops, a measurement ends when the cell's
// operations are done, so that every client is busy until then. When each
// client had a share of its own, one that finished early idled while the
// others went on with fewer clients than the row says, and the row's
// throughput and latencies took in that tail.
func TestOpsSharedByClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := baseConfig()
		cfg.Workloads = []Workload{Load}
		cfg.Concurrency = []int{2}
		cfg.Rounds = 1
		cfg.Ops = 10
		tg := &slowFirst{first: 9 * time.Millisecond, rest: time.Millisecond}
		res, err := (&Runner{Config: cfg, Targets: []Target{tg}}).Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// One client spends 9 ms on its first load while the other does
		// the nine others, 1 ms each: both are busy to the end, at 9 ms.
		if r := res[0]; r.Ops != 10 || r.Elapsed != 9*time.Millisecond {
			t.Errorf("%d loads in %v (%.0f/s), want 10 in 9ms: a client sat idle while the other finished", r.Ops, r.Elapsed, r.Throughput())
		}
	})
}

// fixedTarget's loads take load and its saves save, in the fake time of a
// synctest bubble.
type fixedTarget struct {
	Noop
	load, save time.Duration
}

func (f *fixedTarget) Load(context.Context, string) error { time.Sleep(f.load); return nil }
func (f *fixedTarget) Save(context.Context, string, []byte) error {
	time.Sleep(f.save)
	return nil
}

// TestThroughputWindow: throughput and latency cover the measured slices
// only, the same for both: not the sessions' creation nor the warm-up, and
// every client's operations over the wall time of the slice, including
// the one each had in flight when time was up.
func TestThroughputWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := baseConfig()
		cfg.Workloads = []Workload{Load}
		cfg.Concurrency = []int{2}
		cfg.Ops = 0
		cfg.Duration = 20 * time.Millisecond // two rounds of 10 ms
		cfg.Warmup = 5 * time.Millisecond
		tg := &fixedTarget{load: 3 * time.Millisecond, save: time.Second}
		res, err := (&Runner{Config: cfg, Targets: []Target{tg}}).Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// In each round, each client's loads end at 3, 6, 9 and 12 ms:
		// the fourth is in flight at 10 ms.
		r := res[0]
		if r.Ops != 16 || r.Elapsed != 24*time.Millisecond || r.Hist.Count() != 16 || r.Hist.Mean() != 3*time.Millisecond {
			t.Errorf("%d loads (%d recorded, mean %v) in %v, want 16 of 3ms in 24ms", r.Ops, r.Hist.Count(), r.Hist.Mean(), r.Elapsed)
		}
		if got, want := r.Throughput(), 16/0.024; math.Abs(got-want) > 1e-9*want {
			t.Errorf("throughput %g, want %g", got, want)
		}
	})
}

// roomTarget is a Noop target that records the room it is asked for, on a
// space named key.
type roomTarget struct {
	Noop
	name, key string
	asked     *[]int
}

func (t roomTarget) Name() string { return t.name }

// SharesRoom: targets whose keys share a letter share their space ("" is
// none), so that "ab" joins "a" and "b", which alone share nothing.
func (t roomTarget) SharesRoom(o Target) bool {
	ot, ok := o.(roomTarget)
	return ok && strings.ContainsAny(t.key, ot.key)
}
func (t roomTarget) CheckRoom(_ context.Context, sessions int, _ []int, _ int) error {
	*t.asked = append(*t.asked, sessions)
	return nil
}

// TestRoomSharedByTargets: targets on one file system (two directories on
// it, or one directory given twice) hold their sessions there at once, so
// each is checked for all of them; checked one by one, each for its own,
// two could together fill it.
func TestRoomSharedByTargets(t *testing.T) {
	cfg := baseConfig()
	cfg.Workloads = []Workload{Load}
	cfg.Concurrency = []int{1}
	cfg.Rounds, cfg.Ops, cfg.Duration = 1, 1, 0
	s := cfg.Sessions
	for _, tt := range []struct {
		name string
		keys []string
		want []int // times s
	}{
		{"two of three", []string{"x", "x", "y", ""}, []int{2, 2, 1, 1}},
		// Sharing seen between some pairs only joins them all: the first
		// and the second share nothing but the third.
		{"through another", []string{"a", "b", "ab", "c"}, []int{3, 3, 3, 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var asked []int
			var ts []Target
			for i, k := range tt.keys {
				ts = append(ts, roomTarget{name: fmt.Sprint("t", i), key: k, asked: &asked})
			}
			if _, err := (&Runner{Config: cfg, Targets: ts}).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			var want []int
			for _, n := range tt.want {
				want = append(want, n*s)
			}
			if !slices.Equal(asked, want) {
				t.Errorf("room asked for %v sessions, want %v (targets of spaces %q)", asked, want, tt.keys)
			}
		})
	}
}

// A worker whose slice's time was up before the scheduler first ran it,
// as on a busy machine, still brings back one sample (unpaced), so that a
// short cell is never empty; a canceled run or a paced one does not.
func TestLateWorkerTakesOneSample(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name     string
		ctx      context.Context
		interval time.Duration
		want     uint64
	}{
		{"unpaced", context.Background(), 0, 1},
		{"canceled", canceled, 0, 0},
		{"paced", context.Background(), time.Hour, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stop atomic.Bool
			stop.Store(true)
			done := make(chan struct{})
			close(done)
			w := &worker{}
			op := func(context.Context, *worker) error { return nil }
			w.loop(c.ctx, op, &stop, done, nil, time.Now().Add(c.interval), c.interval, &timerPacer{})
			if w.ops != c.want {
				t.Errorf("a worker started after its time was up took %d samples, want %d", w.ops, c.want)
			}
		})
	}
}

// stopAfter counts its loads and ends the run's context at the n-th.
type stopAfter struct {
	Noop
	n      int64
	loads  atomic.Int64
	cancel context.CancelFunc
}

func (s *stopAfter) Load(context.Context, string) error {
	if s.loads.Add(1) == s.n {
		s.cancel()
	}
	return nil
}

// TestOpsNearTheLimit: --ops up to the largest int64 is each round's
// share, rounded up. The rounding added the rounds to the count first,
// which overflowed near the limit: the share went negative, and each
// round measured one operation per client (6 of --ops 9223372036854775807
// in 3 rounds of 2 clients) and reported that as the run.
func TestOpsNearTheLimit(t *testing.T) {
	for _, ops := range []int64{math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 / 2} {
		t.Run(fmt.Sprint(ops), func(t *testing.T) {
			cfg := baseConfig()
			cfg.Workloads = []Workload{Load}
			cfg.Rounds = 3
			cfg.Ops = ops
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			tg := &stopAfter{n: 1000, cancel: cancel}
			_, err := (&Runner{Config: cfg, Targets: []Target{tg}}).Run(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("--ops %d: the run ended after %d loads with %v, want it cut short at 1000 by its context", ops, tg.loads.Load(), err)
			}
		})
	}
}
