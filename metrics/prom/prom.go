// Package prom exposes a sessfs store's operations as Prometheus metrics.
// It lives apart from fsstore so that the store does not depend on
// Prometheus.
//
//	obs := prom.New("myapp")
//	prometheus.MustRegister(obs)
//	st, err := fsstore.Open(dir, fsstore.WithObserver(obs))
//
// Labels carry only the operation, its outcome and the kind of swept file:
// never a session ID or anything derived from one.
package prom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessfs/sessfs/fsstore"
)

// Observer is an fsstore.Observer (a BreakerObserver too) and a
// prometheus.Collector.
type Observer struct {
	ops      *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	swept    *prometheus.CounterVec
	breaker  prometheus.Gauge
}

// New returns an Observer whose metrics are prefixed with namespace (may be
// empty) and "sessfs_".
func New(namespace string) *Observer {
	o := &Observer{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "operations_total",
			Help: "Store operations by operation and outcome (lock_wait timeouts, conflicts, corrupt records and lost locks included).",
		}, []string{"op", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "operation_duration_seconds",
			Help: "Latency of store operations; for lock_wait, the time spent waiting for the session lock.",
			// 50µs (local disk) to ~5s (lock waits on a busy NFS mount).
			Buckets: prometheus.ExponentialBuckets(50e-6, 2.5, 13),
		}, []string{"op"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "payload_bytes_total",
			Help: "Session payload bytes loaded and saved.",
		}, []string{"op"}),
		swept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "sweep_removed_files_total",
			Help: "Files removed by sweeps, by kind (session, temp, lease).",
		}, []string{"kind"}),
		breaker: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "breaker_open",
			Help: "1 while the store's circuit breaker is open (the filesystem stopped answering; operations fail fast with outcome unavailable), 0 otherwise.",
		}),
	}
	// Pre-create every series so that dashboards and alerts see zeros
	// rather than absent metrics.
	for _, op := range fsstore.Ops() {
		for _, out := range fsstore.Outcomes() {
			o.ops.WithLabelValues(op.String(), out.String())
		}
		o.duration.WithLabelValues(op.String())
	}
	o.bytes.WithLabelValues(fsstore.OpLoad.String())
	o.bytes.WithLabelValues(fsstore.OpSave.String())
	for _, k := range []fsstore.FileKind{fsstore.KindSession, fsstore.KindTemp, fsstore.KindLease} {
		o.swept.WithLabelValues(k.String())
	}
	return o
}

// Observe implements fsstore.Observer.
func (o *Observer) Observe(e fsstore.Event) {
	op := e.Op.String()
	if e.Op == fsstore.OpSweepRemove {
		o.swept.WithLabelValues(e.Kind.String()).Inc()
		return
	}
	o.ops.WithLabelValues(op, e.Outcome.String()).Inc()
	if e.Outcome == fsstore.OutcomeLate {
		return // reported when a write given up on completes: no duration
	}
	o.duration.WithLabelValues(op).Observe(e.Duration.Seconds())
	if e.Bytes > 0 && (e.Op == fsstore.OpLoad || e.Op == fsstore.OpSave) && e.Outcome == fsstore.OutcomeOK {
		o.bytes.WithLabelValues(op).Add(float64(e.Bytes))
	}
}

// ObserveBreaker implements fsstore.BreakerObserver: sessfs_breaker_open
// is 1 while the breaker is open or probing.
func (o *Observer) ObserveBreaker(s fsstore.BreakerState) {
	if s == fsstore.BreakerClosed {
		o.breaker.Set(0)
	} else {
		o.breaker.Set(1)
	}
}

// Describe implements prometheus.Collector.
func (o *Observer) Describe(ch chan<- *prometheus.Desc) {
	o.ops.Describe(ch)
	o.duration.Describe(ch)
	o.bytes.Describe(ch)
	o.swept.Describe(ch)
	o.breaker.Describe(ch)
}

// Collect implements prometheus.Collector.
func (o *Observer) Collect(ch chan<- prometheus.Metric) {
	o.ops.Collect(ch)
	o.duration.Collect(ch)
	o.bytes.Collect(ch)
	o.swept.Collect(ch)
	o.breaker.Collect(ch)
}
