package prom_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/metrics/prom"
)

func TestCollectorLintAndCounts(t *testing.T) {
	obs := prom.New("app")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(obs); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(t.TempDir(), fsstore.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	id, _ := fsstore.NewID()
	st.Load(ctx, id) // not found
	if err := st.Save(ctx, &fsstore.Session{ID: id, Data: []byte("abc")}); err != nil {
		t.Fatal(err)
	}
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

// The breaker's state is a gauge, and the outcomes of an unavailable
// store are series of their own, pre-created with the others; a write
// applied late counts without a duration (it has none).
func TestBreakerAndUnavailable(t *testing.T) {
	obs := prom.New("")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(obs); err != nil {
		t.Fatal(err)
	}
	var _ fsstore.BreakerObserver = obs
	for _, tc := range []struct {
		state fsstore.BreakerState
		want  float64
	}{
		{fsstore.BreakerClosed, 0}, {fsstore.BreakerOpen, 1}, {fsstore.BreakerProbing, 1}, {fsstore.BreakerClosed, 0},
	} {
		obs.ObserveBreaker(tc.state)
		if got := testutil.ToFloat64(obs.BreakerGaugeForTest()); got != tc.want {
			t.Fatalf("sessfs_breaker_open after %v = %v, want %v", tc.state, got, tc.want)
		}
	}
	for _, out := range []string{"unavailable", "late"} {
		if v := value(t, reg, "sessfs_operations_total", map[string]string{"op": "save", "outcome": out}); v != 0 {
			t.Fatalf("pre-created %s = %v", out, v)
		}
	}
	obs.Observe(fsstore.Event{Op: fsstore.OpSave, Outcome: fsstore.OutcomeUnavailable, Duration: time.Second})
	obs.Observe(fsstore.Event{Op: fsstore.OpSave, Outcome: fsstore.OutcomeLate})
	for _, out := range []string{"unavailable", "late"} {
		if v := value(t, reg, "sessfs_operations_total", map[string]string{"op": "save", "outcome": out}); v != 1 {
			t.Fatalf("operations_total{outcome=%q} = %v, want 1", out, v)
		}
	}
	if n := histogramCount(t, reg, "sessfs_operation_duration_seconds", "save"); n != 1 {
		t.Fatalf("save durations observed: %d, want 1 (the late write has none)", n)
	}
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name, op string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == op {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no %s{op=%q}", name, op)
	return 0
}
