package nfstest

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// The budget holds the median repetition: an odd count's middle one, the
// mean of the two middle ones of an even count, whatever the order.
func TestMedianRPCs(t *testing.T) {
	for _, tc := range []struct {
		in   []uint64
		want float64
	}{
		{nil, 0},
		{[]uint64{6}, 6},
		{[]uint64{14, 11, 11}, 11},
		{[]uint64{12, 11, 14, 11}, 11.5},
		{[]uint64{6, 6, 5, 6, 11, 5, 6}, 6},
	} {
		if got := medianRPCs(tc.in); got != tc.want {
			t.Errorf("medianRPCs(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// fakeMount counts RPCs as the Linux NFSv4.1 client does around a lock's
// release: LOCK and LOCKU before the calls return, and the FREE_STATEID
// the client sends on its own once the lock state is freed, after the
// unlock returned, counted only some reads of the counters later (each
// read stands for the time it takes).
type fakeMount struct {
	counts  Stats
	pending []int // per FREE_STATEID in flight, reads left before it is counted
}

func (f *fakeMount) read() (Stats, error) {
	left := f.pending[:0]
	for _, n := range f.pending {
		if n == 0 {
			f.counts["FREE_STATEID"]++
		} else {
			left = append(left, n-1)
		}
	}
	f.pending = left
	return maps.Clone(f.counts), nil
}

// lockedRead is a read under the lock (LOCK, GETATTR, OPEN_NOATTR, CLOSE,
// LOCKU, FREE_STATEID: 6), its FREE_STATEID counted late reads on.
func (f *fakeMount) lockedRead(late int) {
	for _, op := range []string{"LOCK", "GETATTR", "OPEN_NOATTR", "CLOSE", "LOCKU"} {
		f.counts[op]++
	}
	f.pending = append(f.pending, late)
}

// A repetition's count includes the FREE_STATEID its own unlock sends,
// however late it comes, and never one a lock released before it sends:
// not an earlier repetition's or row's, nor one of the unmeasured work
// between repetitions. The lateness is per repetition (late[i] reads of
// the counters after the unlock); the row before, one repetition, comes
// prevLate reads late. Without settling, "alternating" is what CI saw:
// 7 5 7 5 7 5 7, median 7 against a budget of 6, for 6 RPCs each.
func TestMeterCountsTrailingFreeStateidWithItsRepetition(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prevLate int
		late     []int
		between  bool // a lock released, unmeasured, before each repetition
	}{
		{"on time", 0, []int{0, 0, 0, 0, 0, 0, 0}, false},
		{"alternating", 2, []int{0, 2, 0, 2, 0, 2, 0}, false},
		{"always late", 2, []int{2, 2, 2, 2, 2, 2, 2}, false},
		{"much later", 5, []int{9, 0, 7, 1, 0, 3, 2}, false},
		{"unmeasured lock between", 1, []int{1, 0, 2, 1, 2, 0, 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeMount{counts: Stats{}}
			m := newMeter(t, f.read)
			m.Measure("before", func() error { f.lockedRead(tc.prevLate); return nil })
			for _, late := range tc.late {
				if tc.between {
					f.lockedRead(late + 1)
				}
				m.Measure("read", func() error { f.lockedRead(late); return nil })
			}
			want := slices.Repeat([]uint64{6}, len(tc.late))
			if got := m.totals("read"); !slices.Equal(got, want) {
				t.Errorf("RPCs per repetition %v, want %v (FREE_STATEID=%.2f per repetition)",
					got, want, float64(m.sums["read"]["FREE_STATEID"])/float64(len(tc.late)))
			}
		})
	}
}

// errRecorder is a testing.TB whose Errorf records instead of failing.
type errRecorder struct {
	testing.TB
	errs []string
}

func (r *errRecorder) Helper() {}

func (r *errRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// An unlock whose FREE_STATEID never comes (a client that sends none)
// fails the test once, saying so, and the Meter then waits no more: the
// repetitions are still counted, as they come.
func TestMeterFailsOnceWhenNoFreeStateidComes(t *testing.T) {
	f := &fakeMount{counts: Stats{}}
	r := &errRecorder{TB: t}
	m := newMeter(r, f.read)
	m.settleFor = 20 * time.Millisecond
	for range 3 {
		m.Measure("read", func() error { f.lockedRead(math.MaxInt); return nil })
	}
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "0 FREE_STATEID of 1 LOCKU") {
		t.Errorf("errors %q, want one that says 0 FREE_STATEID of 1 LOCKU came", r.errs)
	}
	if got, want := m.totals("read"), []uint64{5, 5, 5}; !slices.Equal(got, want) {
		t.Errorf("RPCs per repetition %v, want %v", got, want)
	}
}

// The log names the repetitions off the median with what each sent, the
// first eight of them.
func TestMeterOffMedian(t *testing.T) {
	m := newMeter(t, (&fakeMount{counts: Stats{}}).read)
	for i := range 12 {
		d := Stats{"GETATTR": 1}
		if i%4 != 0 {
			d["READ"] = 1
		}
		m.reps["load"] = append(m.reps["load"], d)
	}
	m.reps["load"] = append(m.reps["load"], Stats{"GETATTR": 1, "SEQUENCE": 1})
	for _, tc := range []struct {
		med  float64
		want string
	}{
		{2, "#1 GETATTR=1; #5 GETATTR=1; #9 GETATTR=1; #13 GETATTR=1"},
		{1, "#2 GETATTR=1 READ=1; #3 GETATTR=1 READ=1; #4 GETATTR=1 READ=1; #6 GETATTR=1 READ=1; #7 GETATTR=1 READ=1; #8 GETATTR=1 READ=1; #10 GETATTR=1 READ=1; #11 GETATTR=1 READ=1; 1 more"},
		{3, "#1 GETATTR=1; #2 GETATTR=1 READ=1; #3 GETATTR=1 READ=1; #4 GETATTR=1 READ=1; #5 GETATTR=1; #6 GETATTR=1 READ=1; #7 GETATTR=1 READ=1; #8 GETATTR=1 READ=1; 5 more"},
	} {
		if got := m.offMedian("load", tc.med); got != tc.want {
			t.Errorf("offMedian(%v) = %q, want %q", tc.med, got, tc.want)
		}
	}
}

// A repetition refiled to another row leaves its row as if it had not
// been measured there, counts, median and time, and joins the other: a
// row of 6-RPC loads in which something due with time (a keyless store's
// marker re-read) added 1 in half the repetitions had the median 6.5, over
// a budget of 6, before the test could set those repetitions apart.
func TestMeterRefile(t *testing.T) {
	f := &fakeMount{counts: Stats{}}
	m := newMeter(t, f.read)
	for i := range 10 {
		extra := i%2 == 0
		m.Measure("load", func() error {
			for _, op := range []string{"GETATTR", "LOOKUP", "ACCESS", "OPEN", "READ", "CLOSE"} {
				f.counts[op]++
			}
			if extra {
				f.counts["GETATTR"]++
			}
			return nil
		})
		if extra {
			m.Refile("load", "load+reread")
		}
	}
	if got, want := m.totals("load"), []uint64{6, 6, 6, 6, 6}; !slices.Equal(got, want) {
		t.Errorf("load: RPCs per repetition %v, want %v", got, want)
	}
	if got, want := m.totals("load+reread"), []uint64{7, 7, 7, 7, 7}; !slices.Equal(got, want) {
		t.Errorf("load+reread: RPCs per repetition %v, want %v", got, want)
	}
	if got := m.sums["load"]["GETATTR"]; got != 5 {
		t.Errorf("load: GETATTR summed %d, want 5", got)
	}
	if got := m.sums["load+reread"]["GETATTR"]; got != 10 {
		t.Errorf("load+reread: GETATTR summed %d, want 10", got)
	}
	if got := m.Median("load"); got != 6 {
		t.Errorf("load: median %v, want 6", got)
	}
	if got := m.Repetitions("load+reread"); got != 5 {
		t.Errorf("load+reread: %d repetitions, want 5", got)
	}
}

// A row whose every repetition was refiled was measured: Report said
// "not measured", as of a row the test never ran, and nothing of where
// its repetitions went. It says that every one was refiled, and where,
// with what each sent there.
func TestMeterReportAllRefiled(t *testing.T) {
	f := &fakeMount{counts: Stats{}}
	r := &errRecorder{TB: t}
	m := newMeter(r, f.read)
	for range 3 {
		m.Measure("load", func() error {
			f.counts["GETATTR"] += 2
			return nil
		})
		m.Refile("load", "load (+ marker re-read)")
	}
	m.Report([]Budget{{Name: "load", Budget: 1}, {Name: "never run", Budget: 1}})
	want := []string{
		`load: measured 3 times, and every repetition was refiled, so none measured the operation alone: 3 to "load (+ marker re-read)" (RPCs per repetition there [2 2 2])`,
		"never run: not measured",
	}
	if !slices.Equal(r.errs, want) {
		t.Errorf("Report's errors:\n%q\nwant\n%q", r.errs, want)
	}
}
