package nfstest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/mountstats"
)

// Budget is one operation a Meter measured and its budget of RPCs, held
// against the median repetition; 0 logs the operation without asserting.
type Budget struct {
	Name   string
	Budget float64
}

// Meter counts the RPCs of repeated operations on this host's mount, for
// the NFS suites' round-trip budgets.
//
// A budget is checked against the median repetition, not the average:
// some RPCs come due with time, not with the operation measured, and hit
// the repetition that runs when they do. A store opened without keys
// re-reads its marker before a save or a plaintext load once 2 s have
// passed since the last read (fsstore's keylessRecheck): a GETATTR, an
// OPEN_NOATTR and a CLOSE (the per-repetition log shows them together;
// with delegations on, the GETATTR alone). It fell in up to 10 of the 20
// repetitions of a cross-host row whose rounds waited for a delegation's
// recall, too many for the median: fsstore's budgets have the store read
// it before each repetition, unmeasured, and [Meter.Refile] a repetition
// that re-read it all the same. A cached attribute that timed out
// (acregmin, 3 s) costs a GETATTR or a READ. They grow with how long the repetitions take: on a loaded machine
// the average of fsstore's "Lock+Load+Save+Unlock, other wrote" reached
// 15.10 against its 14, all of the excess in such ops. They hit some
// repetitions; an RPC sent every time moves the median, and fails.
//
// A repetition ends once the RPCs it caused have all been counted, the
// FREE_STATEIDs its unlocks send among them (see [TrailingOp]): Measure
// reads the counters, before the operation and after it, until every
// LOCKU counted since the last reading it took has its FREE_STATEID.
// Without that wait, a FREE_STATEID that came after the reading counted
// in the next repetition, in some repetitions and not in others, and a
// read under the lock (6 RPCs) measured 7 5 7 5 7 5 7 in CI: median 7,
// over its budget.
//
// The counters are the mount's, not the process's: nothing else on this
// host may use the mount while an operation is measured. Lease renewals and
// delegation returns are left out (Stats.Total).
type Meter struct {
	t    testing.TB
	read func() (Stats, error) // the mount's counts: RPCStats, or a test's fake
	// last is the reading the previous repetition ended with (NewMeter's
	// first): the work between two repetitions is not measured, but its
	// FREE_STATEIDs must come before the next one starts.
	last Stats
	// settleFor bounds a wait for trailing FREE_STATEIDs; once one ran
	// out, the Meter has failed the test and waits no more.
	settleFor time.Duration
	unsettled bool
	sums      map[string]Stats
	reps      map[string][]Stats // per repetition
	took      map[string]time.Duration
	lastTook  time.Duration // of the last repetition, for Refile
	// refiled counts, per row, the repetitions Refile moved out of it, by
	// the row they went to: a row whose every repetition went elsewhere
	// was measured, and Report says where its repetitions are.
	refiled map[string]map[string]int
}

// TrailingOp and TrailingCause: the Linux NFSv4.1 client frees the server's
// state of a released lock with a FREE_STATEID, one per LOCKU, which it
// sends on its own (rpciod, no process waits for it) once the unlock has
// dropped the lock state: after the unlock (flock, fcntl) returned, by
// the round trip's time or by much more on a busy guest. Every other
// operation a store or a middleware makes is counted by the time its
// system call returns (the client counts an RPC as its reply is decoded,
// before it wakes the caller). With delegations the client locks locally,
// and sends neither.
const (
	TrailingOp    = "FREE_STATEID"
	TrailingCause = "LOCKU"
)

// settleFor is how long Measure waits for a trailing FREE_STATEID: on a
// loaded 2-core machine they came within a few ms of the unlock's return.
const settleFor = 10 * time.Second

// NewMeter returns a Meter that fails t when a count cannot be read, a
// measured operation fails or a trailing FREE_STATEID does not come.
//
// The work before NewMeter is not waited for: a FREE_STATEID it has in
// flight counts in the first repetition, one RPC more in that repetition
// at most, which the median leaves out.
func NewMeter(t testing.TB) *Meter {
	return newMeter(t, func() (Stats, error) { return RPCStats("") })
}

func newMeter(t testing.TB, read func() (Stats, error)) *Meter {
	t.Helper()
	m := &Meter{t: t, read: read, settleFor: settleFor, sums: map[string]Stats{}, reps: map[string][]Stats{}, took: map[string]time.Duration{},
		refiled: map[string]map[string]int{}}
	first, err := read()
	if err != nil {
		t.Fatal(err)
	}
	m.last = first
	return m
}

// Measure runs f once and adds the RPCs this host's mount sent meanwhile
// to the repetitions of name: from a reading after every FREE_STATEID of
// the unmeasured work before it came, to one after every FREE_STATEID of
// f's unlocks came.
func (m *Meter) Measure(name string, f func() error) {
	m.t.Helper()
	before := m.settle(m.last, "the work before "+name)
	start := time.Now()
	if err := f(); err != nil {
		m.t.Fatalf("%s: %v", name, err)
	}
	m.lastTook = time.Since(start)
	m.took[name] += m.lastTook
	after := m.settle(before, name)
	m.last = after
	d := Diff(before, after)
	if m.sums[name] == nil {
		m.sums[name] = Stats{}
	}
	m.sums[name].Add(d)
	m.reps[name] = append(m.reps[name], d)
}

// Refile moves the repetition just measured from name's row to the row
// to: a repetition the test knows to have done, besides the operation,
// something that comes due with time (a keyless store's re-read of its
// marker, which fsstore's budgets count with the store's own hook), so
// that the row holds the operation alone in every repetition and the
// other row shows what the extra work cost. It must follow the Measure of
// name.
func (m *Meter) Refile(name, to string) {
	m.t.Helper()
	reps := m.reps[name]
	if len(reps) == 0 {
		m.t.Fatalf("nfstest.Meter.Refile(%q): no repetition measured", name)
	}
	d := reps[len(reps)-1]
	m.reps[name] = reps[:len(reps)-1]
	m.sums[name] = m.sums[name].Sub(d)
	m.took[name] -= m.lastTook
	if m.sums[to] == nil {
		m.sums[to] = Stats{}
	}
	m.sums[to].Add(d)
	m.reps[to] = append(m.reps[to], d)
	m.took[to] += m.lastTook
	if m.refiled[name] == nil {
		m.refiled[name] = map[string]int{}
	}
	m.refiled[name][to]++
}

// Repetitions returns how many repetitions name's row holds.
func (m *Meter) Repetitions(name string) int { return len(m.reps[name]) }

// settle reads the counters until every LOCKU counted since from has its
// FREE_STATEID, and returns that reading; what names the work, for the
// failure. A FREE_STATEID that came for an unlock before from (a straggler
// of the work before NewMeter) stands in for one still to come: one
// repetition counts it instead of its own, and the next the own.
func (m *Meter) settle(from Stats, what string) Stats {
	m.t.Helper()
	deadline := time.Now().Add(m.settleFor)
	for {
		now, err := m.read()
		if err != nil {
			m.t.Fatal(err)
		}
		d := Diff(from, now)
		if d[TrailingOp] >= d[TrailingCause] || m.unsettled {
			return now
		}
		if time.Now().After(deadline) {
			m.unsettled = true
			m.t.Errorf("%s: %d %s of %d %s came within %v of its end; the repetitions' counts cannot be told apart, and the Meter waits no more",
				what, d[TrailingOp], TrailingOp, d[TrailingCause], TrailingCause, m.settleFor)
			return now
		}
		time.Sleep(time.Millisecond) // polling the mount's counters: the client signals no event
	}
}

// Median returns the median of name's repetitions' totals.
func (m *Meter) Median(name string) float64 { return medianRPCs(m.totals(name)) }

// totals returns the total RPCs of each of name's repetitions.
func (m *Meter) totals(name string) []uint64 {
	t := make([]uint64, len(m.reps[name]))
	for i, d := range m.reps[name] {
		t[i] = d.Total()
	}
	return t
}

// offMedian describes the repetitions of name whose total is not med, in
// order ("#1 CLOSE=1 ... READ=1; #4 ..."; excluded ops left out), so that
// the log shows which repetition an attribute-cache expiry or a stray RPC
// hit, and what it sent; the first maxOffMedian of them, then how many
// more; "" if none.
func (m *Meter) offMedian(name string, med float64) string {
	const maxOffMedian = 8
	var off []string
	more := 0
	for i, d := range m.reps[name] {
		if float64(d.Total()) == med {
			continue
		}
		if len(off) == maxOffMedian {
			more++
			continue
		}
		c := Stats{}
		for op, n := range d {
			if !slices.Contains(mountstats.Excluded, op) {
				c[op] = n
			}
		}
		off = append(off, fmt.Sprintf("#%d %s", i+1, c))
	}
	if more > 0 {
		off = append(off, fmt.Sprintf("%d more", more))
	}
	return strings.Join(off, "; ")
}

func medianRPCs(v []uint64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return float64(s[len(s)/2])
	}
	return float64(s[len(s)/2-1]+s[len(s)/2]) / 2
}

// Report logs, for each budget's operation, its average RPCs per
// operation, the median repetition and the average time it took (one
// "RPC|" line each: the guest time a budget costs), and fails the test
// for each median over its budget.
func (m *Meter) Report(budgets []Budget) {
	m.t.Helper()
	m.t.Logf("RPCs per operation, averaged over each row's repetitions (delegations=%v; lease renewals excluded):", Delegations())
	for _, b := range budgets {
		sum, reps := m.sums[b.Name], len(m.reps[b.Name])
		if reps == 0 {
			m.t.Errorf("%s", m.unmeasured(b.Name))
			continue
		}
		var parts []string
		ops := make([]string, 0, len(sum))
		for op := range sum {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		for _, op := range ops {
			avg := float64(sum[op]) / float64(reps)
			switch {
			case op == "DELEGRETURN":
				parts = append(parts, fmt.Sprintf("(%s=%.2f not counted)", op, avg))
			case !slices.Contains(mountstats.Excluded, op):
				parts = append(parts, fmt.Sprintf("%s=%.2f", op, avg))
			}
		}
		avg := float64(sum.Total()) / float64(reps)
		limit := "(logged)"
		if b.Budget > 0 {
			limit = fmt.Sprintf("budget %.0f", b.Budget)
		}
		med := m.Median(b.Name)
		each := (m.took[b.Name] / time.Duration(reps)).Round(time.Millisecond)
		m.t.Logf("RPC| %-34s | %5.2f | median %4.1f | %-9s | %s | %v each", b.Name, avg, med, limit, strings.Join(parts, " "), each)
		if off := m.offMedian(b.Name, med); off != "" {
			m.t.Logf("    %s: RPCs per repetition %v; off the median: %s", b.Name, m.totals(b.Name), off)
		}
		if b.Budget > 0 && med > b.Budget {
			m.t.Errorf("%s: %.1f RPCs in the median repetition (average %.2f: %s), budget %.0f", b.Name, med, avg, strings.Join(parts, " "), b.Budget)
		}
	}
}

// unmeasured says why the row name holds no repetition: none was
// measured, or every one was refiled (Refile), to the rows it names with
// what each of their repetitions sent. A row whose repetitions all did
// the extra work has no measure of the operation alone; it was reported
// as "not measured", as if the test had never run it, with the RPCs it
// did measure out of sight unless the other row was in the budgets.
func (m *Meter) unmeasured(name string) string {
	out := m.refiled[name]
	if len(out) == 0 {
		return name + ": not measured"
	}
	tos := make([]string, 0, len(out))
	for to := range out {
		tos = append(tos, to)
	}
	sort.Strings(tos)
	var parts []string
	total := 0
	for _, to := range tos {
		total += out[to]
		parts = append(parts, fmt.Sprintf("%d to %q (RPCs per repetition there %v)", out[to], to, m.totals(to)))
	}
	return fmt.Sprintf("%s: measured %d times, and every repetition was refiled, so none measured the operation alone: %s",
		name, total, strings.Join(parts, "; "))
}
