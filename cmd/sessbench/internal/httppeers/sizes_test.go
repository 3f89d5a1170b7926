package httppeers

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestReportSizesAsRun: sessbench http's table said "16 KiB" where sessbench
// run's says "16KiB" (and its progress line "16384 B"). Both now print a
// size as --size takes it, exactly: 1500 bytes is "1500B".
func TestReportSizesAsRun(t *testing.T) {
	cfg := Config{Sizes: []int{16384, 1500}, Duration: time.Second, Rounds: 1, Concurrency: 2, Sessions: 2}
	res := []Result{{Peer: PeerSCSMem, Size: 16384}, {Peer: PeerSCSMem, Size: 1500}}
	rep := BuildReport(cfg, []*Peer{{Name: PeerSCSMem}}, res, nil, time.Now(), time.Now())
	var b bytes.Buffer
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| scs-mem | 16KiB |", "| scs-mem | 1500B |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, b.String())
		}
	}
}
