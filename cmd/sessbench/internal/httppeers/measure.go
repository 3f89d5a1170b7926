package httppeers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/bytesize"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/hist"
)

// Config is what one run measures.
type Config struct {
	Sizes []int // session payload sizes, bytes
	// Duration is the measured time per peer, size and measurement (one
	// client, then Concurrency clients), split over Rounds.
	Duration time.Duration
	Rounds   int
	// Concurrency is the number of clients of the throughput measurement,
	// each on sessions of its own.
	Concurrency int
	// Sessions per peer and size the latency and throughput requests
	// cycle through.
	Sessions int
	// HotClients × HotIncrements requests increment one session's counter
	// concurrently; what the counter misses are lost updates.
	HotClients, HotIncrements int
	// SessionTTL is how long the peers keep a session (see
	// PeerOptions.SessionTTL), for the report.
	SessionTTL time.Duration
	// OnStep, if set, is called before each measurement with its name.
	OnStep func(string)
}

// PlannedLength is how long the measurements of peers peers take by the
// plan: --duration for each peer, size and measurement (one client, then
// Concurrency). The lost-update test and the sessions' creation come on
// top; redistarget.TTL's margin covers them.
func (c *Config) PlannedLength(peers int) time.Duration {
	n := 2 * int64(peers) * int64(len(c.Sizes))
	if n <= 0 || c.Duration <= 0 {
		return 0
	}
	if int64(c.Duration) > math.MaxInt64/n {
		return math.MaxInt64
	}
	return c.Duration * time.Duration(n)
}

// MaxHotIncrements bounds the lost-update test's increments, clients ×
// increments each: each answered one's counter value is kept until the
// test ends (8 bytes), and they all go to one session, one at a time on
// a peer that locks it, so a million take minutes already.
const MaxHotIncrements = 1_000_000

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case len(c.Sizes) == 0:
		return errors.New("--size: no session size")
	case c.Duration <= 0:
		return fmt.Errorf("--duration %v: must be positive", c.Duration)
	case c.Rounds < 1:
		return fmt.Errorf("--rounds %d: must be at least 1", c.Rounds)
	case c.Duration/time.Duration(c.Rounds) <= 0:
		return fmt.Errorf("duration %v: less than 1ns per round (%d rounds)", c.Duration, c.Rounds)
	case c.Concurrency < 1 || c.Concurrency > bench.MaxConcurrency:
		return fmt.Errorf("--concurrency %d: need 1..%d", c.Concurrency, bench.MaxConcurrency)
	case c.Sessions < c.Concurrency:
		return fmt.Errorf("--sessions %d: must be at least --concurrency (%d), as each client has sessions of its own", c.Sessions, c.Concurrency)
	case c.Sessions > bench.MaxSessions:
		return fmt.Errorf("--sessions %d: at most %d", c.Sessions, bench.MaxSessions)
	case c.HotClients < 0 || c.HotIncrements < 0:
		return fmt.Errorf("--hot %dx%d: negative", c.HotClients, c.HotIncrements)
	case (c.HotClients == 0) != (c.HotIncrements == 0):
		// Either alone would skip the test without a word.
		return fmt.Errorf("--hot %dx%d: no increment would be sent; give clients and increments, or 0x0 for no lost-update test", c.HotClients, c.HotIncrements)
	case c.HotClients > bench.MaxConcurrency:
		return fmt.Errorf("--hot %dx%d: at most %d clients", c.HotClients, c.HotIncrements, bench.MaxConcurrency)
	case c.HotIncrements > MaxHotIncrements || int64(c.HotClients)*int64(c.HotIncrements) > MaxHotIncrements:
		// Each bounded first, and multiplied in 64 bits: the product of
		// two large ones overflows.
		return fmt.Errorf("--hot %dx%d: at most %d increments in all (clients × increments)", c.HotClients, c.HotIncrements, MaxHotIncrements)
	}
	return nil
}

// Result is one peer at one session size.
type Result struct {
	Peer string `json:"peer"`
	Size int    `json:"size"`
	// One client, requests back to back.
	P50NS      int64   `json:"p50_ns"`
	P99NS      int64   `json:"p99_ns"`
	Requests1  int     `json:"requests_1"`
	Throughput float64 `json:"throughput_rps"` // with Concurrency clients
	P50NSConc  int64   `json:"p50_ns_concurrent"`
	RequestsN  int     `json:"requests_concurrent"`
	// The same-session test: increments sent, answered 200, and what the
	// counter gained.
	HotSent int `json:"hot_sent"`
	HotOK   int `json:"hot_ok"`
	HotGain int `json:"hot_gain"`
	// Lost is the increments answered 200 that the counter does not show
	// (see countHot); never negative.
	Lost     int `json:"lost_updates"`
	HotFails int `json:"hot_failed"` // answered with an error status
	// HotSavedFailed is the increments the counter shows beyond those
	// answered 200: saved although they were answered with an error
	// status, as a 504 from httpsession (fsstore.ErrInDoubt) says may
	// happen. Counted apart from Lost, which they would otherwise
	// offset, or turn negative.
	HotSavedFailed int `json:"hot_saved_failed"`
}

// client is one user's cookie on one peer.
type client struct {
	h      http.Handler
	cookie string
}

// do sends one request and returns the status and body.
func (c *client) do(path string) (int, string) {
	// Over HTTPS, as in production: httpsession's cookie is Secure, and
	// it warns of one sent in answer to plain HTTP, which a browser
	// would not send back.
	req := httptest.NewRequest(http.MethodGet, "https://example.com"+path, nil)
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == cookieName {
			c.cookie = ck.Name + "=" + ck.Value
		}
	}
	return rec.Code, rec.Body.String()
}

// newSession creates a session of about size bytes on h and returns its
// client.
func newSession(h http.Handler, size int) (*client, error) {
	c := &client{h: h}
	code, body := c.do(pathNew + "?size=" + strconv.Itoa(size))
	if code != http.StatusOK {
		return nil, fmt.Errorf("creating a session: %d %s", code, strings.TrimSpace(body))
	}
	if c.cookie == "" {
		return nil, errors.New("creating a session: no session cookie in the response")
	}
	return c, nil
}

// incr is one measured request; an error status fails the run, since a
// peer that answers errors fast would otherwise look good.
func (c *client) incr() error {
	code, body := c.do(pathIncr)
	if code != http.StatusOK {
		return fmt.Errorf("%s: %d %s", pathIncr, code, strings.TrimSpace(body))
	}
	return nil
}

// Failure is a peer that failed during the run: it has no results, and
// the other peers' are kept.
type Failure struct {
	Peer  string `json:"peer"`
	Error string `json:"error"`
}

// Run measures every peer at every size. Rounds interleave the peers (A B C
// A B C ...), so drift on a shared machine hits them alike. A peer that
// fails (a request answered with an error status, its store not
// answering) is left out from then on and returned among the failures,
// with no results: a peer's half-measured figures compare with nothing,
// and the other peers' runs go on. The error is a bad configuration's, or
// ctx's end.
func Run(ctx context.Context, cfg Config, peers []*Peer) ([]Result, []Failure, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	type cell struct {
		peer    *Peer
		res     Result
		clients []*client
		// Histograms, not every latency: memory stays flat however long
		// the run.
		lat1, latN hist.Histogram
		elapsed    time.Duration
	}
	failed := map[*Peer]bool{}
	var failures []Failure
	fail := func(p *Peer, err error) {
		if !failed[p] {
			failed[p] = true
			failures = append(failures, Failure{Peer: p.Name, Error: err.Error()})
		}
	}
	var cells []*cell
	for _, size := range cfg.Sizes {
		for _, p := range peers {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			if failed[p] {
				continue
			}
			c := &cell{peer: p, res: Result{Peer: p.Name, Size: size}}
			// The run's end (Ctrl-C) is looked at before each request:
			// --sessions of them on a slow mount take minutes.
			err := func() error {
				for range cfg.Sessions {
					if err := ctx.Err(); err != nil {
						return err
					}
					cl, err := newSession(p.Handler, size)
					if err != nil {
						return fmt.Errorf("%s: %w", bytesize.Format(size), err)
					}
					c.clients = append(c.clients, cl)
				}
				// Warm-up: every session once, unrecorded.
				for _, cl := range c.clients {
					if err := ctx.Err(); err != nil {
						return err
					}
					if err := cl.incr(); err != nil {
						return fmt.Errorf("%s, warm-up: %w", bytesize.Format(size), err)
					}
				}
				return nil
			}()
			if ctx.Err() != nil {
				return nil, nil, fmt.Errorf("%s, %s, making its sessions: %w", p.Name, bytesize.Format(size), ctx.Err())
			}
			if err != nil {
				fail(p, err)
				continue
			}
			cells = append(cells, c)
		}
	}
	slice := cfg.Duration / time.Duration(cfg.Rounds)
	for round := range cfg.Rounds {
		for _, c := range cells {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			if failed[c.peer] {
				continue
			}
			step := fmt.Sprintf("round %d/%d: %s, %s", round+1, cfg.Rounds, c.res.Peer, bytesize.Format(c.res.Size))
			if cfg.OnStep != nil {
				cfg.OnStep(step + ", 1 client")
			}
			if err := measure(ctx, c.clients[:1], 1, slice, &c.lat1); err != nil {
				if ctx.Err() != nil {
					return nil, nil, fmt.Errorf("%s: %w", step, err)
				}
				fail(c.peer, fmt.Errorf("%s, 1 client: %w", step, err))
				continue
			}
			if cfg.OnStep != nil {
				cfg.OnStep(fmt.Sprintf("%s, %d clients", step, cfg.Concurrency))
			}
			start := time.Now()
			if err := measure(ctx, c.clients, cfg.Concurrency, slice, &c.latN); err != nil {
				if ctx.Err() != nil {
					return nil, nil, fmt.Errorf("%s: %w", step, err)
				}
				fail(c.peer, fmt.Errorf("%s, %d clients: %w", step, cfg.Concurrency, err))
				continue
			}
			c.elapsed += time.Since(start)
		}
	}
	var out []Result
	for _, c := range cells {
		if failed[c.peer] {
			continue
		}
		r := c.res
		r.Requests1, r.RequestsN = int(c.lat1.Count()), int(c.latN.Count())
		r.P50NS, r.P99NS = int64(c.lat1.Quantile(0.50)), int64(c.lat1.Quantile(0.99))
		r.P50NSConc = int64(c.latN.Quantile(0.50))
		if c.elapsed > 0 {
			r.Throughput = float64(r.RequestsN) / c.elapsed.Seconds()
		}
		if cfg.HotClients > 0 && cfg.HotIncrements > 0 {
			if cfg.OnStep != nil {
				cfg.OnStep(fmt.Sprintf("lost updates: %s, %s", r.Peer, bytesize.Format(r.Size)))
			}
			if err := hot(ctx, cfg, c.peer, &r); err != nil {
				if ctx.Err() != nil {
					return nil, nil, fmt.Errorf("lost updates, %s, %s: %w", r.Peer, bytesize.Format(r.Size), err)
				}
				fail(c.peer, fmt.Errorf("lost updates, %s: %w", bytesize.Format(r.Size), err))
				continue
			}
		}
		out = append(out, r)
	}
	// A peer that failed at a later size has results at an earlier one:
	// they go too.
	out = slices.DeleteFunc(out, func(r Result) bool {
		return slices.ContainsFunc(failures, func(f Failure) bool { return f.Peer == r.Peer })
	})
	return out, failures, nil
}

// measure runs n clients, client i on sessions i, i+n, ..., for d and
// adds every request's latency to h.
func measure(ctx context.Context, clients []*client, n int, d time.Duration, h *hist.Histogram) error {
	var (
		wg    sync.WaitGroup
		stop  atomic.Bool
		mu    sync.Mutex
		first error
	)
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []*client
			for j := i; j < len(clients); j += n {
				mine = append(mine, clients[j])
			}
			var lat hist.Histogram
			var err error
			// One request at least, whatever the slice: the timer may
			// fire before this goroutine runs, and a measurement of
			// none would report a p50 of 0.
			for k := 0; ctx.Err() == nil && (k == 0 || !stop.Load()); k++ {
				t0 := time.Now()
				if err = mine[k%len(mine)].incr(); err != nil {
					stop.Store(true)
					break
				}
				lat.Record(time.Since(t0))
			}
			mu.Lock()
			h.Merge(&lat)
			if first == nil {
				first = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// hot sends HotClients × HotIncrements increments to one new session at
// once and counts what the counter lost. An increment answered with an
// error is counted as failed (a 504 from sessfs says it may have been
// saved), unless the peer's store failed (see Peer.fault): that ends the
// test with the store's error, rather than count each request that waits
// for a server that does not answer.
func hot(ctx context.Context, cfg Config, p *Peer, r *Result) error {
	h := p.Handler
	fault := func() error {
		if p.fault == nil {
			return nil
		}
		return p.fault()
	}
	base, err := newSession(h, r.Size)
	if err != nil {
		return err
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		wrote  []int // the counter each increment answered 200 says it wrote
		failed int
		bad    error
	)
	for range cfg.HotClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &client{h: h, cookie: base.cookie}
			for range cfg.HotIncrements {
				if ctx.Err() != nil || fault() != nil {
					return
				}
				code, body := c.do(pathIncr)
				mu.Lock()
				if code == http.StatusOK {
					v, err := strconv.Atoi(strings.TrimSpace(body))
					if err != nil && bad == nil {
						bad = fmt.Errorf("%s answered 200 with %q, not the counter it wrote", pathIncr, body)
					}
					wrote = append(wrote, v)
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := fault(); err != nil {
		return err
	}
	if bad != nil {
		return bad
	}
	code, body := base.do(pathGet)
	if code != http.StatusOK {
		return fmt.Errorf("%s: %d %s", pathGet, code, strings.TrimSpace(body))
	}
	n, err := strconv.Atoi(strings.TrimSpace(body))
	if err != nil {
		return fmt.Errorf("%s: counter %q: %w", pathGet, body, err)
	}
	r.HotSent = cfg.HotClients * cfg.HotIncrements
	r.HotOK, r.HotFails, r.HotGain = len(wrote), failed, n
	r.Lost, r.HotSavedFailed = countHot(wrote, n, failed)
	return nil
}

// countHot splits the same-session test's outcome: wrote holds the counter
// value each increment answered 200 said it wrote, final is the counter at
// the end. The counter shows a chain of saves that each built on the one
// before, one for each value from 1 to final; an answered increment is in
// it only if its value is, and no two are at one value. So the distinct
// values in 1..final are as many answered increments as the counter can
// show: the rest are lost (two answered the same value, so one overwrote
// the other; or a value above final, wound back by a slower save), and
// the chain's other values were saved by increments answered with an
// error. Both are the fewest the replies allow: an answered increment
// overwritten by a failed one that wrote the same value looks as if it
// had been saved.
//
// The difference of the totals, answered minus final, set the two against
// each other: a saved failure hid a lost update, and more of them than
// lost updates made it negative.
//
// Saved failures are at most the failed increments: a counter that moved
// more than the requests sent could make it (a peer that saves twice for
// one request) is not the failures' doing.
func countHot(wrote []int, final, failed int) (lost, savedFailed int) {
	seen := make(map[int]bool, len(wrote))
	for _, v := range wrote {
		if v >= 1 && v <= final {
			seen[v] = true
		}
	}
	return len(wrote) - len(seen), min(final-len(seen), failed)
}
