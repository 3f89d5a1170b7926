package stats

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteHumanSubMillisecond: a census of a small store, shorter than a
// millisecond, said "took 0s"; the JSON report keeps its seconds.
func TestWriteHumanSubMillisecond(t *testing.T) {
	var b bytes.Buffer
	writeHuman(&b, &Report{Dir: "/s", DurationSecs: 0.0004})
	if want := "took      <1ms\n"; !strings.Contains(b.String(), want) {
		t.Errorf("report %q, want it to hold %q", b.String(), want)
	}
}
