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
// A budget is checked against the median repetition, not the average: the
// client now and then sends a GETATTR, an OPEN_NOATTR and CLOSE or a READ
// because a cached attribute timed out (acregmin, 3 s) during the
// measurement, which depends on timing, not on the code measured, and
// grows with how long the repetitions take. On a loaded machine the
// average of fsstore's "Lock+Load+Save+Unlock, other wrote" reached 15.10
// against its 14, all of the excess in such ops. Expiries hit some
// repetitions; an RPC sent every time moves the median, and fails.
//
// The counters are the mount's, not the process's: nothing else on this
// host may use the mount while an operation is measured. Lease renewals and
// delegation returns are left out (Stats.Total).
type Meter struct {
	t      testing.TB
	read   func() (Stats, error) // the mount's counts: RPCStats, or a test's fake
	sums   map[string]Stats
	totals map[string][]uint64 // per repetition
	took   map[string]time.Duration
}

// NewMeter returns a Meter that fails t when a count cannot be read or a
// measured operation fails.
func NewMeter(t testing.TB) *Meter {
	return newMeter(t, func() (Stats, error) { return RPCStats("") })
}

func newMeter(t testing.TB, read func() (Stats, error)) *Meter {
	return &Meter{t: t, read: read, sums: map[string]Stats{}, totals: map[string][]uint64{}, took: map[string]time.Duration{}}
}

// Measure runs f once and adds the RPCs this host's mount sent meanwhile
// to the repetitions of name.
func (m *Meter) Measure(name string, f func() error) {
	m.t.Helper()
	before, err := m.read()
	if err != nil {
		m.t.Fatal(err)
	}
	start := time.Now()
	if err := f(); err != nil {
		m.t.Fatalf("%s: %v", name, err)
	}
	m.took[name] += time.Since(start)
	after, err := m.read()
	if err != nil {
		m.t.Fatal(err)
	}
	d := Diff(before, after)
	if m.sums[name] == nil {
		m.sums[name] = Stats{}
	}
	m.sums[name].Add(d)
	m.totals[name] = append(m.totals[name], d.Total())
}

// Median returns the median of name's repetitions' totals.
func (m *Meter) Median(name string) float64 { return medianRPCs(m.totals[name]) }

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
		sum, reps := m.sums[b.Name], len(m.totals[b.Name])
		if reps == 0 {
			m.t.Errorf("%s: not measured", b.Name)
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
		if b.Budget > 0 && med > b.Budget {
			m.t.Errorf("%s: %.1f RPCs in the median repetition (average %.2f: %s), budget %.0f", b.Name, med, avg, strings.Join(parts, " "), b.Budget)
		}
	}
}
