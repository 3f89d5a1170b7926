package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/nfsstats"
)

// result makes a result whose every sample is lat.
func result(target string, wl bench.Workload, conc int, lat time.Duration, n int) *bench.Result {
	r := &bench.Result{Target: target, Cell: bench.Cell{Workload: wl, Size: 1024, Concurrency: conc}, Ops: uint64(n), Elapsed: time.Second}
	for range n {
		r.Hist.Record(lat)
	}
	return r
}

func sampleReport(t *testing.T, nfs bool) *Report {
	t.Helper()
	targets := []Target{
		{Name: "efs", Info: bench.Info{Kind: "fs", Location: "/mnt/efs/bench", FSType: "nfs4", NFS: nfs, MountPoint: "/mnt/efs", Options: "rw,vers=4.1"}},
		{Name: "local", Info: bench.Info{Kind: "fs", Location: "/var/tmp/bench", FSType: "ext4"}},
		{Name: "redis", Info: bench.Info{Kind: "redis", Location: "127.0.0.1:6379", Server: "redis 7.0.15"}},
	}
	var results []*bench.Result
	for _, c := range []int{1, 64} {
		a := result("efs", bench.Cycle, c, 3*time.Millisecond, 100)
		if nfs {
			a.RPC = nfsstats.Counts{"LOCK": 100, "LOCKU": 100, "GETATTR": 250, "WRITE": 100, "READ": 50}
		}
		results = append(results, a,
			result("local", bench.Cycle, c, 1*time.Millisecond, 300),
			result("redis", bench.Cycle, c, 1500*time.Microsecond, 200))
	}
	cfg := Config{Workloads: []string{"cycle"}, PayloadSizes: []int{1024}, Concurrency: []int{1, 64}, Rounds: 3, Durability: "file"}
	return Build(cfg, targets, results, time.Unix(0, 0).UTC(), time.Unix(10, 0).UTC())
}

func TestBuildRatios(t *testing.T) {
	r := sampleReport(t, true)
	if len(r.Results) != 6 {
		t.Fatalf("rows = %d", len(r.Results))
	}
	tests := []struct {
		row           int
		p99, opsRatio float64
	}{
		{0, 1, 1}, {1, 1.0 / 3, 3}, {2, 0.5, 2}, {3, 1, 1},
	}
	for _, tt := range tests {
		row := r.Results[tt.row]
		if !near(row.P99Ratio, tt.p99, 0.02) || !near(row.OpsRatio, tt.opsRatio, 0.001) {
			t.Errorf("row %d (%s c=%d): p99 ratio %.3f ops ratio %.3f, want %.3f %.3f", tt.row, row.Target, row.Concurrency, row.P99Ratio, row.OpsRatio, tt.p99, tt.opsRatio)
		}
	}
	if x := r.Results[0].NFS; x == nil || x.Locks != 2 || x.Getattrs != 2.5 || x.Total != 6 {
		t.Errorf("nfs per op = %+v", x)
	}
	if r.Results[1].NFS != nil {
		t.Error("non-NFS row has NFS counts")
	}
}

func near(a, b, tol float64) bool { return a > b-tol*b-1e-9 && a < b+tol*b+1e-9 }

func TestVerdict(t *testing.T) {
	tests := []struct {
		name string
		rep  func() *Report
		want []string
	}{
		{"three targets", func() *Report { return sampleReport(t, true) }, []string{
			"At 64 concurrent clients", "the shared mount (nfs4, /mnt/efs/bench) adds 2.", "at p99", "local disk (ext4, /var/tmp/bench)", "3.0×", "2.0× Redis", "6.0 NFS RPCs",
		}},
		{"single target", func() *Report {
			r := sampleReport(t, false)
			r.Targets = r.Targets[1:2]
			var rows []Row
			for _, row := range r.Results {
				if row.Target == "local" {
					rows = append(rows, row)
				}
			}
			r.Results = rows
			return r
		}, []string{"On local disk (ext4, /var/tmp/bench)", "at p50", "64 concurrent clients", "--redis"}},
		{"empty", func() *Report { return &Report{} }, []string{"No results"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Verdict(tt.rep())
			for _, w := range tt.want {
				if !strings.Contains(v, w) {
					t.Errorf("verdict lacks %q:\n%s", w, v)
				}
			}
		})
	}
}

func TestWriters(t *testing.T) {
	r := sampleReport(t, true)
	t.Run("table", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteTable(&b, r); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, w := range []string{"TARGET", "P99.9", "P99×", "RPC/OP", "nfs4", "redis 7.0.15", r.Verdict} {
			if !strings.Contains(out, w) {
				t.Errorf("table lacks %q:\n%s", w, out)
			}
		}
		// Aligned: every data line of the table is as wide as the header.
		lines := strings.Split(out, "\n")
		var width int
		for _, l := range lines {
			if strings.HasPrefix(l, "TARGET") {
				width = len([]rune(l))
			} else if width > 0 && (strings.HasPrefix(l, "efs ") || strings.HasPrefix(l, "local ")) && len([]rune(l)) != width {
				t.Errorf("misaligned line %q (width %d, header %d)", l, len([]rune(l)), width)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		row := m["results"].([]any)[0].(map[string]any)
		for _, k := range []string{"target", "workload", "payload_bytes", "concurrency", "ops", "errors", "ops_per_sec", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "p50_ratio", "p99_ratio", "nfs_rpcs_per_op"} {
			if _, ok := row[k]; !ok {
				t.Errorf("JSON row lacks %q", k)
			}
		}
		if m["verdict"] == "" {
			t.Error("no verdict")
		}
	})
	t.Run("csv", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteCSV(&b, r); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 7 || strings.Join(recs[0], ",") != strings.Join(CSVHeader, ",") {
			t.Fatalf("csv: %d records, header %v", len(recs), recs[0])
		}
		if recs[1][len(recs[1])-1] != "6.0000" || recs[2][len(recs[2])-1] != "" {
			t.Errorf("nfs column: %q, %q", recs[1][len(recs[1])-1], recs[2][len(recs[2])-1])
		}
	})
	t.Run("svg", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteSVG(&b, r); err != nil {
			t.Fatal(err)
		}
		svg := b.String()
		if err := validXML(&b); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"<svg", "polyline", "cycle, 1KiB", "p99.9"} {
			if !strings.Contains(svg, w) {
				t.Errorf("svg lacks %q", w)
			}
		}
	})
}

func TestPNG(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlot(&b, sampleReport(t, false), true); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	// The first target's colour must appear: lines were drawn.
	want := parseColor(palette[0])
	found := false
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y && !found; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(bl>>8) == want.B {
				found = true
				break
			}
		}
	}
	if !found {
		t.Error("no pixel in the first target's colour")
	}
}

func validXML(r io.Reader) error {
	d := xml.NewDecoder(r)
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		return errors.New("root element is " + root)
	}
	return nil
}

func TestFormat(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{800, "800ns"}, {13 * time.Microsecond, "13.0µs"}, {1500 * time.Microsecond, "1.50ms"}, {250 * time.Millisecond, "250ms"}, {2 * time.Second, "2.00s"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	sizes := []struct {
		n    int
		want string
	}{{512, "512B"}, {1024, "1KiB"}, {16384, "16KiB"}, {1536, "1.5KiB"}, {1 << 20, "1MiB"}}
	for _, tt := range sizes {
		if got := FormatSize(tt.n); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct{ lo, hi int64 }{{5000, 80000}, {900, 3e9}, {1, 1}, {1e6, 1e6}}
	for _, tt := range tests {
		ticks := logTicks(tt.lo, tt.hi)
		if len(ticks) < 2 || ticks[0] > tt.lo || ticks[len(ticks)-1] < tt.hi || len(ticks) > 12 {
			t.Errorf("logTicks(%d, %d) = %v", tt.lo, tt.hi, ticks)
		}
	}
}

func TestRoles(t *testing.T) {
	nfs := Target{Name: "efs", Info: bench.Info{Kind: "fs", NFS: true}}
	local := Target{Name: "local", Info: bench.Info{Kind: "fs"}}
	local2 := Target{Name: "local2", Info: bench.Info{Kind: "fs"}}
	rd := Target{Name: "redis", Info: bench.Info{Kind: "redis"}}
	tests := []struct {
		name              string
		in                []Target
		subject, baseline string
		others            int
	}{
		{"nfs first", []Target{nfs, local, rd}, "efs", "local", 1},
		{"nfs later", []Target{local, rd, nfs}, "efs", "local", 1},
		{"nfs and redis", []Target{rd, nfs}, "efs", "redis", 0},
		{"local and redis", []Target{local, rd}, "local", "redis", 0},
		{"two local", []Target{local, local2}, "local", "local2", 0},
		{"one", []Target{local}, "local", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b, o := roles(tt.in)
			bn := ""
			if b != nil {
				bn = b.Name
			}
			if s.Name != tt.subject || bn != tt.baseline || len(o) != tt.others {
				t.Errorf("roles = %s, %s, %d others; want %s, %s, %d", s.Name, bn, len(o), tt.subject, tt.baseline, tt.others)
			}
		})
	}
}
