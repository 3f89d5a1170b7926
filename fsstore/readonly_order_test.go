package fsstore

import (
	"errors"
	"sync"
	"testing"
)

// orderRecorder checks what a store reports to its ReadOnlyFSObserver in
// the order it arrives, as a gauge applies it: each change must differ
// from the one before, starting from not read-only.
type orderRecorder struct {
	mu    sync.Mutex
	last  bool
	n     int
	wrong []string
}

func (r *orderRecorder) Observe(Event) {}

func (r *orderRecorder) ObserveReadOnlyFS(readOnly bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if readOnly == r.last && len(r.wrong) < 5 {
		r.wrong = append(r.wrong, map[bool]string{true: "read-only twice in a row", false: "writable twice in a row"}[readOnly])
	}
	r.last = readOnly
	r.n++
}

// TestReadOnlyFSChangesInOrder: refused writes on many goroutines race
// Health's test writes, each clearing the finding it started under. A
// metrics back end keeps a gauge from the changes it is told of, so they
// must reach it one at a time, in the order the store made them: a
// clearing reported before the finding it cleared left the gauge at 1 on
// a writable store, or the other way round. The store's own state, read
// once every goroutine is done, must be the last change reported.
func TestReadOnlyFSChangesInOrder(t *testing.T) {
	rec := &orderRecorder{}
	s, err := Open(t.TempDir(), WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	erofs := errors.New("read-only file system")
	const rounds = 20000
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				s.noteReadOnly(erofs, false) // a refused write
				if seq := s.readOnly.Load(); seq != 0 {
					s.clearReadOnly(seq, false) // a test write that succeeded
				}
			}
		}()
	}
	wg.Wait()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.wrong) > 0 {
		t.Errorf("changes reported out of order (%d reported): %v", rec.n, rec.wrong)
	}
	if rec.n == 0 {
		t.Fatal("no change reported")
	}
	if got := s.ReadOnlyFS(); got != rec.last {
		t.Errorf("ReadOnlyFS() = %v after the last change reported was %v", got, rec.last)
	}
}
