package httpsession

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// A HealthChecker reports whether a store can serve requests now.
// *fsstore.Store is one (its Health method).
type HealthChecker interface {
	Health(ctx context.Context) error
}

// DefaultHealthTimeout bounds a readiness answer when HealthHandler is
// given no timeout: below the one-second default timeout of a Kubernetes
// readinessProbe, so that a hung file server reads as "not ready" rather
// than as a probe that timed out.
const DefaultHealthTimeout = 800 * time.Millisecond

// HealthHandler returns a readiness handler for load balancers (an ALB
// target group's health check, a Kubernetes readinessProbe): 200 "ok"
// while hc reports healthy, 503 Service Unavailable with Retry-After when
// it reports an error or does not answer within timeout (≤ 0:
// DefaultHealthTimeout). Point the probe at it so that a load balancer
// drains an app server whose session store hangs, or whose mount of it
// turned read-only, instead of sending it requests that can only fail;
// see docs/operator-guide.md.
//
// The answer comes within timeout even if a check hangs in a call to the
// file server despite its deadline: the handler stops waiting, and later
// probes share the check still running rather than start another, so a
// hung server costs one goroutine, not one per probe. The body never
// carries the error (it may name paths); a failure is not logged, since
// probes repeat every few seconds and the store logs its own state
// changes. A check that panics (hc's code, or the store's Observer, whose
// panic Store.Health raises in its caller) runs on a goroutine of the
// handler's, where a panic would end the process: it is recovered there,
// and raised again in each probe that waited for the check, where net/http
// recovers and logs it with the check's stack and drops the connection
// (not ready), as for a panic in any handler.
//
// HealthHandler panics for a nil hc, as http.Handle does for a nil
// handler: every probe would otherwise panic. A nil *fsstore.Store is not
// a nil hc: its probes answer 503, with the error fsstore gives for it.
func HealthHandler(hc HealthChecker, timeout time.Duration) http.Handler {
	if hc == nil {
		panic("httpsession: nil HealthChecker passed to HealthHandler")
	}
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	return &healthHandler{hc: hc, timeout: timeout}
}

type healthHandler struct {
	hc      HealthChecker
	timeout time.Duration

	mu      sync.Mutex
	running *healthRun // the check in progress; nil if none
}

// healthRun is one check, which the probes that arrive while it runs share.
type healthRun struct {
	done chan struct{} // closed when the check ends
	err  error         // its outcome, set before done is closed
}

// healthPanic is the outcome of a check that panicked (a HealthChecker's
// own panic, or the store's Observer's, which Store.Health raises in its
// caller), with the stack of the goroutine it was raised on. Raised
// there, where no one recovers it, it ended the process; the probes that
// waited for the check raise it again in their own goroutines, where
// net/http recovers it and logs it (this text, stack included), as it
// does any handler's, and drops the probe's connection: the host reads
// as not ready, and the panic is seen.
type healthPanic struct {
	value any
	stack []byte
}

func (p *healthPanic) Error() string {
	return fmt.Sprintf("httpsession: the store's health check panicked: %v\n\ngoroutine of the check:\n%s", p.value, p.stack)
}

// errHealthTimeout reports a check that did not answer in time.
var errHealthTimeout = errors.New("httpsession: store health check did not answer in time")

// errHealthExited is the outcome of a check whose goroutine exited
// (runtime.Goexit) without an outcome.
var errHealthExited = errors.New("httpsession: store health check exited without an outcome")

func (h *healthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	done, result := h.check()
	var err error
	select {
	case <-done:
		if err = result(); err != nil {
			var p *healthPanic
			if errors.As(err, &p) {
				panic(p)
			}
		}
	case <-ctx.Done():
		err = fmt.Errorf("%w (%v)", errHealthTimeout, h.timeout)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "unavailable")
		return
	}
	fmt.Fprintln(w, "ok")
}

// check joins the check in progress, or starts one, and returns a channel
// closed when it ends and a function giving its outcome then. The outcome
// is that check's: a later one, started once it ended, may end before the
// caller reads it, and a probe reports the check it waited for.
func (h *healthHandler) check() (<-chan struct{}, func() error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	run := h.running
	if run == nil {
		run = &healthRun{done: make(chan struct{})}
		h.running = run
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
			returned := false
			defer func() {
				cancel()
				if v := recover(); v != nil {
					run.err = &healthPanic{value: v, stack: debug.Stack()}
				} else if !returned {
					run.err = errHealthExited // runtime.Goexit: no outcome, so not healthy
				}
				h.mu.Lock()
				h.running = nil
				h.mu.Unlock()
				close(run.done)
			}()
			run.err = h.hc.Health(ctx)
			returned = true
		}()
	}
	return run.done, func() error { return run.err }
}
