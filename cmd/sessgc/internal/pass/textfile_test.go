package pass

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

func TestMetricsFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  func(m *Metrics)
		want string
	}{
		{"no labels", func(m *Metrics) { m.Gauge("a", "Help.", 1.5) }, "# HELP a Help.\n# TYPE a gauge\na 1.5\n"},
		{"one family, several samples", func(m *Metrics) {
			m.Gauge("a", "h", 1, Label{"kind", "x"})
			m.Gauge("a", "h", 2, Label{"kind", "y"})
			m.Gauge("b", "h", 0)
		}, "# HELP a h\n# TYPE a gauge\na{kind=\"x\"} 1\na{kind=\"y\"} 2\n# HELP b h\n# TYPE b gauge\nb 0\n"},
		{"escaping", func(m *Metrics) { m.Gauge("a", "back\\slash\nnewline", 1, Label{"dir", "a\"b\\c\nd"}) },
			"# HELP a back\\\\slash\\nnewline\n# TYPE a gauge\na{dir=\"a\\\"b\\\\c\\nd\"} 1\n"},
		{"large value, not exponent", func(m *Metrics) { m.Gauge("t", "h", 1734567890.25) }, "# HELP t h\n# TYPE t gauge\nt 1734567890.25\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetrics()
			tc.add(m)
			if got := string(m.Bytes()); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	m := NewMetrics(Label{"dir", "/s"})
	m.Gauge("a", "h", 1, Label{"kind", "x"})
	if got, want := string(m.Bytes()), "# HELP a h\n# TYPE a gauge\na{dir=\"/s\",kind=\"x\"} 1\n"; got != want {
		t.Errorf("constant labels: got %q, want %q", got, want)
	}
}

func TestWriteTextfile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.prom")
	m := NewMetrics()
	m.Gauge("a", "h", 1)
	for range 2 { // create, then replace
		if err := WriteTextfile(p, m); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != string(m.Bytes()) {
		t.Errorf("content %q (%v)", b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	// A failed write leaves no temp file either.
	if err := WriteTextfile(filepath.Join(dir, "missing", "m.prom"), m); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if err := os.Mkdir(filepath.Join(dir, "d.prom"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "d.prom", "x"), nil, 0o644)
	if err := WriteTextfile(filepath.Join(dir, "d.prom"), m); err == nil {
		t.Error("replacing a non-empty directory succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestLoadKeys(t *testing.T) {
	const k1 = "1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	const k2 = "2 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	file := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(file, []byte(k2+"\n"+k1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		file     string
		fromFlag bool
		env      string
		wantIDs  []uint32
		code     int
	}{
		{name: "file", file: file, fromFlag: true, wantIDs: []uint32{2, 1}},
		{name: "env", env: k1 + ";" + k2, wantIDs: []uint32{1, 2}},
		{name: "flag beats env", file: file, fromFlag: true, env: k1, wantIDs: []uint32{2, 1}},
		{name: "both from env", file: file, env: k1, code: cmdutil.ExitUsage},
		{name: "none", code: cmdutil.ExitUsage},
		{name: "blank env", env: " \n", code: cmdutil.ExitUsage},
		{name: "duplicate", env: k1 + ";" + k1, code: cmdutil.ExitUsage},
		{name: "bad env", env: "1 short", code: cmdutil.ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := LoadKeys(tc.file, tc.fromFlag, false, func(k string) string {
				if k == KeysEnv {
					return tc.env
				}
				return ""
			})
			if tc.code != 0 {
				if cmdutil.ExitCode(err) != tc.code {
					t.Fatalf("err %v, want exit %d", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []uint32
			for _, k := range keys {
				ids = append(ids, k.ID)
			}
			if len(ids) != len(tc.wantIDs) || ids[0] != tc.wantIDs[0] || ids[1] != tc.wantIDs[1] {
				t.Errorf("key IDs %v, want %v", ids, tc.wantIDs)
			}
		})
	}
}

// TestPassMetricsSkipped: the fleet-lock gauge says only that another host
// held the lock, not that the pass was skipped for another reason.
func TestPassMetricsSkipped(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Outcome
		held string
	}{
		{"swept", Outcome{}, "0"},
		{"fleet lock held", Outcome{Skipped: true, SkipReason: SkipFleetLock}, "1"},
		{"no store", Outcome{Skipped: true, SkipReason: SkipNoStore}, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := PassMetrics("/s", "x_", "run", &tc.o, 0, time.Unix(0, 0))
			if want := "x_fleet_lock_held{dir=\"/s\"} " + tc.held + "\n"; !strings.Contains(string(m.Bytes()), want) {
				t.Errorf("metrics lack %q:\n%s", want, m.Bytes())
			}
		})
	}
}
