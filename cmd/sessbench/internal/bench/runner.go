package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bytesize"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/hist"
	"github.com/sessfs/sessfs/internal/mountstats"
)

// Workload names what each operation of a measurement does.
type Workload string

// The workloads.
const (
	// Cycle is a full request: lock, load, save, unlock.
	Cycle Workload = "cycle"
	// Load reads a session.
	Load Workload = "load"
	// Save writes a session.
	Save Workload = "save"
	// Touch extends a session's expiry.
	Touch Workload = "touch"
	// Mixed is a read/write mix: a fraction Config.WriteRatio of requests
	// are full cycles, the rest loads.
	Mixed Workload = "mixed"
	// Hot is the contention case: every client runs full cycles on the same
	// Config.HotSessions sessions.
	Hot Workload = "hot"
)

// Workloads lists all workloads in their report order.
var Workloads = []Workload{Cycle, Load, Save, Touch, Mixed, Hot}

// ErrAllFailed is in the error of a target whose every operation of a
// measurement (of one of its rounds) failed: a broken target, not a
// measurement. The error also wraps the first operation's.
var ErrAllFailed = errors.New("every operation failed")

// ErrNoAnswer is in the error of an operation whose target did not answer
// within its deadline: a server that has stopped answering (hung, stopped,
// or a network that drops its packets). The runner stops measuring that
// target at the first, as it would otherwise wait out the deadline for
// every operation left, one after another: with --ops, for hours. Targets
// mark such an error with NoAnswer.
var ErrNoAnswer = errors.New("no answer")

// NoAnswer marks err, which says what was not answered, as ErrNoAnswer's
// (errors.Is), leaving its text as it is.
func NoAnswer(err error) error { return noAnswer{err} }

type noAnswer struct{ error }

func (e noAnswer) Unwrap() error      { return e.error }
func (noAnswer) Is(target error) bool { return target == ErrNoAnswer }

// Describe returns a short human description of the workload.
func (w Workload) Describe() string {
	switch w {
	case Cycle:
		return "full request cycle (lock, load, save, unlock)"
	case Load:
		return "load"
	case Save:
		return "save"
	case Touch:
		return "touch"
	case Mixed:
		return "read/write mix"
	case Hot:
		return "hot-session request cycle"
	}
	return string(w)
}

// ParseWorkload returns the workload named s.
func ParseWorkload(s string) (Workload, error) {
	for _, w := range Workloads {
		if string(w) == s {
			return w, nil
		}
	}
	return "", fmt.Errorf("unknown workload %q (want one of cycle, load, save, touch, mixed, hot)", s)
}

// Config is what to measure. Every target runs every cell.
type Config struct {
	Workloads   []Workload
	Sizes       []int // payload bytes
	Concurrency []int // concurrent clients
	Sessions    int   // distinct sessions per payload size
	HotSessions int   // sessions shared by all clients in the Hot workload
	WriteRatio  float64
	// Duration is the measured time per target and cell, summed over rounds.
	// Ignored when Ops > 0.
	Duration time.Duration
	// Ops is the measured operation count per target and cell, summed over
	// rounds; 0 means use Duration. Each round does its share, rounded up
	// and at least one per client, and its clients take operations from
	// that share as they go, so that all of them are busy until it is done.
	Ops int64
	// Warmup runs, unrecorded, before each target's first slice of a cell.
	Warmup time.Duration
	// Rounds splits each measurement into this many slices, interleaved
	// across targets (A B A B ...) so that drift hits all targets alike.
	Rounds int
	// Rate is the total intended operations per second per cell (0: closed
	// loop, each client starts its next operation as soon as the last ends).
	// With a rate, latency is measured from each operation's intended start
	// time, so a stall is charged to every operation it delayed
	// (coordinated omission), but the pacing timer's lateness is not (see
	// worker.loop).
	Rate float64
}

// MaxSessions is the most sessions per payload size a run creates. Their
// IDs are made before anything is measured, 64 bytes each in memory (640
// MB at the limit), and written to each target at every size.
const MaxSessions = 10_000_000

// PopulateClients is how many clients write a target's sessions at once
// before the run: with --concurrency 1, still more than one connection to
// a Redis target.
const PopulateClients = 16

// MaxConcurrency is the most clients a measurement runs at once: each is
// a goroutine, and on a Redis target a connection of its own.
const MaxConcurrency = 100_000

// Validate reports the first nonsensical setting.
func (c *Config) Validate() error {
	switch {
	case len(c.Workloads) == 0:
		return errors.New("no workloads")
	case len(c.Sizes) == 0:
		return errors.New("no payload sizes")
	case len(c.Concurrency) == 0:
		return errors.New("no concurrency levels")
	case c.Sessions < 1 || c.Sessions > MaxSessions:
		return fmt.Errorf("--sessions %d: need 1..%d", c.Sessions, MaxSessions)
	case c.HotSessions < 1 || c.HotSessions > c.Sessions:
		return fmt.Errorf("--hot-sessions %d: need 1..--sessions (%d)", c.HotSessions, c.Sessions)
	case !(c.WriteRatio >= 0 && c.WriteRatio <= 1): // NaN too
		return fmt.Errorf("--write-ratio %g outside 0..1", c.WriteRatio)
	case c.Ops < 0:
		return fmt.Errorf("--ops %d is negative", c.Ops)
	case c.Ops == 0 && c.Duration <= 0:
		return fmt.Errorf("--duration %v: must be positive", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("--warmup %v is negative", c.Warmup)
	case c.Rounds < 1:
		return fmt.Errorf("--rounds %d: need at least 1", c.Rounds)
	case c.Ops == 0 && c.Duration/time.Duration(c.Rounds) <= 0:
		// A round of no time would run with no end.
		return fmt.Errorf("--duration %v: less than 1ns per round (%d rounds)", c.Duration, c.Rounds)
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("--rate %g: want 0 (closed loop) or a finite rate", c.Rate)
	}
	for i, s := range c.Sizes {
		if s < 0 || s > 64<<20 {
			return fmt.Errorf("payload size %d outside 0..64MiB", s)
		}
		if slices.Contains(c.Sizes[:i], s) {
			return fmt.Errorf("payload size %d given twice", s)
		}
	}
	for i, n := range c.Concurrency {
		if n < 1 || n > MaxConcurrency {
			return fmt.Errorf("--concurrency %d outside 1..%d", n, MaxConcurrency)
		}
		if slices.Contains(c.Concurrency[:i], n) {
			return fmt.Errorf("concurrency %d given twice", n)
		}
	}
	// A repeated value would make two results for one cell, which the
	// report cannot tell apart.
	for i, w := range c.Workloads {
		if slices.Contains(c.Workloads[:i], w) {
			return fmt.Errorf("workload %s given twice", w)
		}
	}
	return nil
}

// roundShare is each of rounds rounds' share of ops operations, rounded
// up. Worked out without adding rounds to ops first, which overflowed
// near the largest int64 and made the share negative.
func roundShare(ops int64, rounds int) int64 {
	n := int64(rounds)
	share := ops / n
	if ops%n != 0 {
		share++
	}
	return share
}

// Cell is one measurement point.
type Cell struct {
	Workload    Workload
	Size        int
	Concurrency int
}

// Cells returns the cells of c in report order.
func (c *Config) Cells() []Cell {
	var cells []Cell
	for _, w := range c.Workloads {
		for _, s := range c.Sizes {
			for _, n := range c.Concurrency {
				cells = append(cells, Cell{w, s, n})
			}
		}
	}
	return cells
}

// PlannedLength returns how long measuring targets targets is planned to
// take: each target's warm-up and Duration in every cell (Duration is per
// target and cell over all rounds; the warm-up runs once per target and
// cell). It leaves out what the plan cannot know: creating the sessions
// before the first measurement, and an operation still running when its
// slice's time is up. It returns 0 for a count-based run (Ops > 0), whose
// length depends on how fast the targets are, and saturates at the
// longest time.Duration rather than overflow.
func (c *Config) PlannedLength(targets int) time.Duration {
	if c.Ops > 0 || targets <= 0 {
		return 0
	}
	per := c.Duration + c.Warmup
	if per < c.Duration { // overflowed
		return math.MaxInt64
	}
	n := int64(targets) * int64(len(c.Cells()))
	if n > 0 && int64(per) > math.MaxInt64/n {
		return math.MaxInt64
	}
	return per * time.Duration(n)
}

// Result is the measurement of one target in one cell.
type Result struct {
	Target string
	Cell
	Hist     hist.Histogram
	Ops      uint64 // successful operations
	Errors   uint64
	FirstErr string
	Elapsed  time.Duration // measured wall time, summed over rounds
	// Behind is, with a Rate, the operations the schedule called for that
	// had not started when the measurement ended, because the target was
	// still busy with earlier ones: the backlog a target that cannot keep
	// up builds. The clients started Ops+Errors of the Ops+Errors+Behind
	// operations the schedule called for. 0 in a closed loop.
	Behind uint64
	// RPC is the NFS RPCs sent during the measured slices (nil off NFS).
	RPC mountstats.Counts
}

// Throughput returns successful operations per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// Step tells a progress display what the runner is about to do.
type Step struct {
	Index, Total int // slices started so far (from 0), slices in the run
	Label        string
	Duration     time.Duration // expected length, 0 if unknown (op count)
}

// Runner measures targets.
type Runner struct {
	Config  Config
	Targets []Target
	// OnStep, if set, is called before every slice.
	OnStep func(Step)
	// LeaveOutFailed has a target that fails (ErrAllFailed, ErrNoAnswer)
	// left out of the rest of the run, its results dropped and its
	// failure in Failed, while another target is left to measure: a Redis
	// server that died in the last round cost the run every other
	// target's results. Without it, or with no other target left, the
	// failure stops the run.
	LeaveOutFailed bool
	// OnFail, if set, is called as a target is left out.
	OnFail func(Failure)
	// Failed lists the targets Run left out, in the order they failed.
	Failed []Failure
}

// Failure is a target left out of a run, and why.
type Failure struct {
	Target string
	Err    error
}

// Run measures every cell on every target and returns results in cell
// order, targets in the order given within a cell. It returns early with an
// error wrapping ctx.Err() when ctx ends.
func (r *Runner) Run(ctx context.Context) ([]*Result, error) {
	c := r.Config
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(r.Targets) == 0 {
		return nil, errors.New("no targets")
	}
	r.Failed = nil
	maxConc := slices.Max(c.Concurrency)
	// Before anything is made or written anywhere: a target without room
	// fails the run before the others have been filled for nothing.
	// Targets that share a space (directories on one file system) fill it
	// together: each is checked for all their sessions.
	sharing := roomGroups(r.Targets)
	for i, t := range r.Targets {
		if rc, ok := t.(RoomChecker); ok {
			n := sharing[i]
			if err := rc.CheckRoom(ctx, n*c.Sessions, c.Sizes, maxConc); err != nil {
				if n > 1 {
					err = fmt.Errorf("%w (the sessions of the %d targets that share it, counted together)", err, n)
				}
				return nil, fmt.Errorf("%s: %w", t.Name(), err)
			}
		}
	}
	cells := c.Cells()
	ids := make(map[int][]string, len(c.Sizes))
	payloads := make(map[int][]byte, len(c.Sizes))
	for _, s := range c.Sizes {
		if _, ok := ids[s]; ok {
			continue
		}
		ids[s] = newIDs(c.Sessions)
		// Random bytes: compressing or deduplicating filesystems must not
		// flatter a target.
		payloads[s] = make([]byte, s)
		rand.Read(payloads[s])
	}
	for _, t := range r.Targets {
		for _, s := range c.Sizes {
			if err := populate(ctx, t, ids[s], payloads[s]); err != nil {
				return nil, fmt.Errorf("%s: preparing %d sessions of %s: %w", t.Name(), len(ids[s]), bytesize.Format(s), err)
			}
		}
	}

	results := make([]*Result, 0, len(cells)*len(r.Targets))
	byKey := make(map[[2]int]*Result)
	for ci, cell := range cells {
		for ti, t := range r.Targets {
			res := &Result{Target: t.Name(), Cell: cell}
			results = append(results, res)
			byKey[[2]int{ci, ti}] = res
		}
	}
	workers := make([]*worker, maxConc)
	for i := range workers {
		workers[i] = &worker{}
	}
	total := c.Rounds * len(cells) * len(r.Targets)
	step := 0
	out := make([]bool, len(r.Targets))
	// fail leaves target ti out for err, if it may be; it reports whether
	// it was.
	fail := func(ctx context.Context, ti int, err error) bool {
		if !r.leaveOut(ctx, out, err) {
			return false
		}
		out[ti] = true
		f := Failure{Target: r.Targets[ti].Name(), Err: err}
		r.Failed = append(r.Failed, f)
		if r.OnFail != nil {
			r.OnFail(f)
		}
		return true
	}
	for round := range c.Rounds {
		for ci, cell := range cells {
			for ti, t := range r.Targets {
				if out[ti] {
					step++
					continue
				}
				res := byKey[[2]int{ci, ti}]
				s := &slice{cell: cell, cfg: &c, target: t, ids: ids[cell.Size], payload: payloads[cell.Size]}
				s.leaveOut = r.leaveOut(ctx, out, nil)
				dur := c.Duration / time.Duration(c.Rounds)
				var quota int64
				if c.Ops > 0 {
					dur = 0
					quota = max(int64(cell.Concurrency), roundShare(c.Ops, c.Rounds))
				}
				if r.OnStep != nil {
					r.OnStep(Step{Index: step, Total: total, Duration: dur + c.Warmup*time.Duration(b2i(round == 0)),
						Label: fmt.Sprintf("round %d/%d  %s  %s  %s  c=%d", round+1, c.Rounds, t.Name(), cell.Workload, bytesize.Format(cell.Size), cell.Concurrency)})
				}
				step++
				if round == 0 && c.Warmup > 0 {
					if _, err := s.run(ctx, workers[:cell.Concurrency], c.Warmup, 0); err != nil {
						err = fmt.Errorf("%s: %s warm-up: %w", t.Name(), cell.Workload, err)
						if fail(ctx, ti, err) {
							continue
						}
						return r.kept(results, out), r.stopped(err)
					}
				}
				var before mountstats.Counts
				rc, isNFS := t.(RPCCounter)
				if isNFS {
					var err error
					if before, err = rc.RPCCounts(); err != nil {
						isNFS = false
					}
				}
				elapsed, err := s.run(ctx, workers[:cell.Concurrency], dur, quota)
				if err != nil {
					err = fmt.Errorf("%s: %s: %w", t.Name(), cell.Workload, err)
					if fail(ctx, ti, err) {
						continue
					}
					return r.kept(results, out), r.stopped(err)
				}
				if isNFS {
					if after, err := rc.RPCCounts(); err == nil {
						if res.RPC == nil {
							res.RPC = mountstats.Counts{}
						}
						res.RPC.Add(after.Sub(before))
					}
				}
				res.Elapsed += elapsed
				for _, w := range workers[:cell.Concurrency] {
					res.Hist.Merge(&w.h)
					res.Ops += w.ops
					res.Errors += w.errs
					res.Behind += w.behind
					if res.FirstErr == "" && w.firstErr != nil {
						res.FirstErr = w.firstErr.Error()
					}
				}
			}
		}
	}
	return r.kept(results, out), nil
}

// leaveOut reports whether a target that failed with err may be left out
// of the rest of the run (err nil: whether one that fails could be): a
// failure of the target, not an interrupted run, while a target not yet
// out (out) would be left to measure besides it.
func (r *Runner) leaveOut(ctx context.Context, out []bool, err error) bool {
	if !r.LeaveOutFailed || ctx.Err() != nil || err != nil && !errors.Is(err, ErrAllFailed) && !errors.Is(err, ErrNoAnswer) {
		return false
	}
	return len(out)-countTrue(out) > 1
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		n += b2i(b)
	}
	return n
}

// kept returns results less those of the targets left out.
func (r *Runner) kept(results []*Result, out []bool) []*Result {
	if !slices.Contains(out, true) {
		return results
	}
	var left []string
	for ti, o := range out {
		if o {
			left = append(left, r.Targets[ti].Name())
		}
	}
	return slices.DeleteFunc(results, func(res *Result) bool { return slices.Contains(left, res.Target) })
}

// stopped is err, the failure that stopped the run, with those of the
// targets left out before it.
func (r *Runner) stopped(err error) error {
	errs := []error{}
	for _, f := range r.Failed {
		errs = append(errs, f.Err)
	}
	return errors.Join(append(errs, err)...)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// roomGroups returns, for each target, how many targets share its space
// (itself included; see RoomSharer): the targets that share it directly
// or through others, so that a sharing seen between only some pairs (free
// space read at different moments) still joins them all.
func roomGroups(ts []Target) []int {
	root := make([]int, len(ts))
	for i := range root {
		root[i] = i
	}
	find := func(i int) int {
		for root[i] != i {
			i = root[i]
		}
		return i
	}
	for i, a := range ts {
		ra, ok := a.(RoomSharer)
		if !ok {
			continue
		}
		for j := range i {
			if _, ok := ts[j].(RoomSharer); ok && ra.SharesRoom(ts[j]) {
				root[find(i)] = find(j)
			}
		}
	}
	size := make(map[int]int)
	for i := range ts {
		size[find(i)]++
	}
	n := make([]int, len(ts))
	for i := range ts {
		n[i] = size[find(i)]
	}
	return n
}

// populate creates every session so that loads and touches find one.
func populate(ctx context.Context, t Target, ids []string, payload []byte) error {
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		errMu sync.Mutex
		first error
	)
	for range min(PopulateClients, len(ids)) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(ids)) || ctx.Err() != nil {
					return
				}
				if err := t.Save(ctx, ids[i], payload); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					next.Store(int64(len(ids))) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return first
}

// newIDs returns n random session IDs in fsstore's format (43 characters of
// unpadded URL-safe base64), generated up front so that the measured loop
// does no work to name a session.
func newIDs(n int) []string {
	ids := make([]string, n)
	var b [32]byte
	for i := range ids {
		rand.Read(b[:])
		ids[i] = base64.RawURLEncoding.EncodeToString(b[:])
	}
	return ids
}

// worker is one simulated client. Its histogram is reused across slices,
// so memory does not grow with the length of a run.
type worker struct {
	h        hist.Histogram
	rng      uint64
	ops      uint64
	errs     uint64
	firstErr error
	// sched is where a paced loop left its schedule, for slice.run to
	// count behind.
	sched sched
	// behind is the operations the schedule called for that the worker
	// had not started when the measurement ended (see backlog).
	behind uint64
}

// sched is where a paced worker's schedule stood when its loop returned.
type sched struct {
	// next is the intended start of the first operation not started.
	next time.Time
	// began and free are when the last operation started would have
	// started and ended on the replayed schedule (see worker.loop), which
	// leaves out the pacing timer's lateness; zero if none started.
	began, free time.Time
	// late is how much later than on the replayed schedule the last
	// operation really started: the pacing timer's lateness, carried
	// along by the operations that then started behind schedule.
	late time.Duration
	// waiting is set when the measurement ended while the worker waited
	// for its next operation's time: it was on schedule.
	waiting bool
}

func (w *worker) reset(seed uint64) {
	w.h.Reset()
	w.rng = seed | 1
	w.ops, w.errs, w.firstErr = 0, 0, nil
	w.sched, w.behind = sched{}, 0
}

// backlog returns how many operations the schedule called for that the
// worker had not started when the measurement ended at end, because the
// target was still busy with earlier ones.
//
// It is counted on the replayed schedule, so that the pacing timer's
// lateness, the harness's and not the target's, leaves none behind. For a
// measured time, end is on the wall clock: when the replayed worker was
// still busy then, the operations due until end are behind; when it would
// have been free before end but the real worker was not (it started late
// by sched.late), those due until end minus that lateness. For a quota of
// operations, end is on the replayed schedule (when its last operation
// started), and the operations due until then that queued behind the
// worker's last one are behind; those due once it was free found the quota
// taken by the other workers, and are not.
func (w *worker) backlog(end time.Time, interval time.Duration, quota bool) uint64 {
	s := &w.sched
	if interval <= 0 || s.waiting {
		return 0
	}
	cut := end
	switch {
	case quota && s.free.Before(end):
		cut = s.free
	case !quota && s.free.Before(end):
		cut = end.Add(-s.late)
	}
	if !s.next.Before(cut) {
		return 0
	}
	return uint64((cut.Sub(s.next)-1)/interval) + 1
}

// next returns a uniform random number in [0, n) from a xorshift64*
// generator: a few instructions, no locking, no allocation.
func (w *worker) next(n int) int {
	x := w.rng
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	w.rng = x
	hi, _ := bits.Mul64(x*2685821657736338717, uint64(n))
	return int(hi)
}

// slice is one target measured in one cell for one round.
type slice struct {
	cell    Cell
	cfg     *Config
	target  Target
	ids     []string
	payload []byte
	// leaveOut says that the target is left out of the rest of the run,
	// not the run stopped, if every operation fails: its error says which.
	leaveOut bool
}

// op returns the operation the slice's workload runs on behalf of w.
func (s *slice) op() func(ctx context.Context, w *worker) error {
	t, ids, p := s.target, s.ids, s.payload
	switch s.cell.Workload {
	case Load:
		return func(ctx context.Context, w *worker) error { return t.Load(ctx, ids[w.next(len(ids))]) }
	case Save:
		return func(ctx context.Context, w *worker) error { return t.Save(ctx, ids[w.next(len(ids))], p) }
	case Touch:
		return func(ctx context.Context, w *worker) error { return t.Touch(ctx, ids[w.next(len(ids))]) }
	case Mixed:
		// Compare against a threshold on the full 64-bit range rather than
		// a float per operation.
		thr := int(s.cfg.WriteRatio * (1 << 30))
		return func(ctx context.Context, w *worker) error {
			id := ids[w.next(len(ids))]
			if w.next(1<<30) < thr {
				return t.Cycle(ctx, id, p)
			}
			return t.Load(ctx, id)
		}
	case Hot:
		hot := ids[:s.cfg.HotSessions]
		return func(ctx context.Context, w *worker) error { return t.Cycle(ctx, hot[w.next(len(hot))], p) }
	default:
		return func(ctx context.Context, w *worker) error { return t.Cycle(ctx, ids[w.next(len(ids))], p) }
	}
}

// run runs the workload on the workers for dur, or for quota operations in
// all when quota > 0, and returns the wall time it took. Workers finish the
// operation in flight when time is up, so no operation is cut short.
//
// The quota is shared, not split into a share per worker: with shares, a
// worker that finished its own early sat idle while the others went on,
// so the end of the slice ran with fewer clients than it is reported at.
// Shared, every worker is busy until the last operation has started.
func (s *slice) run(ctx context.Context, workers []*worker, dur time.Duration, quota int64) (time.Duration, error) {
	var stop atomic.Bool
	// silent is the first error of a target that stopped answering
	// (ErrNoAnswer), which ends the slice and the target's run.
	var (
		silentMu sync.Mutex
		silent   error
	)
	measured := s.op()
	var halt func()
	op := func(ctx context.Context, w *worker) error {
		err := measured(ctx, w)
		if err != nil && errors.Is(err, ErrNoAnswer) {
			silentMu.Lock()
			if silent == nil {
				silent = err
			}
			silentMu.Unlock()
			halt()
		}
		return err
	}
	interval := pacingInterval(len(workers), s.cfg.Rate)
	var seed [8]byte
	rand.Read(seed[:])
	base := uint64(seed[0]) | uint64(seed[1])<<8 | uint64(seed[2])<<16 | uint64(seed[3])<<24 | uint64(seed[4])<<32 | uint64(seed[5])<<40 | uint64(seed[6])<<48 | uint64(seed[7])<<56
	for i, w := range workers {
		w.reset(base + uint64(i)*0x9E3779B97F4A7C15)
	}
	done := make(chan struct{})
	var once sync.Once
	halt = func() {
		stop.Store(true)
		once.Do(func() { close(done) })
	}
	defer context.AfterFunc(ctx, halt)()
	start := time.Now()
	if dur > 0 {
		tm := time.AfterFunc(dur, halt)
		defer tm.Stop()
	}
	var budget *atomic.Int64
	if quota > 0 {
		budget = new(atomic.Int64)
		budget.Store(quota)
	}
	var wg sync.WaitGroup
	for i, w := range workers {
		// Stagger paced clients evenly over one interval.
		first := start.Add(interval * time.Duration(i) / time.Duration(len(workers)))
		wg.Go(func() { w.loop(ctx, op, &stop, done, budget, first, interval, &timerPacer{}) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return elapsed, err
	}
	ended := "the run stopped"
	if s.leaveOut {
		ended = "it is left out of the rest of the run"
	}
	if silent != nil {
		return elapsed, fmt.Errorf("%w; %s, as every operation left would have waited as long", silent, ended)
	}
	if interval > 0 {
		// What the schedule called for and the target left waiting at
		// the end says whether it kept up. The wall time does not: it
		// also holds the operations in flight at the end, and by it 10
		// clients that each started a load of 60 ms every 100 ms, on
		// time, started only 87 a second, not 100.
		end := start.Add(dur)
		if budget != nil {
			// The quota's schedule ended when its last operation started
			// (on the replayed schedule).
			end = time.Time{}
			for _, w := range workers {
				end = later(end, w.sched.began)
			}
		}
		for _, w := range workers {
			w.behind = w.backlog(end, interval, budget != nil)
		}
	}
	var ops, errs uint64
	var first error
	for _, w := range workers {
		ops += w.ops
		errs += w.errs
		if first == nil {
			first = w.firstErr
		}
	}
	// Every operation failing is a broken target, not a measurement.
	if ops == 0 && errs > 0 {
		return elapsed, fmt.Errorf("%w (%d), so %s; the first: %w", ErrAllFailed, errs, ended, first)
	}
	return elapsed, nil
}

// pacingInterval is each of clients' interval between operations at rate
// operations a second over all of them; 0 (the closed loop) without a
// rate. Saturated: a rate so small that the interval overflows paces at
// the longest one, not at none (a wrapped, negative interval), and one so
// large that it is below a nanosecond at the shortest, not at none either.
func pacingInterval(clients int, rate float64) time.Duration {
	if rate <= 0 {
		return 0
	}
	iv := float64(clients) / rate * float64(time.Second)
	if iv >= math.MaxInt64 {
		return math.MaxInt64
	}
	return max(time.Duration(iv), 1)
}

// loop runs operations until stop is set, or until budget (nil: no limit),
// shared with the other workers, runs out.
func (w *worker) loop(ctx context.Context, op func(context.Context, *worker) error, stop *atomic.Bool, done <-chan struct{}, budget *atomic.Int64, intended time.Time, interval time.Duration, p pacer) {
	defer p.stop()
	// Under pacing, when the previous operation would have started
	// (began) and ended (ideal) had every one so far started at its
	// intended time; start is when it really started.
	var ideal, began, start time.Time
	waiting := false
	defer func() {
		w.sched = sched{next: intended, began: began, free: ideal, late: start.Sub(began), waiting: waiting}
	}()
	for tried := false; ; tried = true {
		// An unpaced worker makes one attempt even when time was up
		// before the scheduler first ran it, as on a busy machine: a
		// cell must not come back with no sample at all because its
		// goroutines started late. A paced one keeps to its schedule.
		first := !tried && interval == 0 && budget == nil && ctx.Err() == nil
		if (stop.Load() && !first) || (budget != nil && budget.Add(-1) < 0) {
			return
		}
		if interval > 0 && p.now().Before(intended) {
			woke, ok := p.waitUntil(intended, done)
			if !ok {
				waiting = true
				return
			}
			start = woke
		} else {
			start = p.now()
		}
		err := op(ctx, w)
		end := p.now()
		lat := end.Sub(start)
		if interval > 0 {
			// Replay the operation on the intended schedule: it starts at
			// its intended time or when the one before it would have
			// ended, whichever is later, and takes as long as it took.
			// Queueing behind a slow operation counts (coordinated
			// omission); the pacing timer's lateness (Go's timers wake up
			// to a millisecond late) counts nowhere, neither for the
			// operation that waited for it nor for those that start
			// behind schedule because of it.
			began = later(intended, ideal)
			ideal = began.Add(lat)
			lat = ideal.Sub(intended)
			intended = intended.Add(interval)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.errs++
			if w.firstErr == nil {
				w.firstErr = err
			}
			continue
		}
		w.h.Record(lat)
		w.ops++
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// pacer tells the time and waits for a paced operation's; tests give the
// worker a fake one.
type pacer interface {
	now() time.Time
	// waitUntil waits until t, or until done is closed (ok false), and
	// returns when it woke.
	waitUntil(t time.Time, done <-chan struct{}) (woke time.Time, ok bool)
	stop()
}

// timerPacer waits on one reused timer.
type timerPacer struct{ tm *time.Timer }

func (*timerPacer) now() time.Time { return time.Now() }

func (p *timerPacer) waitUntil(t time.Time, done <-chan struct{}) (time.Time, bool) {
	wait := time.Until(t)
	if p.tm == nil {
		p.tm = time.NewTimer(wait)
	} else {
		p.tm.Reset(wait)
	}
	select {
	case <-p.tm.C:
		return time.Now(), true
	case <-done:
		return time.Time{}, false
	}
}

func (p *timerPacer) stop() {
	if p.tm != nil {
		p.tm.Stop()
	}
}
