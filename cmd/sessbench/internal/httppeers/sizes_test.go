package httppeers

import (
	"bytes"
	"fmt"
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

// TestReportDurationAsGiven: the footer printed --duration as "%.1f s",
// so a run of --duration 20ms said "0.0 s per peer", a run that measured
// nothing. It now prints it as --duration takes it.
func TestReportDurationAsGiven(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{20 * time.Millisecond, "; 20ms per peer"},
		{2 * time.Second, "; 2s per peer"},
		{90 * time.Second, "; 1m30s per peer"},
	} {
		cfg := Config{Sizes: []int{1024}, Duration: tt.d, Rounds: 1, Concurrency: 1, Sessions: 1}
		rep := BuildReport(cfg, []*Peer{{Name: PeerSCSMem}}, []Result{{Peer: PeerSCSMem, Size: 1024}}, nil, time.Now(), time.Now())
		var b bytes.Buffer
		if err := WriteMarkdown(&b, rep); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("--duration %v: the footer lacks %q:\n%s", tt.d, tt.want, b.String())
		}
	}
}

// TestReportOneClient: with --concurrency 1 the table's header said
// "throughput, 1 clients", and with --sessions 1 the footer "1 sessions".
func TestReportOneClient(t *testing.T) {
	for _, tt := range []struct {
		conc int
		want string
	}{{1, "| throughput, 1 client | p50, 1 client |"}, {8, "| throughput, 8 clients | p50, 8 clients |"},
		{1, "; 1 session per peer and size."}, {8, "; 8 sessions per peer and size."}} {
		cfg := Config{Sizes: []int{1024}, Duration: time.Second, Rounds: 1, Concurrency: tt.conc, Sessions: tt.conc}
		rep := BuildReport(cfg, []*Peer{{Name: PeerSCSMem}}, []Result{{Peer: PeerSCSMem, Size: 1024}}, nil, time.Now(), time.Now())
		var b bytes.Buffer
		if err := WriteMarkdown(&b, rep); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("--concurrency %d: the report lacks %q:\n%s", tt.conc, tt.want, b.String())
		}
	}
}

// TestReportStatesSessionTTL: the table's footer says how long every peer
// kept its sessions, as --json's session_ttl_s does.
func TestReportStatesSessionTTL(t *testing.T) {
	cfg := Config{Sizes: []int{1024}, Duration: time.Second, Rounds: 1, Concurrency: 1, Sessions: 1, SessionTTL: 50 * time.Hour}
	rep := BuildReport(cfg, []*Peer{{Name: PeerSCSMem}}, []Result{{Peer: PeerSCSMem, Size: 1024}}, nil, time.Now(), time.Now())
	var b bytes.Buffer
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	if want := "Every peer keeps a session 50 hours after its creation"; !strings.Contains(b.String(), want) || rep.SessionTTL != 50*3600 {
		t.Errorf("session_ttl_s %v; the footer lacks %q:\n%s", rep.SessionTTL, want, b.String())
	}
}

// TestReportFewRequestsP99: a p99 of fewer than 100 requests is the
// slowest one (nearest rank), and the table says so, as sessbench run's
// verdict does; a short run's p99 column read as the peers' tails.
func TestReportFewRequestsP99(t *testing.T) {
	cfg := Config{Sizes: []int{1024}, Duration: 20 * time.Millisecond, Rounds: 1, Concurrency: 1, Sessions: 1}
	for _, tt := range []struct {
		requests int
		want     bool
	}{{12, true}, {99, true}, {100, false}} {
		res := []Result{{Peer: PeerSCSMem, Size: 1024, Requests1: tt.requests}, {Peer: PeerSessfs, Size: 1024, Requests1: 5000}}
		rep := BuildReport(cfg, []*Peer{{Name: PeerSCSMem}, {Name: PeerSessfs}}, res, nil, time.Now(), time.Now())
		var b bytes.Buffer
		if err := WriteMarkdown(&b, rep); err != nil {
			t.Fatal(err)
		}
		note := fmt.Sprintf("scs-mem at 1KiB rests on %d requests", tt.requests)
		if got := strings.Contains(b.String(), note) && strings.Contains(b.String(), "slowest request"); got != tt.want {
			t.Errorf("%d requests: note %q in the table: %v, want %v:\n%s", tt.requests, note, got, tt.want, b.String())
		}
	}
}

// TestReportNoHotTest: with --hot 0x0 the table's last column says the
// test was not run; its header read "lost updates (0 × 0 on one
// session)", a test of nothing.
func TestReportNoHotTest(t *testing.T) {
	cfg := Config{Sizes: []int{1024}, Duration: time.Second, Rounds: 1, Concurrency: 1, Sessions: 1}
	rep := BuildReport(cfg, []*Peer{{Name: PeerSCSMem}}, []Result{{Peer: PeerSCSMem, Size: 1024}}, nil, time.Now(), time.Now())
	var b bytes.Buffer
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "0 × 0") || !strings.Contains(b.String(), "lost updates (not run: --hot 0x0) |") {
		t.Errorf("the table's header:\n%s", b.String())
	}
}
