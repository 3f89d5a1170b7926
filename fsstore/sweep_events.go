package fsstore

import (
	"context"
	"sync"
)

// sweepEvents delivers a sweep's reports to the world outside the store
// (OnRemove, OnError, OnForeign, the Observer's removals, the log's
// skipped files), one at a time, in the order they were made, never on a
// goroutine that holds a session's lock. A worker reports while it may
// hold one (it judges some records, and settles those an earlier sweep
// left aside, under it): a callback run there held the lock for as long
// as it took, and a callback that blocked (sessgc's output to a pager left
// stalled, a slow database) kept every request for that session waiting.
// So a report is only queued (post), and a worker delivers the queue
// itself (wait) between files, where it holds no lock but the store's
// sweep lock (from the first record moved aside to the end: a callback
// that blocks keeps that held, and another sweep, or a rekey of a record
// aside, waits). A worker delivers before it goes on to its next file, so
// a callback that ends the sweep's context (a caller's "enough") stops it
// there, as when callbacks ran where the report was made; a goroutine of
// their own, which the workers did not wait for, let them remove more
// files after it. What is left when the workers are done, Sweep delivers
// (close) once it has released its locks.
type sweepEvents struct {
	mu sync.Mutex
	q  []func() // under mu: posted, not yet taken for delivery
	// turn is held by the goroutine delivering: one at a time, so that
	// callbacks run one after the other and in order, and a worker waiting
	// for its turn can give up when its context ends.
	turn chan struct{}
}

func newSweepEvents() *sweepEvents {
	return &sweepEvents{turn: make(chan struct{}, 1)}
}

// post queues f for delivery. It never blocks.
func (e *sweepEvents) post(f func()) {
	e.mu.Lock()
	e.q = append(e.q, f)
	e.mu.Unlock()
}

// wait delivers what was posted, and returns once it has been, or with
// ctx's error: at once if ctx ended while it waited for another worker's
// delivery, and after delivering if a callback ended it. A worker calls
// it holding no session lock.
func (e *sweepEvents) wait(ctx context.Context) error {
	e.mu.Lock()
	empty := len(e.q) == 0
	e.mu.Unlock()
	if empty {
		return nil
	}
	select {
	case e.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.turn }()
	e.deliver()
	return ctx.Err()
}

// close delivers what is left. Sweep calls it once its workers are done
// and its locks released.
func (e *sweepEvents) close() {
	e.turn <- struct{}{}
	defer func() { <-e.turn }()
	e.deliver()
}

// deliver runs the queue, taken in order, until it is empty. The caller
// holds the turn.
func (e *sweepEvents) deliver() {
	for {
		e.mu.Lock()
		q := e.q
		e.q = nil
		e.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}
