// Package prom exposes a sessfs store's operations as Prometheus metrics.
// It lives apart from fsstore so that the store does not depend on
// Prometheus.
//
//	obs := prom.New("")
//	prometheus.MustRegister(obs)
//	st, err := fsstore.Open(dir, fsstore.WithObserver(obs))
//
// The empty namespace names the metrics sessfs_*, as the alerting rules and
// the Grafana dashboard in the repository's deploy/ directory expect; with
// a namespace, they are <namespace>_sessfs_* and those files need the same
// prefix (docs/operator-guide.md, "6. Monitor it").
//
// Labels carry only the operation, its outcome and the kind of swept file:
// never a session ID or anything derived from one.
//
// Every series New pre-creates can move: a series that is always 0 would
// show on a dashboard as an operation that never happens when it cannot
// happen at all.
package prom

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessfs/sessfs/fsstore"
)

// Observer is an fsstore.Observer (a BreakerObserver, a
// ReadOnlyFSObserver, a KeysFileObserver and a NewestKeyObserver too) and a
// prometheus.Collector. Several stores may
// share one: its gauges count the stores in each state.
//
// Make one per registry and give it to every store of the process, a store
// opened again after Close included: a second Observer with the same
// namespace has the same metrics, and registering it fails with
// prometheus.AlreadyRegisteredError (prometheus.MustRegister panics). To
// tell stores apart, give each one an Observer of its own, registered
// through prometheus.WrapRegistererWith with a label naming the store
// (see Example_twoStores).
type Observer struct {
	ops      *prometheus.CounterVec
	late     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	written  *prometheus.CounterVec
	swept    *prometheus.CounterVec
	breaker  prometheus.Gauge
	readOnly prometheus.Gauge
	keysFile prometheus.Gauge
	behind   prometheus.Gauge
}

// New returns an Observer whose metrics are prefixed with namespace (may be
// empty) and "sessfs_".
//
// Its counters start with a series, at zero, for every op and outcome the
// store can report, so that alerts on increase() see the first failure.
// The latency histogram (operation_duration_seconds) is labelled by op and
// outcome too, but each of its series is 22 (19 buckets, +Inf, sum and
// count):
// only each op's "ok" series exists from the start, and a failed
// outcome's appears when it first happens, which keeps the series count
// near one histogram per op in a healthy process.
func New(namespace string) *Observer {
	o := &Observer{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "operations_total",
			Help: "Store operations by operation and outcome (lock_wait timeouts, try_lock attempts that found the lock held (busy), conflicts, corrupt records and lost locks included).",
		}, []string{"op", "outcome"}),
		late: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "late_writes_total",
			Help: "Writes that ended after their caller was told the store is unavailable (counted then in operations_total, outcome unavailable), by operation and how they ended: applied, lock_lost, or another failure's outcome.",
		}, []string{"op", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "operation_duration_seconds",
			Help: "Latency of store operations by operation and outcome; for lock_wait, the time spent waiting for the session lock.",
			// 3.2µs to 47s. An operation on local disk takes a few
			// µs (docs/benchmarks.md): below the lowest bucket, every
			// one would land in it and its quantiles be interpolated
			// from 0. The top is above the store's operation ceiling
			// (fsstore.DefaultOpTimeout, 10s) and httpsession's lock
			// timeout (30s), which bound the slowest operations and
			// lock waits: a histogram whose top bucket is below them
			// reports every slower one as its top bucket's bound. The
			// buckets from 50µs up are those of earlier versions,
			// exactly, so that their le labels carry on.
			Buckets: append([]float64{3.2e-6, 8e-6, 20e-6}, prometheus.ExponentialBuckets(50e-6, 2.5, 16)...),
		}, []string{"op", "outcome"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "payload_bytes_total",
			Help: "Session payload bytes loaded and saved.",
		}, []string{"op"}),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "published_writes_total",
			Help: "Writes (save, compare_and_swap) that published their record, whose payloads payload_bytes_total adds: those that succeeded, in time or late, and those in doubt after it; payload_bytes_total over this is the mean record payload written.",
		}, []string{"op"}),
		swept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "sweep_removed_files_total",
			Help: "Files removed by sweeps, by kind (session, temp, lease).",
		}, []string{"kind"}),
		breaker: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "breaker_open",
			Help: "1 while the store's circuit breaker is open or probing (the filesystem stopped answering; operations fail fast with outcome unavailable), 0 otherwise; with several stores sharing this Observer, the number of them whose breaker is.",
		}),
		readOnly: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "read_only_fs",
			Help: "1 while the store finds its file system read-only on this host (a write failed with EROFS and no write, Store.Health's test write or another, has succeeded since; Health fails meanwhile), 0 otherwise; with several stores sharing this Observer, the number of them that do.",
		}),
		keysFile: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "keys_file_unapplied",
			Help: "1 while the store's keys file (fsstore.WithKeysFile) holds a change that was not applied (unreadable, refused, invalid, or its new keys' check failing; the keys in use are the ones applied before), 0 once a read of it is applied; with several stores sharing this Observer, the number of them whose file is.",
		}),
		behind: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "sessfs", Name: "newest_key_behind",
			Help: "1 while the store's newest key, the one it seals new sessions with, became newest before another key it holds, by the order the hosts record in the store (another host rotated to that key: this host's key set is stale; or the rotation was reverted on purpose), 0 otherwise; with several stores sharing this Observer, the number of them whose key is.",
		}),
	}
	// Pre-create the counters alerts use, so that increase() sees the
	// first failure as a step from 0 rather than a new series, and
	// dashboards see zeros rather than absent metrics. Each histogram
	// series is 22 series (19 buckets, +Inf, sum and count): only the "ok" one
	// of each op is pre-created, so that an op's failures, which each
	// have one outcome in practice, cost series only once they happen.
	// Sweep removals are counted by kind in sweep_removed_files_total
	// (see Observe), and each op has a series for the outcomes it can end
	// with, and only for those (see opOutcomes).
	for _, op := range fsstore.Ops() {
		if op == fsstore.OpSweepRemove {
			continue
		}
		for _, out := range fsstore.Outcomes() {
			if reported(op, out) && out != fsstore.OutcomeLate {
				o.ops.WithLabelValues(op.String(), out.String())
			}
		}
		o.duration.WithLabelValues(op.String(), fsstore.OutcomeOK.String())
		if reported(op, fsstore.OutcomeLate) {
			// The late ends alerts watch (lock_lost, no_space,
			// permission and error, with the operations' own) and the
			// one an outage makes.
			o.late.WithLabelValues(op.String(), lateApplied)
			for _, out := range []fsstore.Outcome{fsstore.OutcomeLockLost, fsstore.OutcomeNoSpace, fsstore.OutcomePermission, fsstore.OutcomeError} {
				if reported(op, out) {
					o.late.WithLabelValues(op.String(), out.String())
				}
			}
		}
	}
	for _, op := range payloadOps {
		o.bytes.WithLabelValues(op.String())
		if op != fsstore.OpLoad {
			o.written.WithLabelValues(op.String())
		}
	}
	for _, k := range []fsstore.FileKind{fsstore.KindSession, fsstore.KindTemp, fsstore.KindLease} {
		o.swept.WithLabelValues(k.String())
	}
	return o
}

// reported reports whether the store can report op with out: the
// outcomes listed for op below.
func reported(op fsstore.Op, out fsstore.Outcome) bool {
	return opOutcomes[op][out]
}

// outcomes returns the set of outs.
func outcomes(outs ...fsstore.Outcome) map[fsstore.Outcome]bool {
	m := make(map[fsstore.Outcome]bool, len(outs))
	for _, o := range outs {
		m[o] = true
	}
	return m
}

// opOutcomes are the outcomes each op can end with, so that New pre-creates
// those and only those. Every call reports one, those refused before they
// reach the file system included: an invalid ID or a call that should not
// have been made (invalid), a context that had ended (lock_timeout), a
// closed store (error). Beyond those:
//
//   - load reads a record: not found, corrupt, under an unknown key,
//     permission, a store that does not answer. It takes no lock and writes
//     nothing (no lock_lost, too_many_locks, no_space, read_only_fs).
//   - save writes one: full, read-only, permission, its session's lock
//     lost (Locked.Save), and the lock of the marker when its idle timeout
//     raises the store's (too_many_locks, and its wait: lock_timeout). It
//     reads no record (no not_found, corrupt, unknown_key).
//   - touch reads the record's header and sets its times: a save's outcomes
//     but the marker's lock, and a load's.
//   - delete unlinks, whatever is there (a session already gone is ok):
//     read-only, permission, full (a copy-on-write file system may need
//     room to unlink), its session's lock lost (Locked.Delete).
//   - compare_and_swap is a locked load and save, and the only op with a
//     version check (conflict).
//   - only the writes complete late, after their caller was told the
//     store is unavailable; they count in late_writes_total, not here
//     (opOutcomes lists late for them all the same, as fsstore's contract:
//     New reads it for the late series it pre-creates).
//   - lock_wait (Lock) and try_lock (TryLock) read no record: taken, its
//     wait ended (for TryLock, found held: busy), its stripe's lock found
//     lost in this process (which both report, as a holder that wants to
//     publish work must), the cap of held locks, a store that does not
//     answer, the lock file's creation or the OS lock failing.
//   - keys_reload (WithKeysFile) is applied, or refused with the file's or
//     the key check files' error. It takes no lock, reads no record, has
//     no context and is not bounded, and a keys file that is missing is an
//     error, not a session not found.
var opOutcomes = func() map[fsstore.Op]map[fsstore.Outcome]bool {
	const (
		ok, notFound, conflict, corrupt  = fsstore.OutcomeOK, fsstore.OutcomeNotFound, fsstore.OutcomeConflict, fsstore.OutcomeCorrupt
		lockTimeout, lockLost, invalid   = fsstore.OutcomeLockTimeout, fsstore.OutcomeLockLost, fsstore.OutcomeInvalid
		errOut, unknownKey, tooManyLocks = fsstore.OutcomeError, fsstore.OutcomeUnknownKey, fsstore.OutcomeTooManyLocks
		noSpace, readOnlyFS, permission  = fsstore.OutcomeNoSpace, fsstore.OutcomeReadOnlyFS, fsstore.OutcomePermission
		unavailable, late, busy          = fsstore.OutcomeUnavailable, fsstore.OutcomeLate, fsstore.OutcomeBusy
	)
	// Those of every call that a store on a file system may run.
	every := []fsstore.Outcome{ok, invalid, lockTimeout, unavailable, permission, errOut}
	read := []fsstore.Outcome{notFound, corrupt, unknownKey}
	writes := []fsstore.Outcome{noSpace, readOnlyFS, lockLost, late}
	lockAttempt := []fsstore.Outcome{ok, invalid, unavailable, lockLost, tooManyLocks, noSpace, readOnlyFS, permission, errOut}
	cat := func(sets ...[]fsstore.Outcome) []fsstore.Outcome {
		var all []fsstore.Outcome
		for _, s := range sets {
			all = append(all, s...)
		}
		return all
	}
	return map[fsstore.Op]map[fsstore.Outcome]bool{
		fsstore.OpLoad:           outcomes(cat(every, read)...),
		fsstore.OpSave:           outcomes(cat(every, writes, []fsstore.Outcome{tooManyLocks})...),
		fsstore.OpTouch:          outcomes(cat(every, read, writes)...),
		fsstore.OpDelete:         outcomes(cat(every, writes)...),
		fsstore.OpCompareAndSwap: outcomes(cat(every, read, writes, []fsstore.Outcome{tooManyLocks, conflict})...),
		fsstore.OpLockWait:       outcomes(cat(lockAttempt, []fsstore.Outcome{lockTimeout})...),
		fsstore.OpTryLock:        outcomes(cat(lockAttempt, []fsstore.Outcome{busy})...),
		fsstore.OpKeysReload:     outcomes(ok, permission, noSpace, readOnlyFS, errOut),
	}
}()

// lateApplied is late_writes_total's outcome for a write applied late
// (fsstore.OutcomeLate).
const lateApplied = "applied"

// Observe implements fsstore.Observer. A sweep removal counts in
// sweep_removed_files_total only: it is no request, and its file's size
// is no payload. A write's late end (Event.Late) counts in
// late_writes_total, not in operations_total: the operation was counted
// there when its caller was told the store is unavailable, and counted
// there again, every write given up on in an outage counted twice in the
// rates that alerts and dashboards divide by. It has no duration either.
// payload_bytes_total adds an event's Bytes whatever its outcome: the
// store reports a write's payload once, in the event of the write's end
// that knows it published its record (see fsstore.Event.Bytes), so a
// save in doubt after its directory's fsync failed counts its payload
// whether it ended in time or late, and one that wrote nothing counts
// none.
func (o *Observer) Observe(e fsstore.Event) {
	op, out := e.Op.String(), e.Outcome.String()
	switch {
	case e.Op == fsstore.OpSweepRemove:
		o.swept.WithLabelValues(e.Kind.String()).Inc()
		return
	case e.Late || e.Outcome == fsstore.OutcomeLate:
		if e.Outcome == fsstore.OutcomeLate {
			out = lateApplied
		}
		o.late.WithLabelValues(op, out).Inc()
		o.countBytes(e)
		return
	}
	o.ops.WithLabelValues(op, out).Inc()
	o.duration.WithLabelValues(op, out).Observe(e.Duration.Seconds())
	o.countBytes(e)
}

// countBytes adds the payload e read or wrote to payload_bytes_total, and
// a write that published its record to published_writes_total.
func (o *Observer) countBytes(e fsstore.Event) {
	if e.Bytes > 0 && slices.Contains(payloadOps, e.Op) {
		o.bytes.WithLabelValues(e.Op.String()).Add(float64(e.Bytes))
	}
	if e.Published && slices.Contains(payloadOps, e.Op) {
		o.written.WithLabelValues(e.Op.String()).Inc()
	}
}

// payloadOps are the ops that read or write a session's payload, each
// with a series in payload_bytes_total: a compare_and_swap (httpsession's
// Optimistic commits) writes one as a save does, and a store written in
// that mode would otherwise show nothing saved.
var payloadOps = []fsstore.Op{fsstore.OpLoad, fsstore.OpSave, fsstore.OpCompareAndSwap}

// ObserveBreaker implements fsstore.BreakerObserver:
// sessfs_breaker_open is 1 while the store's breaker is open or probing.
// It counts rather than being set, so that stores sharing one Observer add
// up: set, one store's recovery or Close would hide another's open
// breaker. It counts the changes that cross between closed and the other
// two states, and not those between open and probing, which a store makes
// while its breaker stays open (a probe starts, fails or is given up on).
// A store reports each change once, in order, and an open breaker as
// closed when it is closed, so the count cannot drift, nor keep a store
// that was closed (a reload) for good.
func (o *Observer) ObserveBreaker(from, to fsstore.BreakerState) {
	wasOpen, open := from != fsstore.BreakerClosed, to != fsstore.BreakerClosed
	switch {
	case open && !wasOpen:
		o.breaker.Inc()
	case wasOpen && !open:
		o.breaker.Dec()
	}
}

// ObserveReadOnlyFS implements fsstore.ReadOnlyFSObserver:
// sessfs_read_only_fs is 1 while the store finds its file system read-only
// on this host. It counts rather than being set, so that stores sharing
// one Observer add up: set, one store's clearing would hide another's
// finding. A store reports each change once, in order, and the end of
// its finding when it is closed, so the count cannot drift, nor keep a
// store that was closed (a reload) for good.
func (o *Observer) ObserveReadOnlyFS(readOnly bool) {
	if readOnly {
		o.readOnly.Inc()
	} else {
		o.readOnly.Dec()
	}
}

// ObserveKeysFile implements fsstore.KeysFileObserver:
// sessfs_keys_file_unapplied is 1 while the store's keys file holds a
// change that was not applied. A failed reload counts once in
// operations_total, when it is first seen, and a file left as it is adds
// nothing: an alert on that count resolves while the keys in use still
// differ from the file, and this holds until a read of the file is
// applied. It counts, as ObserveReadOnlyFS does, so that stores sharing
// one Observer add up; a store reports each change once, in order, and
// the end of the state when it is closed.
func (o *Observer) ObserveKeysFile(unapplied bool) {
	if unapplied {
		o.keysFile.Inc()
	} else {
		o.keysFile.Dec()
	}
}

// ObserveNewestKeyBehind implements fsstore.NewestKeyObserver:
// sessfs_newest_key_behind is 1 while the store seals new sessions under a
// key that another host has rotated away from (see
// fsstore.Store.NewestKeyBehind). It counts, as ObserveKeysFile does, so
// that stores sharing one Observer add up.
func (o *Observer) ObserveNewestKeyBehind(behind bool) {
	if behind {
		o.behind.Inc()
	} else {
		o.behind.Dec()
	}
}

// Describe implements prometheus.Collector.
func (o *Observer) Describe(ch chan<- *prometheus.Desc) {
	o.ops.Describe(ch)
	o.late.Describe(ch)
	o.duration.Describe(ch)
	o.bytes.Describe(ch)
	o.written.Describe(ch)
	o.swept.Describe(ch)
	o.breaker.Describe(ch)
	o.readOnly.Describe(ch)
	o.keysFile.Describe(ch)
	o.behind.Describe(ch)
}

// Collect implements prometheus.Collector.
func (o *Observer) Collect(ch chan<- prometheus.Metric) {
	o.ops.Collect(ch)
	o.late.Collect(ch)
	o.duration.Collect(ch)
	o.bytes.Collect(ch)
	o.written.Collect(ch)
	o.swept.Collect(ch)
	o.breaker.Collect(ch)
	o.readOnly.Collect(ch)
	o.keysFile.Collect(ch)
	o.behind.Collect(ch)
}
