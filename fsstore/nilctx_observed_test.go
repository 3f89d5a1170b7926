package fsstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

type eventLog struct {
	mu     sync.Mutex
	events []fsstore.Event
}

func (l *eventLog) Observe(e fsstore.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) take() []fsstore.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

// TestNilContextObservedAsInvalid holds that a call of a Store given a nil
// Context is reported to the Observer once, as OutcomeInvalid, as a
// Locked's is and as the Observer's outcomes are documented (a call the
// caller should not have made), where the Store's went unreported; and
// that no number of them opens the breaker.
func TestNilContextObservedAsInvalid(t *testing.T) {
	const id = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	var nilCtx context.Context
	sess := func() *fsstore.Session {
		return &fsstore.Session{ID: id, Data: []byte("x"), Expires: time.Now().Add(time.Hour)}
	}
	calls := []struct {
		op   fsstore.Op
		call func(s *fsstore.Store) error
	}{
		{fsstore.OpLoad, func(s *fsstore.Store) error { _, err := s.Load(nilCtx, id); return err }},
		{fsstore.OpLoad, func(s *fsstore.Store) error { _, err := s.LoadInto(nilCtx, id, nil); return err }},
		{fsstore.OpSave, func(s *fsstore.Store) error { return s.Save(nilCtx, sess()) }},
		{fsstore.OpCompareAndSwap, func(s *fsstore.Store) error { return s.CompareAndSwap(nilCtx, sess()) }},
		{fsstore.OpDelete, func(s *fsstore.Store) error { return s.Delete(nilCtx, id) }},
		{fsstore.OpTouch, func(s *fsstore.Store) error { return s.Touch(nilCtx, id) }},
		{fsstore.OpLockWait, func(s *fsstore.Store) error { _, err := s.Lock(nilCtx, id, fsstore.Exclusive); return err }},
	}
	for _, bounded := range []bool{false, true} {
		log := &eventLog{}
		opts := []fsstore.Option{fsstore.WithObserver(log)}
		if bounded {
			opts = append(opts, fsstore.WithMaxInFlight(4), fsstore.WithBreaker(1, time.Hour))
		}
		s, err := fsstore.Open(t.TempDir(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			for _, c := range calls {
				if err := c.call(s); err == nil {
					t.Fatalf("%v with a nil Context: no error", c.op)
				}
				got := log.take()
				if len(got) != 1 || got[0].Op != c.op || got[0].Outcome != fsstore.OutcomeInvalid {
					t.Errorf("bounded %v: %v with a nil Context observed as %+v, want one %v event of OutcomeInvalid", bounded, c.op, got, c.op)
				}
			}
		}
		if st := s.Breaker(); bounded && st != fsstore.BreakerClosed {
			t.Errorf("breaker %v after calls with a nil Context, want closed", st)
		}
		s.Close()
	}
}
