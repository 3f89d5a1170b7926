package fsstore

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// changesRecorder records every change a store reports to its
// ReadOnlyFSObserver.
type changesRecorder struct {
	mu      sync.Mutex
	changes []bool
}

func (r *changesRecorder) Observe(Event) {}

func (r *changesRecorder) ObserveReadOnlyFS(readOnly bool) {
	r.mu.Lock()
	r.changes = append(r.changes, readOnly)
	r.mu.Unlock()
}

func (r *changesRecorder) got() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

// onRecordedStores runs f as the subtests local/name and bounded/name,
// each on a fresh store, not bounded and bounded (WithMaxInFlight), that
// reports to rec: the read-only finding takes both paths.
func onRecordedStores(t *testing.T, name string, f func(t *testing.T, s *Store, rec *changesRecorder)) {
	for _, bounded := range []bool{false, true} {
		sub, opts := "local/"+name, []Option(nil)
		if bounded {
			sub, opts = "bounded/"+name, []Option{WithMaxInFlight(4)}
		}
		t.Run(sub, func(t *testing.T) {
			rec := &changesRecorder{}
			s, err := Open(t.TempDir(), append(opts, WithObserver(rec))...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			f(t, s, rec)
		})
	}
}

// TestCloseEndsReadOnlyFS: a metrics back end counts the stores that find
// their file system read-only (several stores may share one observer), and
// a store closed while it did never reported the end of its finding: a
// process that replaced the store (a reload, a tenant closed) kept the
// gauge, and the alert on it, on for good. Close must report the end of a
// finding once, and a refused write or a test write that ends after Close
// must report nothing, so that the count ends where it began.
func TestCloseEndsReadOnlyFS(t *testing.T) {
	erofs := errors.New("read-only file system")
	cases := []struct {
		name string
		run  func(s *Store)
		want []bool
	}{
		{"writable at Close", func(s *Store) { s.Close() }, nil},
		{"read-only at Close", func(s *Store) {
			s.noteReadOnly(erofs, false)
			s.Close()
		}, []bool{true, false}},
		{"cleared before Close", func(s *Store) {
			s.noteReadOnly(erofs, false)
			s.clearReadOnly(s.readOnly.Load(), false)
			s.Close()
		}, []bool{true, false}},
		{"refused after Close", func(s *Store) {
			s.Close()
			s.noteReadOnly(erofs, false)
		}, nil},
		{"read-only at Close, refused again after", func(s *Store) {
			s.noteReadOnly(erofs, false)
			s.Close()
			s.noteReadOnly(erofs, false)
		}, []bool{true, false}},
		{"test write that began before Close succeeds after it", func(s *Store) {
			s.noteReadOnly(erofs, false)
			seq := s.readOnly.Load()
			s.Close()
			s.clearReadOnly(seq, false)
		}, []bool{true, false}},
		{"closed twice", func(s *Store) {
			s.noteReadOnly(erofs, false)
			s.Close()
			s.Close()
		}, []bool{true, false}},
	}
	for _, tc := range cases {
		onRecordedStores(t, tc.name, func(t *testing.T, s *Store, rec *changesRecorder) {
			tc.run(s)
			if got := rec.got(); !slices.Equal(got, tc.want) {
				t.Errorf("ObserveReadOnlyFS called with %v, want %v", got, tc.want)
			}
			if s.ReadOnlyFS() {
				t.Error("ReadOnlyFS() = true on a closed store")
			}
		})
	}
}

// TestReadOnlyFSCloseRacesChanges: refused writes and test writes that
// race Close, and go on after it, must leave the changes reported in
// order and ending writable, with as many ends of a finding as findings.
func TestReadOnlyFSCloseRacesChanges(t *testing.T) {
	rec := &changesRecorder{}
	s, err := Open(t.TempDir(), WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	erofs := errors.New("read-only file system")
	const rounds = 5000
	var done atomic.Int64 // rounds done, over every goroutine
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				s.noteReadOnly(erofs, false)
				if seq := s.readOnly.Load(); seq != 0 {
					s.clearReadOnly(seq, false)
				}
				s.noteReadOnly(erofs, false) // left standing for Close, or a later round, to end
				done.Add(1)
			}
		}()
	}
	// Close once the goroutines are under way, so that changes come
	// before it, race it and come after it.
	for done.Load() < rounds {
		runtime.Gosched()
	}
	s.Close()
	wg.Wait()
	s.noteReadOnly(erofs, false)

	changes := rec.got()
	if len(changes) == 0 {
		t.Fatal("no change reported")
	}
	last, n := false, 0
	for i, ro := range changes {
		if ro == last {
			t.Fatalf("change %d of %d: %v twice in a row", i, len(changes), ro)
		}
		last = ro
		if ro {
			n++
		} else {
			n--
		}
	}
	if n != 0 || last {
		t.Errorf("changes reported end read-only (%d findings not ended, %d changes in all), want writable once closed", n, len(changes))
	}
	if s.ReadOnlyFS() {
		t.Error("ReadOnlyFS() = true on a closed store")
	}
}
