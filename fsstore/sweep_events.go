package fsstore

import (
	"context"
	"sync"
)

// sweepEventsAhead is how many of a sweep's reports may wait for their
// delivery before its workers wait for them, between files.
const sweepEventsAhead = 1024

// sweepEvents delivers a sweep's reports to the world outside the store
// (OnRemove, OnError, OnForeign, the Observer's removals, the log's
// skipped files) on a goroutine of its own, in the order they were made.
// A worker reports while it may hold a session's lock (it judges some
// records, and settles those an earlier sweep left aside, under it): a
// callback run there held the lock for as long as it took, and a callback
// that blocked (sessgc's output to a pager left stalled, a slow database)
// kept every request for that session waiting. A worker never waits for
// a delivery while it holds a session's lock: post does not block, and the
// workers wait for the deliveries to catch up (wait) only between files,
// where they hold none but the store's sweep lock (from the first record
// moved aside to the end: a callback that blocks keeps it held, as it did
// when it ran on the worker, and another sweep, or a rekey of a record
// aside, waits), so the reports waiting stay bounded by sweepEventsAhead
// plus what a worker reports on one batch of files.
type sweepEvents struct {
	mu      sync.Mutex
	q       []func() // under mu: posted, not yet taken for delivery
	pending int      // under mu: posted and not yet delivered
	closed  bool     // under mu: no more posts; deliver what is left and stop
	wake    chan struct{}
	caught  chan struct{} // under mu: closed, and made anew, when pending falls
	done    chan struct{}
}

func newSweepEvents() *sweepEvents {
	e := &sweepEvents{wake: make(chan struct{}, 1), caught: make(chan struct{}), done: make(chan struct{})}
	go e.deliver()
	return e
}

// post queues f for delivery. It never blocks.
func (e *sweepEvents) post(f func()) {
	e.mu.Lock()
	e.q = append(e.q, f)
	e.pending++
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// wait returns once fewer than sweepEventsAhead reports wait for their
// delivery, or with ctx's error. A worker calls it holding no lock.
func (e *sweepEvents) wait(ctx context.Context) error {
	for {
		e.mu.Lock()
		if e.pending < sweepEventsAhead {
			e.mu.Unlock()
			return nil
		}
		caught := e.caught
		e.mu.Unlock()
		select {
		case <-caught:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close delivers what was posted and returns once it has been.
func (e *sweepEvents) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	<-e.done
}

func (e *sweepEvents) deliver() {
	defer close(e.done)
	for {
		e.mu.Lock()
		q, closed := e.q, e.closed
		e.q = nil
		e.mu.Unlock()
		if len(q) == 0 {
			if closed {
				return
			}
			<-e.wake
			continue
		}
		for i, f := range q {
			f()
			q[i] = nil
			e.mu.Lock()
			if e.pending--; e.pending == sweepEventsAhead-1 {
				// Only a fall below the bound can let a worker go on.
				close(e.caught)
				e.caught = make(chan struct{})
			}
			e.mu.Unlock()
		}
	}
}
