package httpsession_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOutageReadinessJudgement holds TestNFSOutage's judgement of
// readiness to what it is for: a host whose readiness never turns healthy
// again after the outage, or stays unhealthy once the load has stopped,
// fails; one whose probe timed out again after it had turned healthy,
// under a guest whose CPU was saturated (its probes failed now and then
// before the outage too), misses a timing bound, which the test asserts
// only for a guest that was not saturated.
func TestOutageReadinessJudgement(t *testing.T) {
	t0 := time.Now()
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	// probes answers a probe every 250 ms from `from` to `to` seconds
	// after the outage began, healthy as flips says: each flip is the
	// second from which the answer is the one it names.
	type flip struct {
		at      float64
		healthy bool
	}
	probes := func(from, to float64, flips ...flip) []outageProbeResult {
		var ps []outageProbeResult
		for i := 0; ; i++ {
			s := min(from+float64(i)/4, to) // the last answered at to
			healthy := false
			for _, f := range flips {
				if s >= f.at {
					healthy = f.healthy
				}
			}
			ps = append(ps, outageProbeResult{at: at(s), healthy: healthy})
			if s == to {
				return ps
			}
		}
	}
	down, up, ready := at(0), at(41.84), at(42.46)
	for _, tc := range []struct {
		name     string
		probes   []outageProbeResult
		settled  bool   // a probe passed once the load had stopped
		fail     string // in one of the failures; "" for none
		miss     string // in one of the timing misses; "" for none
		missNone bool
	}{
		{"healthy again promptly", probes(-10, 60, flip{-10, true}, flip{1, false}, flip{44, true}), true, "", "", true},
		// CI 202's hostB in the nfsdrestart phase: the guest's CPU 99%
		// busy, readiness failed now and then before the outage, and its
		// last probe timed out 15 s after it had turned healthy again.
		{"saturated guest, a probe failed at the end", probes(-41.90, 83.34,
			flip{-41.90, true}, flip{-38.31, false}, flip{-38.05, true}, flip{-34.41, false}, flip{-34.24, true},
			flip{-30.74, false}, flip{-29.52, true}, flip{-16.21, false}, flip{-15.82, true}, flip{-6.47, false},
			flip{-0.74, true}, flip{5.09, false}, flip{68.02, true}, flip{70.27, false}, flip{70.29, true}, flip{83.34, false}),
			true, "", "failed again", false},
		{"healthy again, then unhealthy for good", probes(-10, 83, flip{-10, true}, flip{1, false}, flip{44, true}, flip{60, false}), false, "still unhealthy once the load had stopped", "", false},
		{"never healthy again", probes(-10, 83, flip{-10, true}, flip{1, false}), true, "did not turn healthy again", "", false},
		{"healthy before the server came back", probes(-10, 83, flip{-10, true}, flip{1, false}, flip{30, true}), true, "before the server came back", "", false},
		{"never unhealthy", probes(-10, 83, flip{-10, true}), true, "did not turn unhealthy", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fails, misses := readinessOf(tc.probes, down, up).judge(down, up, ready, tc.settled)
			has := func(l []string, sub string) bool {
				return slices.ContainsFunc(l, func(s string) bool { return strings.Contains(s, sub) })
			}
			switch {
			case tc.fail == "" && len(fails) > 0:
				t.Errorf("failed: %q", fails)
			case tc.fail != "" && !has(fails, tc.fail):
				t.Errorf("failures %q; want one with %q", fails, tc.fail)
			}
			switch {
			case tc.miss != "" && !has(misses, tc.miss):
				t.Errorf("timing misses %q; want one with %q", misses, tc.miss)
			case tc.missNone && len(misses) > 0:
				t.Errorf("timing misses %q; want none", misses)
			}
		})
	}
}

// TestOutageHangJudgement holds TestNFSOutage's hang check to what it is
// for: a request that started during the outage before the app had
// answered any that started during it, and that was still unanswered when
// the outage ended, fails, answered later or never; a request that started
// near the outage's end and was answered after it, or one that started
// before the outage, does not, however late.
func TestOutageHangJudgement(t *testing.T) {
	t0 := time.Now()
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	down, up := at(0), at(30)
	type req struct {
		start, answered float64 // seconds from the outage's start; answered < 0: never
	}
	healthy := []req{{-0.5, 2.1}, {0.1, 2.1}, {0.5, 2.5}, {3, 3.01}, {29.5, 31.5}, {29.9, 45}, {35, 35.1}}
	for _, tc := range []struct {
		name        string
		reqs        []req
		wave, hung  int
		anyAnswered bool
	}{
		{"every request answered in time", healthy, 2, 0, true},
		{"a request started before the outage answered after it", append(slices.Clone(healthy), req{-0.1, 40}), 2, 0, true},
		{"a first request never answered", append(slices.Clone(healthy), req{0.2, -1}), 3, 1, true},
		{"a first request answered after the outage", append(slices.Clone(healthy), req{0.3, 31}), 3, 1, true},
		{"nothing answered during the outage", []req{{0.1, 31}, {5, -1}, {29, 30.5}}, 3, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reqs []outageReq
			answers := map[int]outageAnswer{}
			for i, r := range tc.reqs {
				reqs = append(reqs, outageReq{seq: i, start: at(r.start)})
				if r.answered >= 0 {
					answers[i] = outageAnswer{503, at(r.answered)}
				}
			}
			answer := func(q outageReq) (outageAnswer, bool) {
				a, ok := answers[q.seq]
				return a, ok
			}
			w := hungThroughOutage(reqs, answer, down, up)
			if len(w.hung) != tc.hung || w.n != tc.wave || !w.first.IsZero() != tc.anyAnswered {
				t.Errorf("wave of %d, hung %v, first answer %v; want a wave of %d, %d hung, answered any %v", w.n, w.hung, w.first, tc.wave, tc.hung, tc.anyAnswered)
			}
		})
	}
}
