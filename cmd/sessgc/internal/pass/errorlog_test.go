package pass

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// overlapWriter counts the Write calls that began while another was in
// progress; each lingers, yielding, to let another begin.
type overlapWriter struct {
	in, overlaps atomic.Int32
}

func (w *overlapWriter) Write(b []byte) (int, error) {
	if w.in.Add(1) > 1 {
		w.overlaps.Add(1)
	}
	for range 1000 {
		runtime.Gosched()
	}
	w.in.Add(-1)
	return len(b), nil
}

// TestStderrSerialized: the error log and the store's logger of one
// command (stats, rekey) never write to its stderr at once: each locked
// only its own writes, and the pass's workers use both together.
func TestStderrSerialized(t *testing.T) {
	var w overlapWriter
	el, log := Stderr(&w, LogLevel{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range MaxErrorLines {
				if g%2 == 0 {
					el.Add(errors.New("x"))
				} else {
					log.Warn("w")
				}
			}
		}()
	}
	wg.Wait()
	if n := w.overlaps.Load(); n > 0 {
		t.Errorf("%d writes to stderr began while another was in progress", n)
	}
}
