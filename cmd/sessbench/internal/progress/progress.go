// Package progress draws a one-line progress bar on a terminal.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
)

// Bar redraws itself from its own goroutine, so the runner only records the
// step it is on and never waits on the terminal.
type Bar struct {
	w     io.Writer
	mu    sync.Mutex
	step  bench.Step
	since time.Time
	stop  chan struct{}
	done  chan struct{}
}

// Start starts a bar that redraws on w every interval until Stop.
func Start(w io.Writer, interval time.Duration) *Bar {
	b := &Bar{w: w, stop: make(chan struct{}), done: make(chan struct{}), since: time.Now()}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				fmt.Fprint(b.w, "\r\033[K")
				return
			case <-t.C:
				b.draw()
			}
		}
	}()
	return b
}

// Step records the step the runner starts; pass it as bench.Runner.OnStep.
func (b *Bar) Step(s bench.Step) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.step, b.since = s, time.Now()
}

// Stop erases the bar and waits for its goroutine to end.
func (b *Bar) Stop() {
	close(b.stop)
	<-b.done
}

func (b *Bar) draw() {
	b.mu.Lock()
	s, since := b.step, b.since
	b.mu.Unlock()
	if s.Total == 0 {
		return
	}
	frac := float64(s.Index)
	if s.Duration > 0 {
		frac += min(1, float64(time.Since(since))/float64(s.Duration))
	}
	frac /= float64(s.Total)
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(b.w, "\r[%s%s] %3.0f%%  %d/%d  %s\033[K", strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac, s.Index+1, s.Total, s.Label)
}
