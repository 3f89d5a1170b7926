// Package report turns benchmark results into a table, JSON, CSV, an SVG
// chart and a one-paragraph verdict.
package report

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/internal/mountstats"
)

// Report is everything a run produced. Its JSON form is the --json output.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Config   Config    `json:"config"`
	Targets  []Target  `json:"targets"`
	Results  []Row     `json:"results"`
	// Failed lists the targets left out of the run when they failed
	// (every operation of a measurement failing, a server that stopped
	// answering): they are in neither Targets nor Results.
	Failed  []Failure `json:"failed,omitempty"`
	Verdict string    `json:"verdict"`
}

// Failure is a target left out of the run, and the error it failed with.
type Failure struct {
	Target
	Error string `json:"error"`
}

// Config echoes the settings of the run.
type Config struct {
	Workloads    []string `json:"workloads"`
	PayloadSizes []int    `json:"payload_sizes"`
	Concurrency  []int    `json:"concurrency"`
	Sessions     int      `json:"sessions"`
	HotSessions  int      `json:"hot_sessions"`
	WriteRatio   float64  `json:"write_ratio"`
	DurationSec  float64  `json:"duration_seconds,omitempty"`
	Ops          int64    `json:"ops,omitempty"`
	WarmupSec    float64  `json:"warmup_seconds"`
	Rounds       int      `json:"rounds"`
	Rate         float64  `json:"rate,omitempty"`
	Durability   string   `json:"durability"`
}

// Target names a target and says where it lives.
type Target struct {
	Name string `json:"name"`
	bench.Info
	// Temporary is set for the directory a run without --dir makes
	// (Location) and removes before it prints its report: the table and
	// the verdict name where it was made (see place), not a path that no
	// longer exists.
	Temporary bool `json:"temporary,omitempty"`
}

// place names where t's sessions were: its Location, or for a temporary
// directory the directory it was made in.
func (t Target) place() string {
	if t.Temporary {
		return "a temporary directory in " + filepath.Dir(t.Location) + ", removed after the run"
	}
	return t.Location
}

// Row is one target in one cell. Latencies are in nanoseconds, 0 when no
// operation succeeded. OpsPerSec is successful operations per second of
// measured time; with a Rate, the rate times the share of the operations
// the schedule called for that succeeded (see Build). Ratios compare the row with the first target's row
// for the same cell (so they are 1 for the first target); higher latency
// ratios mean slower; 0 means there is nothing to compare (a row without a
// successful operation). Behind is, with --rate, the operations the
// schedule called for that had not started when the measurement ended,
// the target still busy with earlier ones; they are in no latency.
type Row struct {
	Target       string  `json:"target"`
	Workload     string  `json:"workload"`
	PayloadBytes int     `json:"payload_bytes"`
	Concurrency  int     `json:"concurrency"`
	Ops          uint64  `json:"ops"`
	Errors       uint64  `json:"errors"`
	Behind       uint64  `json:"behind"`
	FirstError   string  `json:"first_error,omitempty"`
	Seconds      float64 `json:"seconds"`
	OpsPerSec    float64 `json:"ops_per_sec"`
	MinNS        int64   `json:"min_ns"`
	MeanNS       int64   `json:"mean_ns"`
	P50NS        int64   `json:"p50_ns"`
	P90NS        int64   `json:"p90_ns"`
	P99NS        int64   `json:"p99_ns"`
	P999NS       int64   `json:"p999_ns"`
	MaxNS        int64   `json:"max_ns"`
	P50Ratio     float64 `json:"p50_ratio"`
	P99Ratio     float64 `json:"p99_ratio"`
	OpsRatio     float64 `json:"ops_ratio"`
	// NFS holds RPCs per operation by group, on NFS targets only.
	NFS *NFS `json:"nfs_rpcs_per_op,omitempty"`
	// NFSOps holds RPCs per operation by the kernel's operation name
	// ("OPEN", "RENAME", "SEQUENCE", ...), every operation seen, on NFS
	// targets only. Unlike NFS it includes the lease renewals and
	// delegation returns that Total leaves out (mountstats.Excluded).
	NFSOps map[string]float64 `json:"nfs_ops_per_op,omitempty"`
}

// NFS is the NFS RPCs sent per measured operation, by kind. The groups add
// up to Total, which leaves out lease renewals (SEQUENCE, RENEW) and
// delegation returns (DELEGRETURN): they are sent on a timer or at the
// server's request, not because of the operation measured.
type NFS struct {
	Reads    float64 `json:"reads"`    // READ
	Writes   float64 `json:"writes"`   // WRITE, COMMIT
	Getattrs float64 `json:"getattrs"` // GETATTR
	Lookups  float64 `json:"lookups"`  // LOOKUP, LOOKUP_ROOT
	Opens    float64 `json:"opens"`    // OPEN, OPEN_NOATTR, OPEN_CONFIRM, CLOSE
	Locks    float64 `json:"locks"`    // LOCK, LOCKT, LOCKU
	// Other is every other counted operation: RENAME, SETATTR, REMOVE,
	// ACCESS, FREE_STATEID, ...
	Other float64 `json:"other"`
	Total float64 `json:"total"`
}

// Build assembles a report. Results must be in the runner's order: for each
// cell, one result per target in target order.
func Build(cfg Config, targets []Target, results []*bench.Result, started, finished time.Time) *Report {
	r := &Report{Started: started, Finished: finished, Config: cfg, Targets: targets}
	first := map[bench.Cell]*Row{}
	for _, res := range results {
		h := &res.Hist
		row := Row{
			Target: res.Target, Workload: string(res.Workload), PayloadBytes: res.Size, Concurrency: res.Concurrency,
			Ops: res.Ops, Errors: res.Errors, Behind: res.Behind, FirstError: res.FirstErr,
			Seconds: res.Elapsed.Seconds(), OpsPerSec: res.Throughput(),
			MinNS: int64(h.Min()), MeanNS: int64(h.Mean()),
			P50NS: int64(h.Quantile(0.50)), P90NS: int64(h.Quantile(0.90)), P99NS: int64(h.Quantile(0.99)),
			P999NS: int64(h.Quantile(0.999)), MaxNS: int64(h.Max()),
		}
		if n := row.scheduled(); cfg.Rate > 0 && n > 0 {
			// Paced, the successful share of what the schedule called
			// for, as "behind --rate" counts what was started: over the
			// wall time, which also holds the operations still in
			// flight when the schedule ended, a target that kept the
			// rate read as slower than it and than a faster one that
			// kept it too.
			row.OpsPerSec = cfg.Rate * float64(row.Ops) / float64(n)
		}
		if res.RPC != nil && res.Ops > 0 {
			row.NFS, row.NFSOps = perOp(res.RPC, res.Ops+res.Errors)
		}
		f, ok := first[res.Cell]
		if !ok {
			f = &row
		}
		row.P50Ratio = ratio(row.P50NS, f.P50NS)
		row.P99Ratio = ratio(row.P99NS, f.P99NS)
		row.OpsRatio = ratio(row.OpsPerSec, f.OpsPerSec)
		r.Results = append(r.Results, row)
		if !ok {
			first[res.Cell] = &r.Results[len(r.Results)-1]
		}
	}
	r.Verdict = Verdict(r)
	return r
}

// keptUp is the share of the operations the schedule called for that a
// row's clients must have started for the row to count as paced at --rate
// ("sessbench help run-report" gives it as 90%): a little below 1, so that a stall near
// the end of the measurement, whose queueing the latencies already charge,
// does not name a target that kept up until then.
const keptUp = 0.9

// scheduled returns the operations the --rate schedule called for during
// the row's measured time: those started, failed ones included, and those
// the target left waiting.
func (row *Row) scheduled() uint64 { return row.Ops + row.Errors + row.Behind }

// issued returns the operations per second the row's clients started at
// --rate rate, failed ones included: that rate times the share of the
// scheduled operations they started. Operations divided by the wall time
// would undercount a target that kept up, since the wall time also holds
// the operations still in flight when the schedule ended.
func (row *Row) issued(rate float64) float64 {
	n := row.scheduled()
	if n == 0 {
		return 0
	}
	return rate * float64(row.Ops+row.Errors) / float64(n)
}

// behindRate reports whether the row's target could not keep up with the
// paced rate (0: closed loop): its clients started too few of the
// operations the schedule called for. Its operations then queued behind
// each other for as long as the measurement ran, so its latencies measure
// a backlog that grows with the duration, not the latency at that rate.
// Long operations started on time are no sign of it.
func (row *Row) behindRate(rate float64) bool {
	return rate > 0 && row.Behind > 0 && float64(row.Ops+row.Errors) < keptUp*float64(row.scheduled())
}

// loop says how the clients sent their operations: "closed loop (back to
// back)", or "paced at 2000 ops/s, latency from intended start".
func (c *Config) loop() string {
	if c.Rate > 0 {
		return fmt.Sprintf("paced at %s ops/s, latency from intended start", formatRate(c.Rate))
	}
	return "closed loop (back to back)"
}

// formatRate prints a --rate as given: 1000000, not 1e+06.
func formatRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// perOp divides the RPC counts by the operations they were sent for: the
// groups, and every operation that was sent at all by name.
func perOp(c mountstats.Counts, ops uint64) (*NFS, map[string]float64) {
	n := float64(ops)
	g := func(label string) float64 { return float64(c.Group(label)) / n }
	byOp := map[string]float64{}
	for op, k := range c {
		if k > 0 {
			byOp[op] = float64(k) / n
		}
	}
	return &NFS{
		Reads: g("reads"), Writes: g("writes"), Getattrs: g("getattrs"), Lookups: g("lookups"),
		Opens: g("opens"), Locks: g("locks"), Other: g(mountstats.Other),
		Total: float64(c.Total()) / n,
	}, byOp
}

func ratio[T int64 | float64](a, b T) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// RoundDiv returns n/d rounded to the nearest whole number, an exact half
// up: the one rounding rule of sessbench's printed durations (run's
// FormatDuration, http's FormatNS). n >= 0, d > 0.
func RoundDiv(n, d int64) int64 {
	q, r := n/d, n%d
	if r >= d-r {
		q++
	}
	return q
}

// FormatDuration prints d with three significant digits in a unit that
// keeps the number between 1 and 1000: 800ns, 13.0µs, 1.50ms, 250ms, 2.00s.
// The value is rounded to three digits before the unit and the decimals
// are picked, so that a rounding that reaches the next power of ten takes
// its form: 999.6µs is 1.00ms, not "1000µs" (a thousand times its
// neighbour in a column at a glance), and 99.96ms is 100ms, not "100.0ms".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-max(d, -math.MaxInt64))
	}
	if d < time.Microsecond {
		return fmt.Sprintf("%dns", int64(d))
	}
	// p is the place of the third significant digit: d/p in [100, 1000).
	// Rounded on whole nanoseconds, not a float, so that every exact
	// half goes up.
	p := int64(1)
	for int64(d)/p >= 1000 {
		p *= 10
	}
	v := float64(RoundDiv(int64(d), p) * p)
	unit, div := "µs", 1e3
	switch {
	case v >= 1e9:
		unit, div = "s", 1e9
	case v >= 1e6:
		unit, div = "ms", 1e6
	}
	switch x := v / div; {
	case x >= 100:
		return fmt.Sprintf("%.0f%s", x, unit)
	case x >= 10:
		return fmt.Sprintf("%.1f%s", x, unit)
	default:
		return fmt.Sprintf("%.2f%s", x, unit)
	}
}
