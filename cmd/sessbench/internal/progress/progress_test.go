package progress

import (
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/internal/testenv"
)

func TestBarDrawsAndErases(t *testing.T) {
	var buf testenv.Buffer
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
