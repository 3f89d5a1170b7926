package httpsession_test

// The outage acceptance test: two app servers on one NFS export under
// steady load while the file server becomes unreachable for 30 s, first by
// cutting both hosts' links, then by stopping nfsd (its state lost, as in
// a server reboot).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// The scenario's shape. Waits and bounds below derive from these and from
// the harness's lease, never from fixed numbers of their own.
const (
	outageFor = 30 * time.Second // the server is unreachable this long
	// outageDeadline is each request's deadline in the apps (a middleware
	// sets it, as a production server's handler timeout would): a request
	// must end within it plus outageSlack.
	outageDeadline = 2 * time.Second
	outageSlack    = time.Second
	// outageClientTimeout is the clients' own timeout, as a browser or a
	// load balancer would have: a request still open then got no answer,
	// which the timing bounds count.
	outageClientTimeout = 5 * time.Second
	outageShared        = 8 // workers per host on cookies shared by both hosts
	outageVisitors      = 8 // workers per host that arrive without a cookie
	// outagePaceMax is each worker's first request interval in the first
	// phase (the second starts at the pace the first settled on): steady
	// load, not a spin loop of instant 503s. Both app hosts, their
	// clients and the server share the guest's one CPU, where a request
	// costs tens of milliseconds (every system call, clock reads
	// included, traps into the User-Mode-Linux kernel, and over half of
	// an app's CPU goes to clock reads): on our machines the guest
	// carries about 30 requests a second, and at a 1 s pace (32 a second)
	// it was busy all the time and requests waited about a second for it
	// before any outage. Machines vary: on ours, at a 2 s pace, it was
	// 26-65% busy, but a CI machine whose guest was 95% busy at 2 s
	// failed the timing bounds on requests that waited seconds for the
	// CPU before the cut, and CI guests were 80-100% busy even at 4 s. So
	// in the first phase each host starts at outagePaceMax and halves the
	// pace, down to outagePaceMin, while the guest is less than half as
	// busy as outageBusyMax under steady load; once it is busier than
	// outageBusyMax, the pace only slows down again, up to outagePaceMax:
	// the test measures the store, not the guest's run queue. Starting
	// from the slow end costs a busy guest one window of measurement
	// instead of three (some 19 s of CI per run); an idle one pays a
	// window or three more than a start at 2 s did (up to some 36 s). The
	// report gives the pace, the guest's CPU use and the latencies under
	// steady load.
	outagePaceMin = 2 * time.Second
	outagePaceMax = 8 * time.Second
	outageBusyMax = nfstest.BusyMax
	// outageProbe is how often the load balancer asks the readiness
	// handler, with outageProbeTimeout as its timeout.
	outageProbe        = 250 * time.Millisecond
	outageProbeTimeout = time.Second
	// outageSampleEvery is how often each app's load and the guest's CPU are
	// sampled.
	outageSampleEvery = 250 * time.Millisecond
	// outageFlip bounds how long the readiness handler may take to turn
	// unhealthy after the server went away, and healthy after it is back.
	outageFlip = 5 * time.Second
	// outageSteady is the shortest window of steady load before the
	// outage that the report takes as its reference (it lasts two
	// requests per worker at least).
	outageSteady = 5 * time.Second
)

// TestNFSOutage runs the outage scenarios on two app hosts (about two
// minutes of guest time), after httpRPCBudgetsA and waitersHoldNoSlot in
// the same guest. Each
// host runs an app (httpsession over one shared store, a per-request
// deadline, a readiness handler) and, against it, outageShared workers on
// sessions both hosts use, outageVisitors workers creating new sessions, a
// readiness probe and a sampler of in-flight requests, goroutines and the
// guest's CPU.
//
// Every request records its status and duration, and every update records
// itself in the session (the shared sessions keep, per worker, the set of
// request numbers applied; a visitor's session keeps its request's token),
// so that after recovery each host can tell, for each of its requests,
// whether it was applied: an update acknowledged (200) but not applied is
// lost; one applied although its client saw a 503 or a timeout was
// applied late, and is counted.
func TestNFSOutage(t *testing.T) {
	nfstest.Require(t)
	waiters := waitersHoldNoSlot()
	role := func(t *testing.T) {
		// Two more scenarios share this boot (one costs CI some 15 s);
		// they end, their servers and stores closed, before the first
		// phase measures the guest under steady load. The phases run even
		// when one failed, so that neither host waits for the other in
		// vain. hostA counts round trips first, while hostB waits for
		// WaitersHoldNoSlot's start (on its own mount).
		t.Run("RPCBudgets", func(t *testing.T) {
			if nfstest.Host() == "hostA" {
				httpRPCBudgetsA(t)
			}
		})
		t.Run("WaitersHoldNoSlot", waiters[nfstest.Host()])
		// The second phase starts at the pace the first one found the
		// guest carries, rather than finding it again (some 20 s).
		pace := outagePaceMax
		t.Run("linkcut", func(t *testing.T) { pace = outagePhase(t, outageLinkCut, pace, true) })
		t.Run("nfsdrestart", func(t *testing.T) { outagePhase(t, outageServerStop, pace, false) })
	}
	nfstest.Run(t, outageGuest, map[string]func(*testing.T){"hostA": role, "hostB": role})
}

// outageGuest is TestNFSOutage's guest, which TestMain boots while the
// other tests run (nfstest.Start, with NFSTEST_EARLY=1).
var outageGuest = nfstest.Config{Hosts: 2, Delay: "1ms", Timeout: 9 * time.Minute}

// The timing bounds (a request ends within its deadline + outageSlack and
// gets an answer within outageClientTimeout, readiness follows the outage
// within outageFlip) follow the outage tests' policy (nfstest.Timing):
// reported, and asserted only with SESSFS_NFS_OUTAGE_TIMING=1 and only
// for a host whose guest was not saturated before the outage (see
// saturated). Those bounds are about the store, but in the harness they
// measure the guest as much: its one CPU runs both apps, their clients
// and the server, and it waits for the host's. On our shared 2-core
// machines one idle machine's guest was 26-65% busy under the steady load
// in the morning and 89-92% in the afternoon, and the bounds held in 10
// of 11 CI runs in the morning and in none of 4 runs in the afternoon
// (requests and readiness waiting seconds for the CPU, during the
// recovery most). Everything else (no update lost, none applied after a
// 503, every answer a 200, 503 or 504, no client error but its own
// timeout, the in-flight and goroutine bounds, readiness unhealthy during
// the outage and healthy after it, no request hung through the outage, an
// order of events: see hungThroughOutage) is always asserted; a probe that fails
// again once readiness is healthy after the outage is a check that missed
// its deadline, a timing bound, as long as readiness is healthy once the
// load has stopped (see readiness.judge). Each host's
// summary of each phase goes to SESSFS_NFS_OUTAGE_REPORT (nfstest.Report).

type outageKind int

const (
	outageLinkCut    outageKind = iota // both hosts' links down
	outageServerStop                   // nfsd stopped: state lost
)

// outageReq is one request as its client saw it.
type outageReq struct {
	path   string
	worker string
	seq    int
	token  string // visitors: the token put in the new session
	start  time.Time
	dur    time.Duration
	status int // 0: no response (client timeout or connection error)
	// timedOut: no response within outageClientTimeout; any other client
	// error (a reset or closed connection) is always a failure.
	timedOut bool
	err      string // the client's error, when status is 0
}

// outageSample is one sample of an app's load.
type outageSample struct {
	at         time.Time
	inFlight   int64
	goroutines int
	// cpu is the guest's CPU time so far: it has one CPU for both app
	// hosts and the server, and a request that waits for it is late for
	// reasons no store can help.
	cpu nfstest.CPU
	// cpuSelf is this app's process's CPU time so far (user and
	// system), in the same ticks: the share of the guest's CPU that the
	// app and its clients use, the rest being the other host and the
	// server.
	cpuSelf int64
}

// harnessEvents returns the lines of the run's timeline that contain
// substr, for the report.
func harnessEvents(substr string) string {
	b, err := os.ReadFile(os.Getenv("NFS_TIMELINE"))
	if err != nil {
		return fmt.Sprintf("timeline: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, substr) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// selfCPU reads this process's user and system time from /proc/self/stat.
func selfCPU() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The command name, field 2, may hold spaces and parentheses: count
	// from its end.
	i := strings.LastIndex(string(b), ") ")
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

// outageProbeResult is one readiness probe.
type outageProbeResult struct {
	at      time.Time
	healthy bool
}

// seqRanges is a set of request numbers as sorted, disjoint, inclusive
// ranges: compact, since a worker's requests are applied in runs.
type seqRanges [][2]int

func (r seqRanges) add(n int) seqRanges {
	i := sort.Search(len(r), func(i int) bool { return r[i][1] >= n-1 })
	switch {
	case i < len(r) && r[i][0] <= n && n <= r[i][1]:
		return r // already there
	case i < len(r) && r[i][1] == n-1:
		r[i][1] = n
		if i+1 < len(r) && r[i+1][0] == n+1 { // bridges the gap to the next
			r[i][1] = r[i+1][1]
			r = slices.Delete(r, i+1, i+2)
		}
		return r
	case i < len(r) && r[i][0] == n+1:
		r[i][0] = n
		return r
	}
	return slices.Insert(r, i, [2]int{n, n})
}

func (r seqRanges) has(n int) bool {
	i := sort.Search(len(r), func(i int) bool { return r[i][1] >= n })
	return i < len(r) && r[i][0] <= n
}

// outageLog keeps the distinct messages the app logged (errors the
// default error handler reports), with counts, for the report.
type outageLog struct {
	mu   sync.Mutex
	msgs map[string]int
	// inDoubt counts failed requests whose write the store reported as
	// in doubt (fsstore.ErrInDoubt: answered 504).
	inDoubt int
}

func (l *outageLog) doubts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inDoubt
}

func (l *outageLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *outageLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *outageLog) WithGroup(string) slog.Handler            { return l }
func (l *outageLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "status" || a.Key == "err" {
			msg += " " + a.Key + "=" + a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.Contains(msg, fsstore.ErrInDoubt.Error()) {
		l.inDoubt++
	}
	if l.msgs == nil {
		l.msgs = map[string]int{}
	}
	if _, ok := l.msgs[msg]; ok || len(l.msgs) < 40 {
		l.msgs[msg]++
	}
	return nil
}

func (l *outageLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var lines []string
	for m, n := range l.msgs {
		lines = append(lines, fmt.Sprintf("  %5d× %s", n, m))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// outageApp is one host's app server and what the test measures of it.
type outageApp struct {
	st       *fsstore.Store
	srv      *httptest.Server
	log      *outageLog
	inFlight atomic.Int64

	// answers is the status the app wrote for each request, and when
	// (by answerKey): a client that gave up before the answer arrived
	// still has its request judged by what the app said.
	answersMu sync.Mutex
	answers   map[string]outageAnswer

	// stacks holds the app's goroutines that were serving requests when
	// one ran past its deadline + outageSlack/2 (the first few times):
	// where a slow request waits is the diagnosis of its slowness.
	stacksMu sync.Mutex
	stacks   []string
}

// outageStackDumps is how many times an app records its stacks.
const outageStackDumps = 3

// noteSlow records the stacks of the goroutines serving requests.
func (a *outageApp) noteSlow(since time.Duration) {
	a.stacksMu.Lock()
	defer a.stacksMu.Unlock()
	if len(a.stacks) >= outageStackDumps {
		return
	}
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var keep []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		// The handlers' goroutines and the store's work on their behalf.
		if strings.Contains(g, "ServeHTTP") || strings.Contains(g, "fsstore.(*bounder)") || strings.Contains(g, "fsstore.(*call)") {
			keep = append(keep, g)
		}
	}
	a.stacks = append(a.stacks, fmt.Sprintf("--- %s, a request in flight for %v: %d goroutines ---\n%s",
		time.Now().Format("15:04:05.000"), since, len(keep), strings.Join(keep, "\n\n")))
}

func (a *outageApp) slowStacks() string {
	a.stacksMu.Lock()
	defer a.stacksMu.Unlock()
	return strings.Join(a.stacks, "\n")
}

// answerKey names one request of the load: a worker's sequence number
// for the shared sessions, the token for a new visitor.
func answerKey(path, worker string, seq int, token string) string {
	return path + " " + worker + " " + strconv.Itoa(seq) + " " + token
}

// outageAnswer is the app's answer to one request: its status, and when
// the app wrote it.
type outageAnswer struct {
	code int
	at   time.Time
}

// answered returns the status the app wrote for q, and false if it
// wrote none (the request never reached a handler, or is still in one).
func (a *outageApp) answered(q outageReq) (int, bool) {
	ans, ok := a.answer(q)
	return ans.code, ok
}

// answer returns the app's answer to q, and false if it wrote none.
func (a *outageApp) answer(q outageReq) (outageAnswer, bool) {
	a.answersMu.Lock()
	defer a.answersMu.Unlock()
	ans, ok := a.answers[answerKey(q.path, q.worker, q.seq, q.token)]
	return ans, ok
}

// statusRecorder passes the status a handler writes to note, once.
type statusRecorder struct {
	http.ResponseWriter
	note  func(code int)
	noted bool
}

func (w *statusRecorder) WriteHeader(code int) {
	w.record(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	w.record(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) record(code int) {
	if !w.noted {
		w.noted = true
		w.note(code)
	}
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newOutageApp(t *testing.T, st *fsstore.Store) *outageApp {
	a := &outageApp{st: st, log: &outageLog{}, answers: map[string]outageAnswer{}}
	m := httpsession.New(st, append(outageManagerOptions(), httpsession.WithLogger(slog.New(a.log)))...)
	mux := http.NewServeMux()
	mux.Handle("/count", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		key := "a." + r.Header.Get("X-Worker")
		seq, err := strconv.Atoi(r.Header.Get("X-Seq"))
		if err != nil {
			http.Error(w, "bad X-Seq", http.StatusBadRequest)
			return
		}
		var applied seqRanges
		// On an error the session is unusable: the handler writes
		// nothing, and the error handler answers in its place.
		if _, err := s.Get(key, &applied); err != nil {
			return
		}
		if s.Put(key, applied.add(seq)) != nil || s.Put("n", s.GetInt("n")+1) != nil {
			return
		}
		fmt.Fprint(w, "ok")
	})))
	mux.Handle("/visit", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if httpsession.FromContext(r.Context()).Put("v", r.Header.Get("X-Token")) != nil {
			return
		}
		fmt.Fprint(w, "ok")
	})))
	mux.Handle("/ready", outageReadiness(st, m))
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.inFlight.Add(1)
		defer a.inFlight.Add(-1)
		slow := time.AfterFunc(outageDeadline+outageSlack/2, func() { a.noteSlow(outageDeadline + outageSlack/2) })
		defer slow.Stop()
		ctx, cancel := context.WithTimeout(r.Context(), outageDeadline)
		defer cancel()
		if r.Header.Get("X-Seq") == "" { // the readiness probe
			mux.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		// The status is noted before it is sent: by the time the
		// client has it, so has the report.
		seq, _ := strconv.Atoi(r.Header.Get("X-Seq"))
		key := answerKey(r.URL.Path, r.Header.Get("X-Worker"), seq, r.Header.Get("X-Token"))
		rec := &statusRecorder{ResponseWriter: w, note: func(code int) {
			at := time.Now()
			a.answersMu.Lock()
			a.answers[key] = outageAnswer{code, at}
			a.answersMu.Unlock()
		}}
		mux.ServeHTTP(rec, r.WithContext(ctx))
		rec.record(http.StatusOK) // what net/http sends for a handler that wrote nothing
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// outageRun is one host's load on its app during one phase.
type outageRun struct {
	app    *outageApp
	c      *http.Client
	stop   chan struct{}
	wg     sync.WaitGroup
	shared [outageShared][]outageReq
	visits [outageVisitors][]outageReq
	// oks counts each worker's 200s (shared first, then visitors), for
	// the waits of the phase.
	oks     [outageShared + outageVisitors]atomic.Int64
	samples []outageSample
	probes  []outageProbeResult
	// lastOK is when each worker last saw a 200 start (UnixNano).
	lastOK [outageShared + outageVisitors]atomic.Int64
	// steadyAt is when the load was steady, a while before the outage.
	steadyAt time.Time
	// pace is the workers' request interval (a time.Duration): see
	// outagePaceMax.
	pace atomic.Int64
}

func (r *outageRun) paceNow() time.Duration { return time.Duration(r.pace.Load()) }

// settle finds the pace the guest carries (see outagePaceMax): it
// measures the guest's CPU over a window of steady load, two requests per
// worker long at least; when search is set, halves the pace while the
// guest is less than half as busy as outageBusyMax; and doubles it while
// the guest is busier than outageBusyMax, after which it only slows down.
// A window whose CPU reading failed ends the search where it is. It
// leaves r.steadyAt at the start of the last window and returns this
// host's NFS RPC counts then.
func (r *outageRun) settle(t *testing.T, search bool) nfstest.Stats {
	faster := search // no pace tried yet was too busy
	for {
		window := max(outageSteady, 2*r.paceNow())
		r.steadyAt = time.Now()
		rpcs := rpcStats(t)
		cpu0 := nfstest.ReadCPU()
		time.Sleep(window) // a measurement window, not a wait for an event
		share, known := nfstest.ReadCPU().BusySince(cpu0)
		p, next := r.paceNow(), time.Duration(0)
		switch {
		case !known:
		case share > outageBusyMax && p < outagePaceMax:
			next, faster = min(2*p, outagePaceMax), false
		case faster && share < outageBusyMax/2 && p > outagePaceMin:
			next = max(p/2, outagePaceMin)
		}
		if next == 0 {
			nfstest.Event("steady load: pace %v, guest CPU busy %.0f%%", p, 100*share)
			return rpcs
		}
		r.pace.Store(int64(next))
		nfstest.Event("guest CPU busy %.0f%% at a pace of %v: pace now %v", 100*share, p, next)
		t.Logf("%s: the guest's CPU was %.0f%% busy under steady load at a request every %v per worker; now every %v",
			nfstest.Host(), 100*share, p, next)
		// Every worker takes up the new pace after its next request at
		// the old one.
		time.Sleep(p) // the old interval, for the load to change: no event to wait on
	}
}

// rpcStats reads this host's NFS RPC counts, for the report only.
func rpcStats(t *testing.T) nfstest.Stats {
	t.Helper()
	c, err := nfstest.RPCStats(nfstest.Mount())
	if err != nil {
		t.Logf("NFS RPC counts: %v", err)
	}
	return c
}

func workerName(w int) string { return nfstest.Host()[4:] + strconv.Itoa(w) }

func (r *outageRun) do(path, worker string, seq int, cookie, token string) outageReq {
	ctx, cancel := context.WithTimeout(context.Background(), outageClientTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", r.app.srv.URL+path, nil)
	req.Header.Set("X-Worker", worker)
	req.Header.Set("X-Seq", strconv.Itoa(seq))
	req.Header.Set("X-Token", token)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	q := outageReq{path: path, worker: worker, seq: seq, token: token, start: time.Now()}
	resp, err := r.c.Do(req)
	if err == nil {
		readAll(resp)
		q.status = resp.StatusCode
	} else {
		q.err = err.Error()
		q.timedOut = errors.Is(err, context.DeadlineExceeded)
	}
	q.dur = time.Since(q.start)
	return q
}

// start runs the workers, the probe and the sampler until stop closes.
func (r *outageRun) start(phase string, ids []string) {
	loop := func(every func() time.Duration, fn func(seq int) bool) {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			// Each worker starts at its own moment within the first
			// interval, as real clients do, not all in the same instant.
			period := every()
			select {
			case <-r.stop:
				return
			case <-time.After(rand.N(period)):
			}
			tick := time.NewTicker(period)
			defer tick.Stop()
			for seq := 0; ; seq++ {
				if !fn(seq) {
					return
				}
				if p := every(); p != period {
					period = p
					tick.Reset(p)
				}
				select {
				case <-r.stop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	for w := range outageShared {
		loop(r.paceNow, func(seq int) bool {
			q := r.do("/count", workerName(w), seq, ids[w], workerName(w))
			r.shared[w] = append(r.shared[w], q)
			if q.status == 200 {
				r.oks[w].Add(1)
				r.lastOK[w].Store(q.start.UnixNano())
			}
			return true
		})
	}
	for v := range outageVisitors {
		loop(r.paceNow, func(seq int) bool {
			q := r.do("/visit", "", seq, "", fmt.Sprintf("%s-%s-v%d-%d", phase, nfstest.Host(), v, seq))
			r.visits[v] = append(r.visits[v], q)
			if q.status == 200 {
				r.oks[outageShared+v].Add(1)
				r.lastOK[outageShared+v].Store(q.start.UnixNano())
			}
			return true
		})
	}
	// The probe and the sampler: appended to by one goroutine each, read
	// after wg.Wait.
	loop(func() time.Duration { return outageProbe }, func(int) bool {
		ok := r.ready()
		at := time.Now() // when the load balancer has its answer
		if n := len(r.probes); n == 0 || r.probes[n-1].healthy != ok {
			nfstest.Event("readiness: healthy=%v", ok)
		}
		r.probes = append(r.probes, outageProbeResult{at: at, healthy: ok})
		return true
	})
	loop(func() time.Duration { return outageSampleEvery }, func(int) bool {
		r.samples = append(r.samples, outageSample{at: time.Now(), inFlight: r.app.inFlight.Load(), goroutines: runtime.NumGoroutine(), cpu: nfstest.ReadCPU(), cpuSelf: selfCPU()})
		return true
	})
}

// ready asks the app's readiness handler, as the load balancer does, and
// reports whether it answered healthy.
func (r *outageRun) ready() bool {
	resp, err := (&http.Client{Timeout: outageProbeTimeout}).Get(r.app.srv.URL + "/ready")
	if err != nil {
		return false
	}
	readAll(resp)
	return resp.StatusCode == 200
}

// waitFor polls cond until it holds or bound passes; it reports whether
// it held.
func waitFor(bound time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(outageSampleEvery) // polling the load's counters: no event to wait on
	}
	return true
}

// allOKSince reports whether every worker saw a 200 for a request it
// started at or after t.
func (r *outageRun) allOKSince(t time.Time) bool {
	for i := range r.lastOK {
		if r.lastOK[i].Load() < t.UnixNano() {
			return false
		}
	}
	return true
}

// storeLog copies the store's circuit-breaker changes (as its
// BreakerObserver) and the records it logs to the harness's timeline, and
// keeps, with their times, the changes and the breaker's own records (its
// probes) for the report: how readiness follows an outage is the breaker's
// doing.
type storeLog struct {
	mu     sync.Mutex
	events []storeEvent
}

type storeEvent struct {
	at   time.Time
	what string
}

// add records what; the report keeps it only when keep is set.
func (l *storeLog) add(what string, keep bool) {
	nfstest.Event("store: %s", what)
	if !keep {
		return
	}
	l.mu.Lock()
	l.events = append(l.events, storeEvent{time.Now(), what})
	l.mu.Unlock()
}

// breakerMessages start the store's log records about its breaker: the
// report keeps those, what readiness follows (late writes and locks have
// their own counts there).
var breakerMessages = []string{"session store unavailable:", "session store probe failed", "session store available again"}

func (l *storeLog) Observe(fsstore.Event) {}
func (l *storeLog) ObserveBreaker(_, to fsstore.BreakerState) {
	l.add("breaker "+to.String(), true)
}
func (l *storeLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *storeLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *storeLog) WithGroup(string) slog.Handler            { return l }
func (l *storeLog) Handle(_ context.Context, r slog.Record) error {
	keep := slices.ContainsFunc(breakerMessages, func(m string) bool { return strings.HasPrefix(r.Message, m) })
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			msg += ": " + a.Value.String()
		}
		return true
	})
	l.add(msg, keep)
	return nil
}

// since lists the events from from on, each at its offset from from.
func (l *storeLog) since(from time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if !e.at.Before(from) {
			out = append(out, fmt.Sprintf("%+.2fs %s", e.at.Sub(from).Seconds(), e.what))
		}
	}
	return out
}

// outagePhase runs one outage scenario, its load starting at a request
// every pace per worker, and returns the pace the guest carried; search
// lets it try faster paces too (see settle), not only slower ones.
func outagePhase(t *testing.T, kind outageKind, pace time.Duration, search bool) time.Duration {
	// An app host stands for a server with cores of its own; in the
	// guest, with its one CPU, Go would run one goroutine at a time, and
	// one in a blocking NFS call would hold up the rest until the runtime
	// hands its processor on. With 4 the requests' latencies under steady
	// load fell (p90 45-140 ms against 50-370 ms, one run each).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))))
	lease := nfstest.Lease()
	// Hang detectors, far above what a passing run takes: the NFS client
	// retries a hard mount's calls after the outage with its own backoff,
	// and clients reclaim their state within the grace period (= lease).
	recoverBound := outageFor + 2*lease + 30*time.Second
	drainBound := outageFor + 2*lease
	phase := strings.ReplaceAll(t.Name(), "/", "_")
	dir := nfstest.Dir(t)
	abortOnFailure(t, dir)
	var st *fsstore.Store
	var ids []string
	idsFile := filepath.Join(dir, "ids")
	stLog := &storeLog{}
	storeOpts := append(outageStoreOptions(), fsstore.WithObserver(stLog), fsstore.WithLogger(slog.New(stLog)))
	if nfstest.Host() == "hostA" {
		st = openNFSStore(t, dir, storeOpts...)
		ids = seedSessions(t, st, outageShared)
		writeShared(t, idsFile, strings.Join(ids, "\n"))
	} else {
		waitShared(t, idsFile)
		b, err := os.ReadFile(idsFile)
		if err != nil {
			t.Fatal(err)
		}
		ids = strings.Split(string(b), "\n")
		st = openNFSStore(t, dir, storeOpts...)
	}
	app := newOutageApp(t, st)
	tr := app.srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4 * (outageShared + outageVisitors)
	defer tr.CloseIdleConnections()
	r := &outageRun{app: app, c: &http.Client{Transport: tr}, stop: make(chan struct{})}
	r.pace.Store(int64(pace))
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(r.stop)
			r.wg.Wait()
		}
	}
	defer stop()

	nfstest.Barrier(t, "go", 0)
	startAt := time.Now()
	r.start(phase, ids)
	if !waitFor(time.Minute, func() bool { return r.allOKSince(startAt) }) {
		t.Fatal("the load did not get going: some worker saw no 200 in a minute")
	}
	// A window of steady load before the outage, at a pace the guest
	// carries: the reference for the report's latencies, CPU and RPCs
	// (the first seconds are every worker's first request at once, with
	// new connections and cold caches).
	rpcSteady := r.settle(t, search)
	nfstest.Barrier(t, "cut", 0)
	rpcCut, cutAt := rpcStats(t), time.Now()
	// The baseline: the app's goroutines under load, before the outage.
	baseline := runtime.NumGoroutine()

	var cut *nfstest.Cut
	var err error
	switch {
	case kind == outageLinkCut:
		cut, err = nfstest.CutLink(nfstest.Host(), outageFor)
	case nfstest.Host() == "hostA":
		cut, err = nfstest.StopServer(phase, outageFor)
	default:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cut, err = nfstest.AwaitStop(ctx, phase)
		cancel()
	}
	if err != nil {
		t.Fatal(err)
	}
	nfstest.Event("outage begins")
	ctx, cancel := context.WithTimeout(context.Background(), outageFor+time.Minute)
	err = cut.Wait(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	downAt, upAt := cut.Times()
	readyAt := cut.Ready() // surely back: for a restarted nfsd, after upAt
	if downAt.IsZero() || upAt.IsZero() || readyAt.IsZero() {
		t.Fatalf("the outage's times are unknown: %v, %v, %v", downAt, upAt, readyAt)
	}
	nfstest.Event("outage ends (server reachable again; down %v)", upAt.Sub(downAt).Round(time.Millisecond))
	if kind == outageLinkCut {
		// How long this host stays unheard after its link is back is up
		// to its TCP connection's next retransmission: the harness
		// records the connection's retransmission timeout and backoff.
		t.Logf("%s: %s", nfstest.Host(), harnessEvents("link of "+nfstest.Host()+" coming up"))
	}

	// Recovered: every worker saw a 200 for a request it started after
	// the outage, and then did so once more (load on a working store).
	recovered := waitFor(recoverBound, func() bool { return r.allOKSince(upAt) })
	recoveredAt := time.Now()
	rpcRecovered := rpcStats(t)
	if recovered {
		nfstest.Event("every worker served again")
		waitFor(recoverBound, func() bool { return r.allOKSince(recoveredAt) })
	} else {
		t.Errorf("not every worker was served again within %v of the outage's end", recoverBound)
	}
	stop()
	tr.CloseIdleConnections()
	nfstest.Event("load stopped")
	// A last probe that failed is judged by readiness once the load has
	// stopped (see readiness.judge): a check that timed out on a
	// saturated guest answers then; readiness stuck unhealthy does not.
	settled := true
	if n := len(r.probes); n > 0 && !r.probes[n-1].healthy {
		settled = waitFor(drainBound, r.ready)
		nfstest.Event("readiness once the load stopped: healthy=%v", settled)
	}

	// Store work abandoned during the outage may still finish in the
	// background: wait until the goroutines are back to the baseline
	// before reading what was applied.
	drainStart := time.Now()
	drained := waitFor(drainBound, func() bool { return runtime.NumGoroutine() <= baseline })
	nfstest.Event("drained=%v after %v (goroutines %d, baseline %d)", drained, time.Since(drainStart).Round(time.Millisecond), runtime.NumGoroutine(), baseline)
	nfstest.Barrier(t, "verify", recoverBound+drainBound)

	// What was applied: the shared sessions' per-worker sets, and (read
	// once, by hostA, for both) the tokens of the visitors' sessions.
	applied := make([]seqRanges, outageShared)
	for w, id := range ids {
		rec, err := st.Load(t.Context(), id)
		if err != nil {
			t.Fatalf("shared session %d after recovery: %v", w, err)
		}
		var vals map[string]json.RawMessage
		if err := json.Unmarshal(rec.Data, &vals); err != nil {
			t.Fatalf("shared session %d: %v", w, err)
		}
		if v, ok := vals["a."+workerName(w)]; ok {
			if err := json.Unmarshal(v, &applied[w]); err != nil {
				t.Fatalf("shared session %d: %v", w, err)
			}
		}
	}
	tokensFile := filepath.Join(dir, "tokens")
	if nfstest.Host() == "hostA" {
		var tokens []string
		rs, err := st.Range(t.Context(), func(rec *fsstore.Record) bool {
			var vals struct{ V string }
			if json.Unmarshal(rec.Data, &vals) == nil && vals.V != "" {
				tokens = append(tokens, vals.V)
			}
			return true
		})
		if err != nil {
			t.Fatalf("range: %v (%+v)", err, rs)
		}
		writeShared(t, tokensFile, strings.Join(tokens, "\n"))
	} else {
		waitShared(t, tokensFile)
	}
	b, err := os.ReadFile(tokensFile)
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]bool{}
	for _, tok := range strings.Split(string(b), "\n") {
		created[tok] = true
	}

	rep := outageReport(t, r, downAt, upAt, readyAt, recoveredAt, baseline, applied, created, stLog, settled)
	steady, outage := rpcCut.Sub(rpcSteady), rpcRecovered.Sub(rpcCut)
	t.Logf("%s: %s\nNFS RPCs under steady load: %.0f/s (%v); from the outage's start to recovery: %v\napp log:\n%s",
		nfstest.Host(), rep, float64(steady.Total())/cutAt.Sub(r.steadyAt).Seconds(), steady, outage, app.log)
	nfstest.Report(t, fmt.Sprintf("%s %s: %s", phase, nfstest.Host(), rep))
	if t.Failed() {
		if st := app.slowStacks(); st != "" {
			t.Logf("%s: stacks while a request ran late:\n%s", nfstest.Host(), st)
		}
	}
	nfstest.Barrier(t, "done", 0)
	return r.paceNow()
}

// saturated says why the guest could not carry the load before the
// outage, or returns "": its CPU was busier than outageBusyMax under
// steady load (over the whole window before the cut) and either the pace
// could slow no further or the requests that succeeded then took more
// than half their deadline at the 90th percentile. A request then waits
// for the guest's CPU, which says nothing about the store: with CPU to
// spare, the steady load's p90 is tens to a few hundred milliseconds.
// A slow p90 with an idle CPU is the store's, and does not count.
func saturated(busy float64, p90, pace time.Duration) string {
	switch {
	case busy <= outageBusyMax:
		return ""
	case p90 > outageDeadline/2:
		return fmt.Sprintf("the guest's CPU was %.0f%% busy under steady load, and requests then took %v at the 90th percentile (more than half their deadline %v)", 100*busy, p90, outageDeadline)
	case pace >= outagePaceMax:
		return fmt.Sprintf("the guest's CPU was %.0f%% busy under steady load even at a request every %v per worker", 100*busy, pace)
	}
	return ""
}

// readiness is what the load balancer saw of a host's readiness over a
// phase (its probes' answers), judged against the outage.
type readiness struct {
	// unhealthyAt is the first failure after the outage began;
	// healthyAt, the start of the run of passes that lasts to the end
	// (zero: the last probe failed). firstHealthyAt is the first pass
	// after the outage began: later than healthyAt's only when readiness
	// failed again after it (a probe that timed out in the recovery's
	// rush, say), which the report tells apart.
	unhealthyAt, healthyAt, firstHealthyAt time.Time
	// againAt is the first pass once the server was back; failedAt,
	// when healthyAt is zero, the start of the run of failures that
	// lasts to the end.
	againAt, failedAt time.Time
}

// readinessOf reads probes, in the order they were answered, against an
// outage from downAt to upAt.
func readinessOf(probes []outageProbeResult, downAt, upAt time.Time) readiness {
	var rd readiness
	for i, p := range probes {
		if rd.againAt.IsZero() && p.healthy && !p.at.Before(upAt) {
			rd.againAt = p.at
		}
		if !p.healthy && (i == 0 || probes[i-1].healthy) {
			rd.failedAt = p.at
		}
		if rd.unhealthyAt.IsZero() && !p.healthy && !p.at.Before(downAt) {
			rd.unhealthyAt = p.at
		}
		if p.healthy && p.at.After(downAt) && (i == 0 || !probes[i-1].healthy) {
			rd.healthyAt = p.at
			if rd.firstHealthyAt.IsZero() && !rd.unhealthyAt.IsZero() {
				rd.firstHealthyAt = p.at
			}
		}
	}
	if n := len(probes); n > 0 && !probes[n-1].healthy || rd.healthyAt.Before(rd.unhealthyAt) {
		rd.healthyAt = time.Time{} // not healthy again by the end
	}
	return rd
}

// judge returns what readiness did wrong over an outage from downAt to
// upAt (the server surely back at readyAt): fails always fail the test,
// misses are timing bounds missed (see nfstest.Timing).
func (rd readiness) judge(downAt, upAt, readyAt time.Time, settled bool) (fails, misses []string) {
	switch {
	case rd.unhealthyAt.IsZero() || !rd.unhealthyAt.Before(upAt):
		fails = append(fails, "readiness did not turn unhealthy during the outage")
	case rd.unhealthyAt.Sub(downAt) > outageFlip:
		misses = append(misses, fmt.Sprintf("readiness turned unhealthy %s after the outage began; want within %v", since(rd.unhealthyAt, downAt), outageFlip))
	}
	// A probe that failed again once readiness had turned healthy, and
	// was the last, is a check that did not answer within its deadline
	// (httpsession.DefaultHealthTimeout) after the store had: under a
	// saturated guest, whose probes failed so before the outage too, that
	// is the guest's CPU, a timing matter. Readiness stuck unhealthy
	// stays so once the load has stopped (settled false): that fails.
	again := rd.healthyAt
	switch {
	case again.IsZero() && rd.againAt.IsZero():
		fails = append(fails, "readiness did not turn healthy again after the outage")
	case again.IsZero() && !settled:
		fails = append(fails, fmt.Sprintf("readiness turned healthy again %s after the server was back, failed again %s after it, and was still unhealthy once the load had stopped",
			since(rd.againAt, upAt), since(rd.failedAt, upAt)))
	case again.IsZero():
		again = rd.againAt
		misses = append(misses, fmt.Sprintf("readiness failed again %s after the server was back (healthy again %s after it) and was failing when the load stopped; healthy once it had stopped",
			since(rd.failedAt, upAt), since(rd.againAt, upAt)))
	}
	switch {
	case again.IsZero():
	case again.Before(upAt):
		fails = append(fails, fmt.Sprintf("readiness turned healthy %s before the server came back", upAt.Sub(again).Round(time.Millisecond)))
	case again.Sub(readyAt) > outageFlip:
		misses = append(misses, fmt.Sprintf("readiness turned healthy again %s after the server was surely back (%s after it began to come back); want within %v",
			since(again, readyAt), since(again, upAt), outageFlip))
	}
	return fails, misses
}

// outageWave is the first wave of an outage's requests: those that
// started during it before the app had answered any request that started
// during it (see hungThroughOutage).
type outageWave struct {
	first time.Time   // the app's first answer to a request that started during the outage; zero: none before its end
	n     int         // the requests of the wave
	hung  []outageReq // those the app had not answered when the outage ended
}

// hungThroughOutage returns the first wave of the outage from downAt to
// upAt among reqs (a host's load): the requests that started during it
// before the app had answered any request that started during it, all of
// them when it answered none before the outage's end. A request of the
// wave that the app had not answered when the outage ended met the dead
// server as the first ones did, and was still waiting long after their
// answers: it hung on the server through the outage. That is an order of
// events, not a timing bound, which a guest's saturated CPU could miss: a
// slow guest delays every answer alike, and the outage lasts many times a
// request's deadline.
func hungThroughOutage(reqs []outageReq, answer func(outageReq) (outageAnswer, bool), downAt, upAt time.Time) outageWave {
	var w outageWave
	during := func(q outageReq) bool { return !q.start.Before(downAt) && q.start.Before(upAt) }
	for _, q := range reqs {
		if ans, ok := answer(q); ok && during(q) && ans.at.Before(upAt) && (w.first.IsZero() || ans.at.Before(w.first)) {
			w.first = ans.at
		}
	}
	for _, q := range reqs {
		if !during(q) || !w.first.IsZero() && !q.start.Before(w.first) {
			continue
		}
		w.n++
		if ans, ok := answer(q); !ok || !ans.at.Before(upAt) {
			w.hung = append(w.hung, q)
		}
	}
	return w
}

// since is t's time from from, for a report; "never" for a zero t.
func since(t, from time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Sub(from).Round(10 * time.Millisecond).String()
}

// outageReport checks and summarizes one host's phase. settled: readiness
// answered healthy once the load had stopped (asked only when the last
// probe failed).
func outageReport(t *testing.T, r *outageRun, downAt, upAt, readyAt, recoveredAt time.Time, baseline int,
	applied []seqRanges, created map[string]bool, stLog *storeLog, settled bool) string {
	t.Helper()
	type tally struct {
		n, ok, unavailable, inDoubt, timeout, other, slow int
		connErr                                           int // no response, not a timeout
		// unseen504 counts requests the app answered 504 after their
		// client had given up; mismatch, those answered otherwise than
		// the client saw.
		unseen504, mismatch                                int
		lost, lateAfter503, lateAfter504, lateAfterTimeout int
		maxDur                                             time.Duration
		maxBounded                                         time.Duration // of those the bound is for
	}
	var all tally
	statuses := map[string]int{}
	var lostReqs []string // the first few, for the diagnosis
	var slowReqs []string // likewise
	var slowOK []string   // slow requests that succeeded before the outage
	var connErrs []string // client errors other than timeouts, the first few
	var mismatches []string
	// unanswered counts, by what the app answered, the requests whose
	// client saw no response ("none": the app wrote nothing).
	unanswered := map[string]int{}
	slowDuring, slowAfter := 0, 0
	// okBefore are the durations of the 200s of the steady window: started
	// in it and done before the outage began.
	var okBefore []time.Duration
	count := func(q outageReq, wasApplied bool) {
		answer, answeredOK := r.app.answered(q) // what the app sent, whether the client saw it or not
		end := q.start.Add(q.dur)
		if q.status == 200 && !q.start.Before(r.steadyAt) && end.Before(downAt) {
			okBefore = append(okBefore, q.dur)
		}
		if q.status == 200 && !wasApplied && len(lostReqs) < 20 {
			lostReqs = append(lostReqs, fmt.Sprintf("seq %d %s started %+.3fs took %v", q.seq, q.token, q.start.Sub(downAt).Seconds(), q.dur.Round(time.Millisecond)))
		}
		all.n++
		all.maxDur = max(all.maxDur, q.dur)
		// The bound is for requests that the outage could reach: one
		// that succeeded before the cut is outside it (the acceptance's
		// "503, or success before the cut"), and is only reported.
		succeededBefore := q.status == 200 && end.Before(downAt)
		if q.dur > outageDeadline+outageSlack && succeededBefore {
			slowOK = append(slowOK, fmt.Sprintf("%s seq %d started %+.3fs took %v", q.path, q.seq, q.start.Sub(downAt).Seconds(), q.dur.Round(time.Millisecond)))
		}
		if !succeededBefore {
			all.maxBounded = max(all.maxBounded, q.dur)
		}
		if q.dur > outageDeadline+outageSlack && !succeededBefore {
			all.slow++
			if q.start.Before(upAt) {
				slowDuring++
			} else {
				slowAfter++
			}
			if len(slowReqs) < 12 {
				slowReqs = append(slowReqs, fmt.Sprintf("%s seq %d started %+.3fs took %v status %d %s", q.path, q.seq, q.start.Sub(downAt).Seconds(), q.dur.Round(time.Millisecond), q.status, q.err))
			}
		}
		switch q.status {
		case 200:
			all.ok++
			if !wasApplied {
				all.lost++
			}
		case 503:
			all.unavailable++
			if wasApplied {
				all.lateAfter503++
			}
		case 504:
			all.inDoubt++
			if wasApplied {
				all.lateAfter504++
			}
		case 0:
			all.timeout++
			if !q.timedOut {
				all.connErr++
				if len(connErrs) < 5 {
					connErrs = append(connErrs, q.err)
				}
			}
			if wasApplied {
				all.lateAfterTimeout++
			}
			// The client gave up, but the app may have answered: its
			// answer is what the request is held to.
			if answeredOK {
				unanswered[strconv.Itoa(answer)]++
			} else {
				unanswered["none"]++
			}
			switch {
			case answer == 503 && wasApplied:
				all.lateAfter503++
			case answer == 504:
				all.unseen504++
			}
		default:
			all.other++
		}
		if q.status != 0 && answeredOK && answer != q.status {
			all.mismatch++
			if len(mismatches) < 5 {
				mismatches = append(mismatches, fmt.Sprintf("%s seq %d: the app answered %d, the client saw %d", q.path, q.seq, answer, q.status))
			}
		}
		if q.status != 200 {
			k := strconv.Itoa(q.status)
			if q.status == 0 {
				k = "no response"
			}
			statuses[k]++
		}
	}
	for w := range r.shared {
		lost := all.lost
		for _, q := range r.shared[w] {
			count(q, applied[w].has(q.seq))
		}
		if all.lost > lost {
			t.Logf("worker %s: applied %v", workerName(w), applied[w])
		}
	}
	for v := range r.visits {
		for _, q := range r.visits[v] {
			count(q, created[q.token])
		}
	}

	// The guest's CPU: busy share during the outage, from its end until
	// every worker was served again, and the busiest second of the two.
	cpu := func(from, to time.Time) (share, peak, self float64) {
		var first, last *outageSample
		for i := range r.samples {
			sm := &r.samples[i]
			if sm.at.Before(from) || sm.at.After(to) {
				continue
			}
			if first == nil {
				first = sm
			}
			last = sm
		}
		if first == nil || last == first {
			return 0, 0, 0
		}
		share, known := last.cpu.BusySince(first.cpu)
		if !known {
			return 0, 0, 0
		}
		self = float64(last.cpuSelf-first.cpuSelf) / float64(last.cpu.Total-first.cpu.Total)
		mark := first
		for i := range r.samples {
			sm := &r.samples[i]
			if sm.at.Before(first.at) || sm.at.After(last.at) || sm.at.Sub(mark.at) < time.Second {
				continue
			}
			if busy, known := sm.cpu.BusySince(mark.cpu); known {
				peak = max(peak, busy)
			}
			mark = sm
		}
		return share, peak, self
	}
	cpuBefore, _, selfBefore := cpu(r.steadyAt, downAt)
	cpuOut, peakOut, _ := cpu(downAt, upAt)
	cpuRec, peakRec, _ := cpu(upAt, recoveredAt)

	// Samples during the outage and until recovery.
	maxIn, maxG := int64(0), 0
	for _, s := range r.samples {
		if !s.at.Before(downAt) && s.at.Before(recoveredAt) {
			maxIn, maxG = max(maxIn, s.inFlight), max(maxG, s.goroutines)
		}
	}
	rd := readinessOf(r.probes, downAt, upAt)
	unhealthyAt, healthyAt, firstHealthyAt := rd.unhealthyAt, rd.healthyAt, rd.firstHealthyAt
	var flips []string
	for i, p := range r.probes {
		if i == 0 || p.healthy != r.probes[i-1].healthy {
			flips = append(flips, fmt.Sprintf("%+.2fs %v", p.at.Sub(downAt).Seconds(), map[bool]string{true: "healthy", false: "unhealthy"}[p.healthy]))
		}
	}

	const inFlightBound = outageShared + outageVisitors + 1 // closed-loop clients and the probe
	goroutineBound := baseline + outageGoroutineAllowance
	if all.lost > 0 {
		t.Errorf("%d acknowledged updates lost; the first (times from the outage's start): %q", all.lost, lostReqs)
	}
	slices.Sort(okBefore)
	pct := func(p float64) time.Duration {
		if len(okBefore) == 0 {
			return 0
		}
		return okBefore[int(p*float64(len(okBefore)-1))].Round(time.Millisecond)
	}
	// The timing bounds are asserted when SESSFS_NFS_OUTAGE_TIMING is 1
	// and the guest was not saturated before the outage; a miss is always
	// reported.
	timing := nfstest.NewTiming(t, saturated(cpuBefore, pct(0.9), r.paceNow()))
	if all.other > 0 {
		t.Errorf("%d requests ended with other statuses than 200, 503 and 504: %v", all.other, statuses)
	}
	if all.connErr > 0 {
		t.Errorf("%d requests ended in a client error other than its timeout (a reset or closed connection); the first: %q", all.connErr, connErrs)
	}
	if n := all.timeout - all.connErr; n > 0 {
		timing.Miss("%d requests got no answer within the client's %v", n, outageClientTimeout)
	}
	if all.slow > 0 {
		timing.Miss("%d requests took longer than their deadline %v + %v (longest %v; %d started before the outage's end, %d after it); the first (times from the outage's start): %q",
			all.slow, outageDeadline, outageSlack, all.maxBounded.Round(time.Millisecond), slowDuring, slowAfter, slowReqs)
	}
	if len(slowOK) > 0 {
		t.Logf("%d requests succeeded before the outage, after longer than their deadline %v + %v (outside the bound): %q",
			len(slowOK), outageDeadline, outageSlack, slowOK)
	}
	// A 503 means "not saved"; a write the store gave up on while it was
	// already under way is in doubt, answered 504, and only those may be
	// applied late.
	inDoubt := r.app.log.doubts()
	if all.lateAfter503 > 0 {
		t.Errorf("%d updates were applied although the app answered 503 (not saved)", all.lateAfter503)
	}
	if all.inDoubt+all.unseen504 != inDoubt {
		t.Errorf("%d requests answered 504 (%d of them after their client gave up), but the app logged %d writes in doubt", all.inDoubt+all.unseen504, all.unseen504, inDoubt)
	}
	if all.mismatch > 0 {
		t.Errorf("%d requests were answered otherwise than their client saw: %q", all.mismatch, mismatches)
	}
	fails, misses := rd.judge(downAt, upAt, readyAt, settled)
	for _, f := range fails {
		t.Errorf("%s", f)
	}
	for _, m := range misses {
		timing.Miss("%s", m)
	}
	var reqs []outageReq
	for _, qs := range r.shared {
		reqs = append(reqs, qs...)
	}
	for _, qs := range r.visits {
		reqs = append(reqs, qs...)
	}
	wave := hungThroughOutage(reqs, r.app.answer, downAt, upAt)
	switch {
	case wave.first.IsZero() && wave.n > 0:
		t.Errorf("the app answered none of the %d requests started during the outage before it ended", wave.n)
	case len(wave.hung) > 0:
		var first []string
		for _, q := range wave.hung[:min(len(wave.hung), 5)] {
			first = append(first, fmt.Sprintf("%s seq %d %s started %+.3fs", q.path, q.seq, q.token, q.start.Sub(downAt).Seconds()))
		}
		t.Errorf("%d of the %d requests started during the outage before the app had answered any started during it (+%s) were still unanswered when it ended: they hung on the server; the first (times from the outage's start): %q",
			len(wave.hung), wave.n, since(wave.first, downAt), first)
	}
	if maxIn > inFlightBound {
		t.Errorf("in-flight requests reached %d during the outage; bound %d", maxIn, inFlightBound)
	}
	if maxG > goroutineBound {
		t.Errorf("goroutines reached %d during the outage; bound %d (baseline %d)", maxG, goroutineBound, baseline)
	}
	return fmt.Sprintf("%d requests (200s under steady load before the outage, a request every %v per worker: p50 %v, p90 %v, max %v): %d ok, %d 503, %d 504, %d no response, %d other (non-200: %v); longest %v, %d over %v; "+
		"lost %d; applied late after 503: %d, after 504 (in doubt): %d of %d, after no response: %d (the app's answers to those with none: %v); "+
		"in flight max %d (bound %d); goroutines max %d (baseline %d, bound %d); "+
		"readiness unhealthy +%s after the outage began, healthy +%s after it ended (+%s after the server was surely back; first pass +%s; flips from the outage's start, %v long: %v; the store's breaker and log: %q); all workers served again +%s after it ended; "+
		"guest CPU busy %.0f%% under steady load before the outage (this app's process %.0f%%), %.0f%% during it (busiest second %.0f%%), %.0f%% from its end to recovery (%.0f%%); "+
		"first wave: %d requests started during the outage before its first answer to one (+%s), %d unanswered at its end",
		all.n, r.paceNow(), pct(0.5), pct(0.9), pct(1), all.ok, all.unavailable, all.inDoubt, all.timeout, all.other, statuses, all.maxDur.Round(time.Millisecond), all.slow, outageDeadline+outageSlack,
		all.lost, all.lateAfter503, all.lateAfter504, all.inDoubt, all.lateAfterTimeout, unanswered,
		maxIn, inFlightBound, maxG, baseline, goroutineBound,
		since(unhealthyAt, downAt), since(healthyAt, upAt), since(healthyAt, readyAt), since(firstHealthyAt, upAt), upAt.Sub(downAt).Round(10*time.Millisecond), flips, stLog.since(downAt), since(recoveredAt, upAt),
		100*cpuBefore, 100*selfBefore, 100*cpuOut, 100*peakOut, 100*cpuRec, 100*peakRec,
		wave.n, since(wave.first, downAt), len(wave.hung)) +
		"; " + timing.Summary()
}
