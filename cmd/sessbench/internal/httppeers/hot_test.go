package httppeers

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// counterPeer serves the benchmark's routes on one in-memory counter. Its
// k-th increment (from 1) is saved or not and answered with a status as
// outcome says, so that a test knows exactly what was lost and what was
// saved. Increments run one at a time.
type counterPeer struct {
	outcome func(k int) (save bool, code int)
	mu      sync.Mutex
	n, k    int
}

func (p *counterPeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.URL.Path {
	case pathNew:
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "one"})
		w.Write([]byte("0"))
	case pathIncr:
		p.k++
		save, code := p.outcome(p.k)
		v := p.n + 1
		if save {
			p.n = v
		}
		if code != http.StatusOK {
			http.Error(w, http.StatusText(code), code)
			return
		}
		w.Write([]byte(strconv.Itoa(v)))
	case pathGet:
		w.Write([]byte(strconv.Itoa(p.n)))
	}
}

// TestHotCountsSavedFailures: the same-session test reports lost updates
// and failed increments that were saved apart. Counted as answered 200
// minus the counter's gain, a failure that was saved (a 504 from
// httpsession: the change may have been saved) cancelled a lost update,
// and more of them than lost updates made the count negative.
func TestHotCountsSavedFailures(t *testing.T) {
	tests := []struct {
		name    string
		outcome func(k int) (bool, int)
		// of 16 increments
		ok, fails, gain, lost, savedFailed int
	}{
		{"all saved", func(int) (bool, int) { return true, http.StatusOK }, 16, 0, 16, 0, 0},
		{"every 4th saved but answered 504", func(k int) (bool, int) {
			return true, map[bool]int{true: http.StatusGatewayTimeout, false: http.StatusOK}[k%4 == 0]
		}, 12, 4, 16, 0, 4},
		{"every 4th answered 200 but not saved", func(k int) (bool, int) { return k%4 != 0, http.StatusOK }, 16, 0, 12, 4, 0},
		{"every 4th failed and not saved", func(k int) (bool, int) {
			if k%4 == 0 {
				return false, http.StatusServiceUnavailable
			}
			return true, http.StatusOK
		}, 12, 4, 12, 0, 0},
		{"one lost, one saved but answered 504, in every 4", func(k int) (bool, int) {
			switch k % 4 {
			case 1:
				return false, http.StatusOK
			case 3:
				return true, http.StatusGatewayTimeout
			}
			return true, http.StatusOK
		}, 12, 4, 12, 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{HotClients: 4, HotIncrements: 4}
			r := Result{Peer: "counter", Size: 16}
			if err := hot(context.Background(), cfg, &Peer{Name: "counter", Handler: &counterPeer{outcome: tt.outcome}}, &r); err != nil {
				t.Fatal(err)
			}
			got := []int{r.HotOK, r.HotFails, r.HotGain, r.Lost, r.HotSavedFailed}
			want := []int{tt.ok, tt.fails, tt.gain, tt.lost, tt.savedFailed}
			if r.HotSent != 16 || !equal(got, want) {
				t.Errorf("sent %d; answered 200, failed, counter, lost, failed but saved = %v, want %v", r.HotSent, got, want)
			}
			var md, svg bytes.Buffer
			rep := &Report{HotClients: 4, HotIncr: 4, Peers: []PeerInfo{{Name: "counter"}}, Results: []Result{r}}
			if err := WriteMarkdown(&md, rep); err != nil {
				t.Fatal(err)
			}
			if err := WritePlot(&svg, rep, "t"); err != nil {
				t.Fatal(err)
			}
			count := strconv.Itoa(tt.lost) + " of " + strconv.Itoa(tt.ok)
			note := ""
			if tt.fails > 0 {
				note = " (" + strconv.Itoa(tt.fails) + " failed, " + strconv.Itoa(tt.savedFailed) + " of them saved)"
			}
			for _, out := range []struct{ name, text, want string }{
				{"markdown", md.String(), "| " + count + note + " |"},
				{"chart", svg.String(), count + " lost" + note + "<"},
			} {
				if !strings.Contains(out.text, out.want) {
					t.Errorf("%s does not say %q:\n%s", out.name, out.want, out.text)
				}
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A counter that moved more than the requests could make it (a peer that
// saves twice for one request) does not make more saved failures than
// failures.
func TestCountHotSavedAtMostFailed(t *testing.T) {
	lost, saved := countHot([]int{1, 2}, 5, 1)
	if lost != 0 || saved != 1 {
		t.Errorf("countHot([1 2], final 5, 1 failed) = lost %d, saved failures %d; want 0, 1", lost, saved)
	}
}
