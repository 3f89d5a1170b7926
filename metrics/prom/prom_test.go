package prom_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/storetest"
	"github.com/sessfs/sessfs/metrics/prom"
)

func TestCollectorLintAndCounts(t *testing.T) {
	storetest.Skip(t)
	obs := prom.New("app")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(obs); err != nil {
		t.Fatal(err)
	}
	st, id := observedStore(t, obs)
	ctx := context.Background()
	if _, err := st.Load(ctx, id); err != nil {
		t.Fatal(err)
	}
	st.CompareAndSwap(ctx, &fsstore.Session{ID: id, Version: 42}) // conflict

	problems, err := testutil.CollectAndLint(obs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("pedantic gather: %v", err)
	}
	want := `
# HELP app_sessfs_payload_bytes_total Session payload bytes loaded and saved.
# TYPE app_sessfs_payload_bytes_total counter
app_sessfs_payload_bytes_total{op="compare_and_swap"} 0
app_sessfs_payload_bytes_total{op="load"} 3
app_sessfs_payload_bytes_total{op="save"} 3
`
	if err := testutil.CollectAndCompare(obs, strings.NewReader(want), "app_sessfs_payload_bytes_total"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		op, outcome string
		want        float64
	}{
		{"load", "not_found", 1}, {"load", "ok", 1}, {"save", "ok", 1}, {"compare_and_swap", "conflict", 1}, {"delete", "ok", 0},
	} {
		ops := value(t, reg, "app_sessfs_operations_total", map[string]string{"op": c.op, "outcome": c.outcome})
		if ops != c.want {
			t.Errorf("operations_total{op=%q,outcome=%q} = %v, want %v", c.op, c.outcome, ops, c.want)
		}
	}
	obs.Observe(fsstore.Event{Op: fsstore.OpSweepRemove, Kind: fsstore.KindTemp, Duration: time.Millisecond})
	if n := testutil.CollectAndCount(obs, "app_sessfs_sweep_removed_files_total"); n != 3 {
		t.Errorf("sweep series = %d, want 3 (pre-created)", n)
	}
}

// value returns the value of one counter series gathered from reg.
func value(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// TestUnknownKeyOutcome: a live record under a retired key is counted
// under its own outcome label, so operators can alert on a key retired
// before every record was rekeyed.
func TestUnknownKeyOutcome(t *testing.T) {
	storetest.Skip(t)
	ctx := context.Background()
	dir := t.TempDir()
	k1, _ := fsstore.NewKey(1)
	k2, _ := fsstore.NewKey(2)
	old, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := fsstore.NewID()
	if err := old.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	old.Close()
	obs := prom.New("app")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(obs); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(dir, fsstore.WithKeys(k2), fsstore.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Load(ctx, id)
	for outcome, want := range map[string]float64{"unknown_key": 1, "corrupt": 0} {
		if got := value(t, reg, "app_sessfs_operations_total", map[string]string{"op": "load", "outcome": outcome}); got != want {
			t.Errorf("operations_total{op=load,outcome=%s} = %v, want %v", outcome, got, want)
		}
	}
}

// The outcomes of an unavailable store (its breaker's gauge: see
// TestBreakerGaugeCounts) are series of their own, pre-created with the
// others. A write given up on is counted once in operations_total, as its
// caller's unavailable; how it ended later (Event.Late) counts in
// late_writes_total alone, without a duration (it has none): counted in
// operations_total too, every write given up on in an outage counted twice
// in the operation rates.
func TestLateWritesCountedOnce(t *testing.T) {
	type count struct {
		metric, op, outcome string
		want                float64
	}
	for _, tc := range []struct {
		name   string
		events []fsstore.Event
		want   []count
	}{
		{"applied late", []fsstore.Event{
			{Op: fsstore.OpSave, Outcome: fsstore.OutcomeUnavailable, Duration: time.Second},
			{Op: fsstore.OpSave, Outcome: fsstore.OutcomeLate, Late: true},
		}, []count{
			{"sessfs_operations_total", "save", "unavailable", 1},
			{"sessfs_late_writes_total", "save", "applied", 1},
			{"sessfs_late_writes_total", "save", "lock_lost", 0},
		}},
		// Its lock found lost: the lost-lock alert watches this series
		// with the operations' own.
		{"lock lost late", []fsstore.Event{
			{Op: fsstore.OpTouch, Outcome: fsstore.OutcomeUnavailable, Duration: time.Second},
			{Op: fsstore.OpTouch, Outcome: fsstore.OutcomeLockLost, Late: true},
		}, []count{
			{"sessfs_operations_total", "touch", "unavailable", 1},
			{"sessfs_operations_total", "touch", "lock_lost", 0},
			{"sessfs_late_writes_total", "touch", "lock_lost", 1},
			{"sessfs_late_writes_total", "touch", "applied", 0},
		}},
		// Another failure's series appears when it happens.
		{"failed late", []fsstore.Event{
			{Op: fsstore.OpDelete, Outcome: fsstore.OutcomeUnavailable, Duration: time.Second},
			{Op: fsstore.OpDelete, Outcome: fsstore.OutcomeNoSpace, Late: true},
		}, []count{
			{"sessfs_operations_total", "delete", "unavailable", 1},
			{"sessfs_operations_total", "delete", "no_space", 0},
			{"sessfs_late_writes_total", "delete", "no_space", 1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := prom.New("")
			reg := prometheus.NewPedanticRegistry()
			if err := reg.Register(obs); err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.events {
				obs.Observe(e)
			}
			op := tc.events[0].Op.String()
			var total float64
			for _, m := range series(reg, "sessfs_operations_total", map[string]string{"op": op}) {
				total += m.GetCounter().GetValue()
			}
			if total != 1 {
				t.Errorf("operations_total{op=%q} sums to %v over its outcomes after one operation, want 1", op, total)
			}
			for _, c := range tc.want {
				if got := value(t, reg, c.metric, map[string]string{"op": c.op, "outcome": c.outcome}); got != c.want {
					t.Errorf("%s{op=%q,outcome=%q} = %v, want %v", c.metric, c.op, c.outcome, got, c.want)
				}
			}
			if n := histogramCount(reg, "sessfs_operation_duration_seconds", map[string]string{"op": op}); n != 1 {
				t.Errorf("%s durations observed: %d, want 1 (the late end has none)", op, n)
			}
		})
	}
}

// A TryLock that found the session's lock held counts as try_lock with
// outcome busy: not lock_timeout, as it did not wait, and lock_timeout is
// what the dashboard shows as lock waits that timed out; not lock_wait,
// whose latency quantiles alerts watch. The busy series exists from the
// start for try_lock only, the one op that has it.
func TestTryLockBusyOutcome(t *testing.T) {
	storetest.Skip(t)
	obs := prom.New("")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(obs); err != nil {
		t.Fatal(err)
	}
	const name = "sessfs_operations_total"
	var ops []string
	for _, m := range series(reg, name, map[string]string{"outcome": "busy"}) {
		for _, l := range m.GetLabel() {
			if l.GetName() == "op" {
				ops = append(ops, l.GetValue())
			}
		}
	}
	if len(ops) != 1 || ops[0] != "try_lock" {
		t.Errorf("busy series pre-created for ops %v, want try_lock only", ops)
	}
	// Nor does try_lock get series for what a lock attempt cannot end
	// with: it reads no record and does not wait.
	var outs []string
	for _, m := range series(reg, name, map[string]string{"op": "try_lock"}) {
		for _, l := range m.GetLabel() {
			if l.GetName() == "outcome" {
				outs = append(outs, l.GetValue())
			}
		}
	}
	slices.Sort(outs)
	if want := []string{"busy", "error", "invalid", "lock_lost", "no_space", "ok", "permission", "read_only_fs", "too_many_locks", "unavailable"}; !slices.Equal(outs, want) {
		t.Errorf("try_lock series pre-created for outcomes %v, want %v", outs, want)
	}
	st, id := observedStore(t, obs)
	held, err := st.Lock(context.Background(), id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	if _, err := st.TryLock(id, fsstore.Exclusive); err == nil {
		t.Fatal("TryLock of a held session succeeded")
	}
	for _, c := range []struct {
		op, out string
		want    float64
	}{
		{"try_lock", "busy", 1}, {"try_lock", "ok", 0},
		{"lock_wait", "lock_timeout", 0}, {"lock_wait", "ok", 1},
	} {
		if got := value(t, reg, name, map[string]string{"op": c.op, "outcome": c.out}); got != c.want {
			t.Errorf("%s{op=%s,outcome=%s} = %v, want %v", name, c.op, c.out, got, c.want)
		}
	}
}

// sessfs_breaker_open counts the stores whose breaker is open or probing.
// Stores sharing one Observer (one registry per process, several stores,
// or a store closed and reopened on a reload) add up: set from each
// report, one store's recovery or Close hid another's open breaker, and
// the alert on it. The changes between open and probing, which a store
// makes while its breaker stays open, do not count.
func TestBreakerGaugeCounts(t *testing.T) {
	var _ fsstore.BreakerObserver = prom.New("")
	const (
		closed  = fsstore.BreakerClosed
		open    = fsstore.BreakerOpen
		probing = fsstore.BreakerProbing
	)
	type change struct {
		store    string
		from, to fsstore.BreakerState
		want     float64 // after the change
	}
	for _, tc := range []struct {
		name    string
		changes []change
	}{
		{"one store", []change{
			{"a", closed, open, 1}, {"a", open, probing, 1}, {"a", probing, open, 1},
			{"a", open, probing, 1}, {"a", probing, closed, 0},
		}},
		{"the other's probe fails, then answers", []change{
			{"a", closed, open, 1}, {"b", closed, open, 2}, {"b", open, probing, 2},
			{"b", probing, open, 2}, {"b", open, probing, 2}, {"b", probing, closed, 1},
		}},
		{"the other is closed while open", []change{
			{"a", closed, open, 1}, {"b", closed, open, 2}, {"b", open, closed, 1},
			{"a", open, probing, 1},
		}},
		{"the other opens after one recovered", []change{
			{"a", closed, open, 1}, {"a", open, probing, 1}, {"b", closed, open, 2},
			{"a", probing, closed, 1}, {"b", open, probing, 1}, {"b", probing, closed, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := prom.New("")
			reg := prometheus.NewPedanticRegistry()
			if err := reg.Register(obs); err != nil {
				t.Fatal(err)
			}
			for i, c := range tc.changes {
				obs.ObserveBreaker(c.from, c.to)
				if got := gauge(t, reg, "sessfs_breaker_open"); got != c.want {
					t.Errorf("sessfs_breaker_open after change %d (store %s %v→%v) = %v, want %v", i+1, c.store, c.from, c.to, got, c.want)
				}
			}
		})
	}
}

// TestStateGauges: the stores' findings that are states are gauges. A
// count of refused writes stops rising once the host is drained, while the
// mount is still read-only; a count of failed keys reloads stops once the
// file was read, while it is still wrong. One store moves a gauge between
// 0 and 1; stores sharing the Observer add up, so that one store's
// clearing does not hide another's finding.
func TestStateGauges(t *testing.T) {
	for _, g := range []struct {
		metric  string
		observe func(*prom.Observer, bool)
	}{
		{"sessfs_read_only_fs", func(o *prom.Observer, on bool) {
			var _ fsstore.ReadOnlyFSObserver = o
			o.ObserveReadOnlyFS(on)
		}},
		{"sessfs_keys_file_unapplied", func(o *prom.Observer, on bool) {
			var _ fsstore.KeysFileObserver = o
			o.ObserveKeysFile(on)
		}},
		{"sessfs_newest_key_behind", func(o *prom.Observer, on bool) {
			var _ fsstore.NewestKeyObserver = o
			o.ObserveNewestKeyBehind(on)
		}},
	} {
		for _, tc := range []struct {
			name    string
			changes []bool
			want    []float64 // after each change
		}{
			{"one store", []bool{true, false, true, false}, []float64{1, 0, 1, 0}},
			{"two stores", []bool{true, true, false, false}, []float64{1, 2, 1, 0}},
		} {
			t.Run(g.metric+"/"+tc.name, func(t *testing.T) {
				obs := prom.New("")
				reg := prometheus.NewPedanticRegistry()
				if err := reg.Register(obs); err != nil {
					t.Fatal(err)
				}
				if got := gauge(t, reg, g.metric); got != 0 {
					t.Fatalf("%s = %v before any change, want 0", g.metric, got)
				}
				for i, on := range tc.changes {
					g.observe(obs, on)
					if got := gauge(t, reg, g.metric); got != tc.want[i] {
						t.Fatalf("%s after %v = %v, want %v", g.metric, tc.changes[:i+1], got, tc.want[i])
					}
				}
			})
		}
	}
}

// gauge returns the value of the gauge name, which has no labels.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	ms := series(reg, name, nil)
	if len(ms) != 1 || ms[0].GetGauge() == nil {
		t.Fatalf("%s: %d series, want one gauge", name, len(ms))
	}
	return ms[0].GetGauge().GetValue()
}

// histogramCount returns the observations of the histogram series of
// name whose labels include labels, added up.
func histogramCount(reg *prometheus.Registry, name string, labels map[string]string) uint64 {
	var n uint64
	for _, m := range series(reg, name, labels) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// series returns the series of name gathered from reg whose labels
// include labels.
func series(reg *prometheus.Registry, name string, labels map[string]string) []*dto.Metric {
	mfs, _ := reg.Gather()
	var out []*dto.Metric
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				out = append(out, m)
			}
		}
	}
	return out
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if want, ok := labels[l.GetName()]; ok {
			if want != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

// Latency is labelled with the outcome too: a failure's latency (a lock
// timeout's, an unavailable store's) differs from a success's. Only the
// "ok" histogram of each op exists before anything happened.
func TestLatencyByOutcome(t *testing.T) {
	storetest.Skip(t)
	obs := prom.New("")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(obs); err != nil {
		t.Fatal(err)
	}
	const name = "sessfs_operation_duration_seconds"
	for _, m := range series(reg, name, nil) {
		if !hasLabels(m, map[string]string{"outcome": "ok"}) {
			t.Errorf("pre-created histogram %v: want outcome ok only", m.GetLabel())
		}
	}
	observedStore(t, obs)
	for _, c := range []struct {
		op, outcome string
		want        uint64
	}{
		{"load", "not_found", 1}, {"load", "ok", 0}, {"save", "ok", 1}, {"save", "not_found", 0},
	} {
		if got := histogramCount(reg, name, map[string]string{"op": c.op, "outcome": c.outcome}); got != c.want {
			t.Errorf("%s{op=%q,outcome=%q} count %d, want %d", name, c.op, c.outcome, got, c.want)
		}
	}
	if n := len(series(reg, name, map[string]string{"outcome": "not_found"})); n != 1 {
		t.Errorf("%d not_found histograms, want 1 (load's, created when it happened)", n)
	}
}

// Every series New pre-creates moves when the store reports an event it
// can report: a pre-created series that never moves shows on dashboards
// as an operation that never happens when it cannot happen at all. The
// events are fsstore's contract: every op with every outcome, but sweep
// removals only with ok and a kind, late outcomes only for writes, and
// busy only for TryLock (TestTryLockBusyOutcome checks its others).
func TestEveryPreCreatedSeriesMoves(t *testing.T) {
	obs := prom.New("")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(obs); err != nil {
		t.Fatal(err)
	}
	before, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	writes := map[fsstore.Op]bool{fsstore.OpSave: true, fsstore.OpTouch: true, fsstore.OpDelete: true, fsstore.OpCompareAndSwap: true}
	for _, op := range fsstore.Ops() {
		if op == fsstore.OpSweepRemove {
			for _, k := range []fsstore.FileKind{fsstore.KindSession, fsstore.KindTemp, fsstore.KindLease} {
				obs.Observe(fsstore.Event{Op: op, Outcome: fsstore.OutcomeOK, Duration: time.Millisecond, Bytes: 10, Kind: k})
			}
			continue
		}
		for _, out := range fsstore.Outcomes() {
			if out == fsstore.OutcomeLate && !writes[op] || out == fsstore.OutcomeBusy && op != fsstore.OpTryLock {
				continue
			}
			obs.Observe(fsstore.Event{Op: op, Outcome: out, Duration: time.Millisecond, Bytes: 10, Published: out == fsstore.OutcomeOK && (op == fsstore.OpSave || op == fsstore.OpCompareAndSwap)})
			if writes[op] {
				obs.Observe(fsstore.Event{Op: op, Outcome: out, Late: true})
			}
		}
	}
	obs.ObserveBreaker(fsstore.BreakerClosed, fsstore.BreakerOpen)
	obs.ObserveReadOnlyFS(true)
	obs.ObserveKeysFile(true)
	obs.ObserveNewestKeyBehind(true)
	n := 0
	for _, mf := range before {
		for _, m := range mf.GetMetric() {
			n++
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			after := series(reg, mf.GetName(), labels)
			if len(after) != 1 {
				t.Fatalf("%s%v: %d series after the events", mf.GetName(), labels, len(after))
			}
			a := after[0]
			if a.GetCounter().GetValue() == 0 && a.GetGauge().GetValue() == 0 && a.GetHistogram().GetSampleCount() == 0 {
				t.Errorf("%s%v: pre-created, but no event moves it", mf.GetName(), labels)
			}
		}
	}
	if n == 0 {
		t.Fatal("no pre-created series")
	}
}

// observedStore opens a store reporting to obs in a new directory, and
// runs a Load that finds nothing and a Save of a new session (its ID).
func observedStore(t *testing.T, obs fsstore.Observer) (*fsstore.Store, string) {
	t.Helper()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	id, _ := fsstore.NewID()
	st.Load(ctx, id) // not found
	if err := st.Save(ctx, &fsstore.Session{ID: id, Data: []byte("abc")}); err != nil {
		t.Fatal(err)
	}
	return st, id
}

// TestPreCreatedOutcomesPerOp: New pre-creates a counter for exactly the
// outcomes an op can end with: none missing, so that an alert on
// increase() sees the first one, and none more, so that no dashboard shows
// a permanent 0 for what cannot happen. Every call is reported, an
// invalid one or one whose context had ended included. A Load takes no
// lock and writes nothing; a Save and a Delete read no record, and a
// Delete of a session that is gone succeeds; only a Save takes a lock
// besides its session's (the marker's, to raise the store's max idle);
// a Lock or a TryLock reads no record, and finds the stripe's lock lost
// in this process; a keys reload takes no lock, reads no record and has
// no context; only CompareAndSwap checks a version (ErrConflict).
func TestPreCreatedOutcomesPerOp(t *testing.T) {
	obs := prom.New("")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(obs); err != nil {
		t.Fatal(err)
	}
	all := []string{"conflict", "corrupt", "error", "invalid", "lock_lost", "lock_timeout", "no_space", "not_found",
		"ok", "permission", "read_only_fs", "too_many_locks", "unavailable", "unknown_key"}
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(drop, s) })
	}
	tests := []struct {
		op   string
		want []string
	}{
		{"load", without("conflict", "lock_lost", "too_many_locks", "no_space", "read_only_fs")},
		{"save", without("conflict", "not_found", "corrupt", "unknown_key")},
		{"touch", without("conflict", "too_many_locks")},
		{"delete", without("conflict", "not_found", "corrupt", "unknown_key", "too_many_locks")},
		{"compare_and_swap", slices.Clone(all)},
		{"lock_wait", []string{"error", "invalid", "lock_lost", "lock_timeout", "no_space", "ok", "permission", "read_only_fs", "too_many_locks", "unavailable"}},
		{"try_lock", []string{"busy", "error", "invalid", "lock_lost", "no_space", "ok", "permission", "read_only_fs", "too_many_locks", "unavailable"}},
		{"keys_reload", []string{"error", "no_space", "ok", "permission", "read_only_fs"}},
	}
	listed := map[string]bool{fsstore.OpSweepRemove.String(): true} // counted by kind
	for _, tt := range tests {
		listed[tt.op] = true
	}
	for _, op := range fsstore.Ops() {
		if !listed[op.String()] {
			t.Errorf("op %s has no outcomes listed here", op)
		}
	}
	for _, tt := range tests {
		var outs []string
		for _, m := range series(reg, "sessfs_operations_total", map[string]string{"op": tt.op}) {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					outs = append(outs, l.GetValue())
				}
			}
		}
		slices.Sort(outs)
		slices.Sort(tt.want)
		if !slices.Equal(outs, tt.want) {
			t.Errorf("%s: pre-created outcomes %v, want %v", tt.op, outs, tt.want)
		}
		// Only writes end late: applied, or with their lock found
		// lost, the file system full or a permission denied (which
		// alerts watch).
		var late []string
		for _, m := range series(reg, "sessfs_late_writes_total", map[string]string{"op": tt.op}) {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					late = append(late, l.GetValue())
				}
			}
		}
		slices.Sort(late)
		var wantLate []string
		switch tt.op {
		case "save", "touch", "delete", "compare_and_swap":
			wantLate = []string{"applied", "error", "lock_lost", "no_space", "permission"}
		}
		if !slices.Equal(late, wantLate) {
			t.Errorf("%s: pre-created late writes' outcomes %v, want %v", tt.op, late, wantLate)
		}
	}
}
