package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
)

// syncBuffer is a bytes.Buffer safe for the bar's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBarDrawsAndErases(t *testing.T) {
	var buf syncBuffer
	b := Start(&buf, time.Millisecond)
	b.Step(bench.Step{Index: 1, Total: 4, Label: "round 1/2  a  cycle", Duration: time.Hour})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), "2/4") {
		if time.Now().After(deadline) {
			t.Fatalf("bar never drawn: %q", buf.String())
		}
		time.Sleep(time.Millisecond) // poll interval
	}
	b.Stop()
	out := buf.String()
	if !strings.Contains(out, " 25%") || !strings.Contains(out, "cycle") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("output %q", out)
	}
}
