package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/internal/mountstats"
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
		{Name: "efs", Info: bench.Info{Kind: "fs", Location: "/mnt/efs/bench", FSType: "nfs4", NFS: nfs, MountPoint: "/mnt/efs", Options: "rw,vers=4.1", SessionIdleSec: bench.SessionIdle.Seconds()}},
		{Name: "local", Info: bench.Info{Kind: "fs", Location: "/var/tmp/bench", FSType: "ext4", SessionIdleSec: bench.SessionIdle.Seconds()}},
		{Name: "redis", Info: bench.Info{Kind: "redis", Location: "127.0.0.1:6379", Server: "redis 7.0.15", SessionIdleSec: (25 * time.Hour).Seconds()}},
	}
	var results []*bench.Result
	for _, c := range []int{1, 64} {
		a := result("efs", bench.Cycle, c, 3*time.Millisecond, 100)
		if nfs {
			// SEQUENCE is a lease renewal: in the per-op map, not the total.
			a.RPC = mountstats.Counts{"LOCK": 100, "LOCKU": 100, "GETATTR": 250, "WRITE": 100, "READ": 50, "RENAME": 100, "SEQUENCE": 30}
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
	if x := r.Results[0].NFS; x == nil || x.Locks != 2 || x.Getattrs != 2.5 || x.Other != 1 || x.Total != 7 {
		t.Errorf("nfs per op = %+v", x)
	}
	if m := r.Results[0].NFSOps; m["RENAME"] != 1 || m["SEQUENCE"] != 0.3 || m["LOCKU"] != 1 || len(m) != 7 {
		t.Errorf("nfs ops per op = %v", m)
	}
	if r.Results[1].NFS != nil || r.Results[1].NFSOps != nil {
		t.Error("non-NFS row has NFS counts")
	}
}

func near(a, b, tol float64) bool { return a > b-tol*b-1e-9 && a < b+tol*b+1e-9 }

// mixed makes a result with p50 at fast and p99 at slow: 95 samples of
// fast, 5 of slow.
func mixed(target string, conc int, fast, slow time.Duration) *bench.Result {
	r := result(target, bench.Cycle, conc, fast, 95)
	for range 5 {
		r.Hist.Record(slow)
	}
	r.Ops += 5
	return r
}

// noisyReport is the run that misled the old verdict: NFS p50 53× tmpfs,
// but every p99 at 8 clients lost in scheduling noise.
func noisyReport(t *testing.T) *Report {
	t.Helper()
	targets := []Target{
		{Name: "tmpfs", Info: bench.Info{Kind: "fs", Location: "tmpfs", FSType: "tmpfs"}},
		{Name: "nfs", Info: bench.Info{Kind: "fs", Location: "nfs", FSType: "nfs4", NFS: true}},
		{Name: "redis", Info: bench.Info{Kind: "redis", Location: "127.0.0.1:6379"}},
	}
	results := []*bench.Result{
		mixed("tmpfs", 1, 1330*time.Microsecond, 37*time.Millisecond),
		mixed("nfs", 1, 31200*time.Microsecond, 67*time.Millisecond),
		mixed("redis", 1, 12800*time.Microsecond, 65*time.Millisecond),
		mixed("tmpfs", 8, 1220*time.Microsecond, 187*time.Millisecond),
		mixed("nfs", 8, 64700*time.Microsecond, 191*time.Millisecond),
		mixed("redis", 8, 86*time.Millisecond, 163*time.Millisecond),
	}
	cfg := Config{Workloads: []string{"cycle"}, PayloadSizes: []int{1024}, Concurrency: []int{1, 8}, Rounds: 3}
	return Build(cfg, targets, results, time.Unix(0, 0).UTC(), time.Unix(10, 0).UTC())
}

func TestVerdict(t *testing.T) {
	onlyLocal := func(r *Report) *Report {
		r.Targets = r.Targets[1:2]
		var rows []Row
		for _, row := range r.Results {
			if row.Target == "local" {
				rows = append(rows, row)
			}
		}
		r.Results = rows
		return r
	}
	tests := []struct {
		name    string
		rep     func() *Report
		want    []string
		notWant []string
		// order lists substrings that must appear in this order.
		order []string
	}{
		{"three targets", func() *Report { return sampleReport(t, true) }, []string{
			"With 1 client, the shared mount (nfs4, /mnt/efs/bench) adds 2.", "at p50", "local disk (ext4, /var/tmp/bench)", "3.0×", "2.0× Redis",
			"With 64 concurrent clients, p99 is 3.", "7.0 NFS RPCs", "1.0 other",
			// How to read it: the operator's own yardstick, and the
			// per-RPC time to hold against a ping of the file server.
			"no universal threshold", "what your requests already take", "µs per RPC", "ping",
		}, []string{"noise"}, []string{"at p50", "With 64 concurrent clients", "p99", "7.0 NFS RPCs", "per RPC"}},
		{"single NFS target", func() *Report {
			r := sampleReport(t, true)
			r.Targets = r.Targets[:1]
			r.Results = []Row{r.Results[0], r.Results[3]}
			return r
		}, []string{"On the shared mount", "7.0 NFS RPCs", "no universal threshold", "µs per RPC",
			// What to run next: local disk beside it, not the mount again.
			"--dir /var/tmp/bench", "--redis HOST:PORT"}, []string{"a --dir on the shared mount"}, nil},
		{"noisy p99", func() *Report { return noisyReport(t) }, []string{
			"With 1 client, the shared mount (nfs4, nfs) adds 30.", "at p50", "memory (tmpfs, tmpfs)", "23.", "2.4× Redis",
			"With 8 concurrent clients, p99 is 191ms against 187ms (1.0×)",
			"p99 is dominated by machine noise", "153× its p50 with 8 concurrent clients", "judge by the p50s",
		}, nil, []string{"at p50", "p99 is 191ms", "noise"}},
		{"one concurrency level", func() *Report {
			r := sampleReport(t, false)
			r.Results = r.Results[:3]
			return r
		}, []string{"With 1 client", "adds 2.", "at p50", "At p99 it is 3."}, []string{"64", "per RPC"}, nil},
		{"single target", func() *Report { return onlyLocal(sampleReport(t, false)) },
			[]string{"On local disk (ext4, /var/tmp/bench)", "at p50 with 1 client", "with 64 concurrent clients it takes", "at p99",
				// What to run next, as a command: the first run on a
				// new machine is this one, and the question is the mount.
				"sessbench run --dir /mnt/efs/bench --dir /var/tmp/bench", "--redis HOST:PORT"}, []string{"noise"}, nil},
		{"single Redis target", func() *Report {
			r := sampleReport(t, false)
			r.Targets = r.Targets[2:3]
			var rows []Row
			for _, row := range r.Results {
				if row.Target == "redis" {
					rows = append(rows, row)
				}
			}
			r.Results = rows
			return r
		}, []string{"On Redis", "sessbench run --dir /mnt/efs/bench --dir /var/tmp/bench --redis"}, []string{"--redis HOST:PORT"}, nil},
		{"single noisy target", func() *Report {
			r := noisyReport(t)
			r.Targets = r.Targets[:1]
			r.Results = []Row{r.Results[0], r.Results[3]}
			return r
		}, []string{"On memory (tmpfs, tmpfs)", "its own p99 is 153× its p50"}, nil, nil},
		{"single target, failures", func() *Report {
			r := onlyLocal(sampleReport(t, false))
			r.Results[1].Errors = 7
			return r
		}, []string{"On local disk", "7 operations failed"}, nil, nil},
		{"subject faster than the baseline", func() *Report {
			r := sampleReport(t, false)
			r.Results[0].P50NS = r.Results[1].P50NS / 2
			return r
		}, []string{"saves 500µs at p50 on each full request cycle"}, []string{"adds", "to each"}, nil},
		{"failures on two targets", func() *Report {
			r := sampleReport(t, false)
			r.Results[0].Errors, r.Results[4].Errors = 2, 5
			return r
		}, []string{"7 operations failed (efs 2, local 5)"}, nil, nil},
		// Nearest rank: below 100 operations a p99 is the slowest one.
		{"p99 of few operations", func() *Report {
			r := sampleReport(t, false)
			r.Results[4].Ops = 10
			return r
		}, []string{"p99 is 3.00ms against 1.00ms", "rests on as few as 10 operations", "slowest operation"}, nil,
			[]string{"p99 is", "as few as"}},
		{"p99 of few operations, single target", func() *Report {
			r := onlyLocal(sampleReport(t, false))
			r.Results[1].Ops = 99
			return r
		}, []string{"as few as 99 operations"}, nil, nil},
		{"p99 of 100 operations", func() *Report { return sampleReport(t, false) }, nil, []string{"as few as"}, nil},
		{"empty", func() *Report { return &Report{} }, []string{"No results"}, nil, nil},
		// The README's run after a mount that failed at boot: mkdir -p
		// made /mnt/efs/bench on the root file system, and the run
		// compares local disk with itself.
		{"two directories on one file system", func() *Report {
			r := sampleReport(t, false)
			for i := range r.Targets[:2] {
				r.Targets[i].FSType, r.Targets[i].MountPoint, r.Targets[i].Source = "ext4", "/", "/dev/vda"
			}
			return r
		}, []string{"/mnt/efs/bench and /var/tmp/bench are on one file system (ext4 /dev/vda on /)", "not mounted"},
			nil, []string{"one file system", "With 1 client"}},
		{"one directory twice", func() *Report {
			r := sampleReport(t, false)
			for i := range r.Targets[:2] {
				r.Targets[i].Location, r.Targets[i].FSType, r.Targets[i].MountPoint, r.Targets[i].Source = "/var/tmp/bench", "ext4", "/", "/dev/vda"
			}
			return r
		}, nil, []string{"one file system"}, nil},
		{"directories on two file systems", func() *Report {
			r := sampleReport(t, false)
			r.Targets[1].MountPoint, r.Targets[1].Source = "/", "/dev/vda"
			return r
		}, nil, []string{"one file system"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Verdict(tt.rep())
			says(t, "verdict", v, tt.want, tt.notWant)
			last := -1
			for _, w := range tt.order {
				i := strings.Index(v[last+1:], w)
				if i < 0 {
					t.Errorf("verdict lacks %q after position %d:\n%s", w, last, v)
					break
				}
				last += 1 + i
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
		for _, w := range []string{"TARGET", "P99.9", "P99×", "RPC/OP", "nfs4", "redis 7.0.15", r.Verdict, "kept after each write: 400 days on efs, local; 25h on redis (none expires during the run)",
			// What the columns mean, for a first run read without --help.
			"cycle: a full request (lock, load, save, unlock)", "CONC: concurrent clients"} {
			if !strings.Contains(out, w) {
				t.Errorf("table lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "hot:") {
			t.Errorf("table explains a workload the run did not measure (hot):\n%s", out)
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
		for _, k := range []string{"target", "workload", "payload_bytes", "concurrency", "ops", "errors", "behind", "ops_per_sec", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "p50_ratio", "p99_ratio", "nfs_rpcs_per_op", "nfs_ops_per_op"} {
			if _, ok := row[k]; !ok {
				t.Errorf("JSON row lacks %q", k)
			}
		}
		if g := row["nfs_rpcs_per_op"].(map[string]any); g["other"] != 1.0 || g["total"] != 7.0 {
			t.Errorf("nfs_rpcs_per_op = %v", g)
		}
		if ops := row["nfs_ops_per_op"].(map[string]any); ops["RENAME"] != 1.0 || ops["SEQUENCE"] != 0.3 {
			t.Errorf("nfs_ops_per_op = %v", ops)
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
		total, other := slices.Index(CSVHeader, "nfs_rpcs_per_op"), slices.Index(CSVHeader, "nfs_other_per_op")
		if recs[1][total] != "7.0000" || recs[1][other] != "1.0000" || recs[2][total] != "" {
			t.Errorf("nfs column: %q, %q", recs[1][total], recs[2][total])
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
		for _, w := range []string{"<svg", "polyline", "cycle, 1KiB", "p50", "p99", "efs vs local vs redis — cycle — 1970-01-01"} {
			if !strings.Contains(svg, w) {
				t.Errorf("svg lacks %q", w)
			}
		}
		if strings.Contains(svg, "p99.9") {
			t.Error("svg draws p99.9, which is not a default percentile")
		}
	})
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
		// Rounding to three digits that reaches the next power of ten
		// moves to its precision, and at 1000 to the next unit: a p99 of
		// 999.6µs beside a max of 1.00ms read as two numbers a thousand
		// times apart ("1000µs"), and 99.96ms as four digits ("100.0ms").
		{0, "0ns"}, {999, "999ns"}, {1000, "1.00µs"},
		{9_996, "10.0µs"}, {99_960, "100µs"}, {999_499, "999µs"}, {999_500, "1.00ms"}, {999_999, "1.00ms"},
		{9_996 * time.Microsecond, "10.0ms"}, {99_960 * time.Microsecond, "100ms"}, {999_600 * time.Microsecond, "1.00s"},
		{9_996 * time.Millisecond, "10.0s"}, {99_960 * time.Millisecond, "100s"}, {4000 * time.Second, "4000s"},
		{-1500 * time.Microsecond, "-1.50ms"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
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

func TestLegendLabel(t *testing.T) {
	tests := []struct {
		t    Target
		want string
	}{
		{Target{Name: "tmpfs", Info: bench.Info{Kind: "fs", FSType: "tmpfs"}}, "tmpfs — memory"},
		{Target{Name: "ram", Info: bench.Info{Kind: "fs", FSType: "tmpfs"}}, "ram — memory, tmpfs"},
		{Target{Name: "nfs", Info: bench.Info{Kind: "fs", FSType: "nfs4", NFS: true}}, "nfs — shared mount, nfs4"},
		{Target{Name: "/var/tmp", Info: bench.Info{Kind: "fs", FSType: "ext4"}}, "/var/tmp — local disk, ext4"},
		{Target{Name: "x", Info: bench.Info{Kind: "fs"}}, "x — local disk"},
		{Target{Name: "redis", Info: bench.Info{Kind: "redis", Server: "redis 7.0.15"}}, "redis — redis 7.0.15"},
		{Target{Name: "redis", Info: bench.Info{Kind: "redis"}}, "redis"},
		{Target{Name: "noop", Info: bench.Info{Kind: "noop"}}, "noop"},
	}
	for _, tt := range tests {
		got := legendLabel(tt.t)
		if got != tt.want {
			t.Errorf("legendLabel(%s) = %q, want %q", tt.t.Name, got, tt.want)
		}
		if strings.Count(got, "(") > 0 {
			t.Errorf("legendLabel(%s) = %q has parentheses", tt.t.Name, got)
		}
	}
}

// TestPlotLayout checks that the header fits the canvas in both formats:
// every legend entry and the title end inside it, however long the names.
func TestPlotLayout(t *testing.T) {
	long := strings.Repeat("/mnt/a-rather-long-mount-point-name", 3)
	tests := []struct {
		name  string
		names []string
		title string
	}{
		{"short", []string{"a", "b"}, ""},
		{"many", []string{"tmpfs", "hostfs", "nfs", "redis", "efs-us-east-1a", "efs-us-east-1b", "/var/tmp/bench"}, ""},
		{"one very long", []string{"a", long}, ""},
		{"long title", []string{"a"}, strings.Repeat("UML guest; NFS over loopback with netem 1ms each way ", 3)},
	}
	for _, tt := range tests {
		for _, format := range []struct {
			name    string
			measure measureFunc
		}{{"svg", svgMeasure}} {
			t.Run(tt.name+"/"+format.name, func(t *testing.T) {
				r := sampleReport(t, true)
				r.Targets = nil
				for _, n := range tt.names {
					r.Targets = append(r.Targets, Target{Name: n, Info: bench.Info{Kind: "fs", FSType: "nfs4", NFS: true}})
				}
				ch, err := newChart(r, PlotOptions{Title: tt.title}, format.measure)
				if err != nil {
					t.Fatal(err)
				}
				w := float64(ch.width)
				for _, l := range ch.title {
					if end := margin + format.measure(l, titleSize, true); end > w {
						t.Errorf("title line %q ends at %.0f, canvas is %.0f wide", l, end, w)
					}
				}
				if title := strings.Join(ch.title, " "); tt.title != "" && title != strings.Join(strings.Fields(tt.title), " ") {
					t.Errorf("title wrapped to %q, lost words", ch.title)
				}
				if tt.name == "long title" && (len(ch.title) < 2 || ch.width > 2*panelW) {
					t.Errorf("long title in %d lines on a canvas %d wide; want it wrapped, not widened", len(ch.title), ch.width)
				}
				prevY := 0.0
				for _, it := range ch.legend {
					if end := it.x + 18 + format.measure(it.label, 11, false); end > w {
						t.Errorf("legend %q ends at %.0f, canvas is %.0f wide", it.label, end, w)
					}
					if it.y < prevY {
						t.Errorf("legend %q goes back up", it.label)
					}
					prevY = it.y
				}
				if ch.linesY <= prevY || ch.headerH <= ch.linesY {
					t.Errorf("legend rows overlap: targets down to %.0f, percentiles at %.0f, panels at %.0f", prevY, ch.linesY, ch.headerH)
				}
			})
		}
	}
}

func TestPlotOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    PlotOptions
		circles int // per panel: 3 targets x 2 concurrency levels x percentiles
		want    []string
		notWant []string
		wantErr string
	}{
		{"default", PlotOptions{}, 3 * 2 * 2, []string{">p50<", ">p99<", "efs vs local vs redis — cycle — 1970-01-01"}, []string{"p99.9", ">p90<"}, ""},
		{"all", PlotOptions{Percentiles: Percentiles()}, 3 * 2 * 4, []string{">p50<", ">p90<", ">p99<", ">p99.9<"}, nil, ""},
		{"p50 only", PlotOptions{Percentiles: []string{"p50"}}, 3 * 2, []string{">p50<"}, []string{">p99<"}, ""},
		{"title", PlotOptions{Title: "EFS <one zone> & friends"}, 3 * 2 * 2, []string{"EFS &lt;one zone&gt; &amp; friends"}, []string{"efs vs local"}, ""},
		{"unknown", PlotOptions{Percentiles: []string{"p95"}}, 0, nil, nil, `unknown percentile "p95"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := WritePlot(&b, sampleReport(t, true), tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			svg := b.String()
			if err := validXML(strings.NewReader(svg)); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(svg, "<circle"); n != tt.circles {
				t.Errorf("%d points, want %d", n, tt.circles)
			}
			for _, w := range tt.want {
				if !strings.Contains(svg, w) {
					t.Errorf("svg lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(svg, w) {
					t.Errorf("svg has %q", w)
				}
			}
		})
	}
}

// TestVerdictDurability: a save on the shared mount is on the file
// server's stable storage when it returns, at every durability level; on
// local disk only at file or full. A verdict that sets one against the
// other for a workload that saves must say that they do not promise the
// same, or it compares a durable save with one a power loss can undo.
func TestVerdictDurability(t *testing.T) {
	withDurability := func(r *Report, nfsDur, localDur string, wl string) *Report {
		for i := range r.Targets {
			switch r.Targets[i].Kind {
			case "fs":
				r.Targets[i].Durability = localDur
				if r.Targets[i].NFS {
					r.Targets[i].Durability = nfsDur
				}
			}
		}
		for i := range r.Results {
			r.Results[i].Workload = wl
		}
		r.Config.Workloads = []string{wl}
		return r
	}
	noRedis := func(r *Report) *Report {
		r.Targets = r.Targets[:2]
		var rows []Row
		for _, row := range r.Results {
			if row.Target != "redis" {
				rows = append(rows, row)
			}
		}
		r.Results = rows
		return r
	}
	tests := []struct {
		name          string
		rep           func() *Report
		want, notWant []string
	}{
		{"defaults, cycle", func() *Report { return withDurability(sampleReport(t, true), "none", "none", "cycle") }, []string{
			"not equally safe", "on the shared mount a returned save is on the file server's stable storage",
			"on local disk at durability none a power loss can undo the last seconds of saves",
			"Redis keeps only what its persistence settings save",
			"--durability full gives local disk the same promise",
		}, nil},
		{"defaults, save, no Redis", func() *Report { return noRedis(withDurability(sampleReport(t, true), "none", "none", "save")) },
			[]string{"not equally safe", "durability none a power loss"}, []string{"Redis keeps"}},
		{"local disk at file", func() *Report { return noRedis(withDurability(sampleReport(t, true), "file", "file", "cycle")) },
			[]string{"not equally safe", "at durability file a power loss can undo the last saves", "--durability full"}, nil},
		{"local disk at full", func() *Report { return noRedis(withDurability(sampleReport(t, true), "full", "full", "cycle")) },
			nil, []string{"not equally safe", "power loss"}},
		{"loads only", func() *Report { return withDurability(sampleReport(t, true), "none", "none", "load") },
			nil, []string{"not equally safe", "power loss", "persistence"}},
		{"memory", func() *Report {
			r := noRedis(withDurability(sampleReport(t, true), "none", "none", "hot"))
			r.Targets[1].FSType = "tmpfs"
			return r
		}, []string{"not equally safe", "memory (tmpfs) keeps nothing across a reboot"}, []string{"--durability full"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Verdict(tt.rep())
			says(t, "verdict", v, tt.want, tt.notWant)
		})
	}
}

// TestBehindRate: with --rate, a target that cannot sustain the rate
// builds a backlog for as long as the measurement runs, and its paced
// latencies measure that backlog, which grows with --duration; the report
// must say which rows fell behind instead of printing them as the
// target's latency at that rate.
func TestBehindRate(t *testing.T) {
	// The rows' clients start their operations over 1 s; at a rate above
	// that, the runner records the rest of the schedule's as behind.
	paced := func(rate float64) *Report {
		r := sampleReport(t, false)
		r.Config.Rate = rate
		for i := range r.Results {
			row := &r.Results[i]
			if due := uint64(rate * row.Seconds); rate > 0 && due > row.Ops {
				row.Behind = due - row.Ops
			}
		}
		r.Verdict = Verdict(r)
		return r
	}
	tests := []struct {
		name          string
		rep           *Report
		want, notWant []string
	}{
		// In every cell efs starts 100 operations a second, local 300, redis 200.
		{"two behind", paced(300), []string{
			"At --rate 300 operations/s efs started only 100 a second with 1 client and 100 a second with 64 concurrent clients",
			"redis started only 200 a second with 1 client and 200 a second with 64 concurrent clients",
			"backlog",
		}, []string{"local started"}},
		{"all kept up", paced(100), nil, []string{"started only", "backlog"}},
		{"closed loop", paced(0), nil, []string{"started only", "backlog"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rep.Verdict = Verdict(tt.rep)
			var b bytes.Buffer
			if err := WriteTable(&b, tt.rep); err != nil {
				t.Fatal(err)
			}
			says(t, "verdict", tt.rep.Verdict, tt.want, tt.notWant)
			behind := strings.Count(b.String(), "behind --rate:")
			if want := 4 * b2i(tt.name == "two behind"); behind != want {
				t.Errorf("table flags %d rows behind --rate, want %d:\n%s", behind, want, b.String())
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTableNothingMeasured: a row without one successful operation (a
// measurement too short for any to finish) has no latencies, and a ratio
// to it none either; printed as 0ns and 0.00 they read as measured, and
// as infinitely fast.
func TestTableNothingMeasured(t *testing.T) {
	targets := []Target{
		{Name: "a", Info: bench.Info{Kind: "fs", FSType: "ext4"}},
		{Name: "b", Info: bench.Info{Kind: "fs", FSType: "ext4"}},
	}
	results := []*bench.Result{
		result("a", bench.Load, 1, 0, 0), // nothing measured
		result("b", bench.Load, 1, 20*time.Microsecond, 50),
		result("a", bench.Load, 8, 0, 0),
		result("b", bench.Load, 8, 0, 0),
	}
	cfg := Config{Workloads: []string{"load"}, PayloadSizes: []int{1024}, Concurrency: []int{1, 8}, Rounds: 1}
	r := Build(cfg, targets, results, time.Unix(0, 0).UTC(), time.Unix(10, 0).UTC())
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, l := range strings.Split(b.String(), "\n") {
		f := strings.Fields(l)
		if len(f) != 13 || f[1] != "load" {
			continue
		}
		rows++
		// TARGET WORKLOAD SIZE CONC OPS OPS/S P50 P90 P99 P99.9 MAX P50× P99×
		measured := f[0] == "b" && f[3] == "1"
		for i, v := range f[6:] {
			if !measured && v != "-" || measured && i >= 5 && v != "-" || measured && i < 5 && v == "-" {
				t.Errorf("row %q: column %d is %q", l, 6+i, v)
			}
		}
	}
	if rows != 4 {
		t.Errorf("%d rows of 13 columns, want 4:\n%s", rows, b.String())
	}
}

// says fails t unless text, the report's what ("verdict", "chart"),
// says each of want and none of notWant.
func says(t *testing.T, what, text string, want, notWant []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
	for _, w := range notWant {
		if strings.Contains(text, w) {
			t.Errorf("%s has %q:\n%s", what, w, text)
		}
	}
}

// svgText returns the text an SVG document shows, its text elements'
// contents joined by spaces: the chart wraps a sentence over several.
func svgText(t *testing.T, svg string) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	var words []string
	in := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local == "text"
		case xml.EndElement:
			in = false
		case xml.CharData:
			if in {
				words = append(words, strings.Fields(string(tok))...)
			}
		}
	}
	return strings.Join(words, " ")
}

// TestPlotSubtitle: the chart says whether its latencies are of a closed
// loop, where a stall delays the operations behind it without charging
// them, or of a paced run, which charges them; and, for a store, the
// durability its saves had. Without them a chart shared on its own could
// not be read right. Nor without the lock strategy the stores measured:
// a lease-locked cycle costs round trips a flock-locked one does not, and
// the subtitle named the durability alone.
func TestPlotSubtitle(t *testing.T) {
	tests := []struct {
		name       string
		rate       float64
		durability string
		locks      [2]string // efs's and local's
		want       []string
		notWant    []string
	}{
		{"closed loop", 0, "none (default)", [2]string{"flock", "flock"}, []string{"closed loop (back to back)", "fsstore durability none (default), locks flock."}, []string{"paced", "lease"}},
		{"paced", 2000, "file", [2]string{}, []string{"paced at 2000 ops/s, latency from intended start", "fsstore durability file."}, []string{"closed loop", "locks"}},
		{"lease on one", 0, "file", [2]string{"lease", "flock"}, []string{"fsstore durability file, locks lease on efs; flock on local."}, nil},
		{"redis only", 1e6, "", [2]string{}, []string{"paced at 1000000 ops/s"}, []string{"durability", "locks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleReport(t, false)
			r.Config.Rate, r.Config.Durability = tt.rate, tt.durability
			r.Targets[0].Locks, r.Targets[1].Locks = tt.locks[0], tt.locks[1]
			var b bytes.Buffer
			if err := WritePlot(&b, r, PlotOptions{Title: "t"}); err != nil {
				t.Fatal(err)
			}
			text := svgText(t, b.String())
			says(t, "chart", text, tt.want, tt.notWant)
		})
	}
}

// TestKept: the table's header says how long each target kept a session
// after its last write, grouping targets that kept them alike, and says
// when the run outlasted a target's time rather than that none expired.
func TestKept(t *testing.T) {
	fs := func(name string) Target {
		return Target{Name: name, Info: bench.Info{Kind: "fs", SessionIdleSec: bench.SessionIdle.Seconds()}}
	}
	rds := func(d time.Duration) Target {
		return Target{Name: "redis", Info: bench.Info{Kind: "redis", SessionIdleSec: d.Seconds()}}
	}
	noop := Target{Name: "noop", Info: bench.Info{Kind: "noop"}}
	tests := []struct {
		name    string
		targets []Target
		run     time.Duration
		want    string
	}{
		{"one directory", []Target{fs("local")}, time.Minute, ", kept 400 days after each write (none expires during the run)"},
		{"directories alike", []Target{fs("a"), fs("b")}, time.Minute, ", kept 400 days after each write (none expires during the run)"},
		{"directory and redis", []Target{fs("a"), fs("b"), rds(25 * time.Hour)}, time.Minute,
			", kept after each write: 400 days on a, b; 25h on redis (none expires during the run)"},
		{"redis in days", []Target{rds(98 * time.Hour)}, time.Minute, ", kept 4 days 2h after each write (none expires during the run)"},
		{"redis in whole days", []Target{rds(48 * time.Hour)}, time.Minute, ", kept 2 days after each write (none expires during the run)"},
		{"not whole hours", []Target{rds(90 * time.Second)}, time.Second, ", kept 90.0s after each write (none expires during the run)"},
		{"the run outlasted redis", []Target{fs("a"), rds(24 * time.Hour)}, 25 * time.Hour,
			", kept after each write: 400 days on a; 24h on redis (the run lasted longer: sessions may have expired on redis)"},
		{"noop says nothing", []Target{noop}, time.Minute, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Targets: tt.targets, Started: time.Unix(0, 0), Finished: time.Unix(0, 0).Add(tt.run)}
			if got := kept(r); got != tt.want {
				t.Errorf("kept = %q\nwant   %q", got, tt.want)
			}
		})
	}
}

// The targets' header line says each thing once: a --dir target is named
// by its directory, which the description then repeated ("1. /mnt/x
// /mnt/x: nfs4 ..."), and mountinfo's options are the mount's then the
// superblock's, which share some ("rw,relatime,rw,...").
func TestDescribe(t *testing.T) {
	fs := func(name, loc, fstype, opts string) Target {
		return Target{Name: name, Info: bench.Info{Kind: "fs", Location: loc, FSType: fstype, Source: "srv:/export",
			MountPoint: "/mnt", Options: opts, Durability: "none"}}
	}
	for _, tt := range []struct {
		t    Target
		want string
	}{
		{fs("/mnt/x", "/mnt/x", "nfs4", "rw,relatime,rw,vers=4.1"), "nfs4 srv:/export on /mnt (rw,relatime,vers=4.1), durability none"},
		{fs("/mnt/x#2", "/mnt/x", "nfs4", "rw"), "nfs4 srv:/export on /mnt (rw), durability none"},
		{fs("local-tmp", "/var/tmp/sessbench-1", "ext4", "rw"), "/var/tmp/sessbench-1: ext4 srv:/export on /mnt (rw), durability none"},
		{fs("/mnt/x", "/mnt/x", "", ""), "directory, mount unknown, durability none"},
		{fs("local-tmp", "/tmp/s", "", ""), "directory /tmp/s (mount unknown), durability none"},
		{Target{Name: "redis", Info: bench.Info{Kind: "redis", Location: "127.0.0.1:6379", Server: "redis 7.0.15"}}, "redis 7.0.15 at 127.0.0.1:6379"},
	} {
		if got := describe(tt.t); got != tt.want {
			t.Errorf("describe(%s): %q, want %q", tt.t.Name, got, tt.want)
		}
	}
}

// TestCSVFirstError: --csv carries a row's first failure as --json and the
// table do; without it a scripted run saw errors it could not explain.
func TestCSVFirstError(t *testing.T) {
	first := `open /mnt/efs/x: stale NFS file handle, "quoted", and a
newline`
	r := &Report{Results: []Row{
		{Target: "efs", Workload: "cycle", Ops: 9, Errors: 1, FirstError: first},
		{Target: "local", Workload: "cycle", Ops: 10},
	}}
	var b bytes.Buffer
	if err := WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(recs[0], "first_error")
	if col < 0 {
		t.Fatalf("no first_error column in %v", recs[0])
	}
	if len(recs) != 3 || recs[1][col] != first || recs[2][col] != "" {
		t.Errorf("first_error column: %q", recs)
	}
}

// TestTableSessionCount: the header said "1 sessions per size" of a run
// of --sessions 1.
func TestTableSessionCount(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{{1, "; 1 session per size"}, {16, "; 16 sessions per size"}} {
		r := sampleReport(t, false)
		r.Config.Sessions = tt.n
		var b bytes.Buffer
		if err := WriteTable(&b, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("--sessions %d: the header lacks %q:\n%s", tt.n, tt.want, b.String())
		}
	}
}

// TestFailedListed: a target left out of the run after it failed is
// listed, with where it was and its error, in the table and in --json's
// failed, and has no row.
func TestFailedListed(t *testing.T) {
	r := Build(Config{Workloads: []string{"load"}, PayloadSizes: []int{1024}, Concurrency: []int{1}, Sessions: 1, Rounds: 1},
		[]Target{{Name: "local", Info: bench.Info{Kind: "fs", Location: "local", FSType: "ext4", Durability: "none"}}},
		[]*bench.Result{result("local", bench.Load, 1, time.Millisecond, 10)}, time.Now(), time.Now())
	r.Failed = []Failure{{Target: Target{Name: "redis", Info: bench.Info{Kind: "redis", Location: "127.0.0.1:6379", Server: "redis 7.0.15"}},
		Error: "redis: load: every operation failed (3), so it is left out of the rest of the run; the first: connection refused"}}
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "Failed, left out of the rest of the run, no results:\n  redis (redis 7.0.15 at 127.0.0.1:6379): redis: load: every operation failed"
	if !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, b.String())
	}
	b.Reset()
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Failed []map[string]any `json:"failed"`
	}
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Failed) != 1 || m.Failed[0]["name"] != "redis" || m.Failed[0]["kind"] != "redis" || m.Failed[0]["location"] != "127.0.0.1:6379" ||
		!strings.Contains(m.Failed[0]["error"].(string), "every operation failed") {
		t.Errorf("--json failed: %v", m.Failed)
	}
}

// TestVerdictOwnWrites: one host measures, and it wrote every session it
// reads itself, so on a mount its NFS client found each record unchanged
// and served it from its own cache. A fleet whose requests for a session
// reach other hosts pays more per read (a Load 6 RPCs instead of 3, a
// locked cycle 14 instead of 11): a verdict on a workload that reads
// must say that its numbers are the case where this host wrote last, or
// the mount is judged on the cheaper one. A workload that only writes,
// and a target off NFS, have no such case.
func TestVerdictOwnWrites(t *testing.T) {
	tests := []struct {
		name    string
		wl      bench.Workload
		nfs     bool
		want    []string
		notWant []string
	}{
		{"cycle on NFS", bench.Cycle, true, []string{"This host wrote every session it read", "another host wrote", "14 for a full request cycle instead of 11", "0.5 reads from the server"}, nil},
		{"load on NFS", bench.Load, true, []string{"This host wrote", "6 RPCs for such a load instead of 3"}, nil},
		{"hot on NFS", bench.Hot, true, []string{"This host wrote"}, nil},
		{"save on NFS", bench.Save, true, nil, []string{"This host wrote", "another host"}},
		{"cycle off NFS", bench.Cycle, false, nil, []string{"This host wrote", "another host"}},
		// flock's counts: a store that locked with lease files sends
		// others, and says so.
		{"cycle on NFS, lease locks", bench.Cycle, true, []string{"6 RPCs for such a load instead of 3", "locked with lease files"}, []string{"instead of 11"}},
		// The counts are the NFS suite's budgets: NFSv4.1, flock, the
		// default durability, a record that one READ and one WRITE
		// carry. Elsewhere nothing asserts them, and the verdict gives
		// none.
		{"hot on NFS, 8 clients on the same sessions", bench.Hot, true, []string{"This host wrote", "more round trips"}, []string{"6 RPCs", "instead of 11"}},
		{"cycle on NFSv4.0", bench.Cycle, true, []string{"This host wrote", "more round trips"}, []string{"6 RPCs", "instead of 11"}},
		{"cycle on NFSv3", bench.Cycle, true, []string{"This host wrote", "another host wrote", "more round trips"}, []string{"6 RPCs", "instead of 11"}},
		{"load on NFS, record larger than rsize", bench.Load, true, []string{"This host wrote", "more round trips"}, []string{"6 RPCs", "instead of 11"}},
		{"cycle on NFS, durability full", bench.Cycle, true, []string{"This host wrote", "more round trips"}, []string{"6 RPCs", "instead of 11"}},
		{"cycle on NFS, mount options unknown", bench.Cycle, true, []string{"This host wrote", "more round trips"}, []string{"6 RPCs", "instead of 11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			targets := []Target{
				{Name: "efs", Info: bench.Info{Kind: "fs", Location: "/mnt/efs/bench", FSType: "nfs4", NFS: tt.nfs, Locks: "flock"}},
				{Name: "local", Info: bench.Info{Kind: "fs", Location: "/var/tmp/bench", FSType: "ext4", Locks: "flock"}},
			}
			targets[0].Options, targets[0].Durability = "rw,vers=4.1,rsize=1048576,wsize=1048576,hard,proto=tcp", "none"
			size := 1024
			switch {
			case strings.Contains(tt.name, "lease"):
				targets[0].Locks = "lease"
			case strings.Contains(tt.name, "NFSv4.0"):
				targets[0].Options = "rw,vers=4.0,rsize=1048576,wsize=1048576,hard,proto=tcp"
			case strings.Contains(tt.name, "NFSv3"):
				targets[0].FSType, targets[0].Options = "nfs", "rw,vers=3,rsize=1048576,wsize=1048576,hard,proto=tcp"
			case strings.Contains(tt.name, "rsize"):
				size = 1 << 20
			case strings.Contains(tt.name, "durability"):
				targets[0].Durability = "full"
			case strings.Contains(tt.name, "unknown"):
				targets[0].Options = ""
			}
			conc := 1
			if strings.Contains(tt.name, "8 clients") {
				conc = 8
			}
			a := result("efs", tt.wl, conc, 3*time.Millisecond, 100)
			a.Size = size
			if tt.nfs {
				a.RPC = mountstats.Counts{"LOCK": 100, "LOCKU": 100, "GETATTR": 250, "WRITE": 100, "READ": 50, "RENAME": 100}
			}
			b := result("local", tt.wl, conc, time.Millisecond, 300)
			b.Size = size
			results := []*bench.Result{a, b}
			cfg := Config{Workloads: []string{string(tt.wl)}, PayloadSizes: []int{size}, Concurrency: []int{conc}, Rounds: 1}
			r := Build(cfg, targets, results, time.Unix(0, 0).UTC(), time.Unix(10, 0).UTC())
			says(t, "verdict", r.Verdict, tt.want, tt.notWant)
		})
	}
}

// TestTableSampleCounts: the table says how much each row measured, the
// time per row in its header and each row's operations in OPS, and names
// what a percentile of too few operations is: nearest rank makes the
// P99.9 of fewer than 1000 operations (the P99 of fewer than 100) the
// slowest one, which the table printed beside MAX as if it were a tail.
// --ops counts the operations run, failed ones included, and OPS the
// successful: the header said "at least N operations measured" above a
// row whose OPS, with errors, was fewer.
func TestTableSampleCounts(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(*Config)
		n       int
		want    []string
		notWant []string
	}{
		{"duration, few", func(c *Config) { c.DurationSec = 1.5 }, 490,
			[]string{"1.5s measured per target and row", " 490 ", "The P99.9 of a row of fewer than 1000 operations is its slowest"},
			[]string{"P99 of a row"}},
		{"ops, very few", func(c *Config) { c.Ops = 60 }, 60,
			[]string{"at least 60 operations run per target and row, failed ones included (OPS counts the successful)", " 60 ", "P99 of a row of fewer than 100"},
			nil},
		{"enough", func(c *Config) { c.DurationSec = 10 }, 5000,
			[]string{"10s measured per target and row", " 5000 "},
			[]string{"slowest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			targets := []Target{{Name: "a", Info: bench.Info{Kind: "fs", FSType: "ext4"}}}
			cfg := Config{Workloads: []string{"load"}, PayloadSizes: []int{1024}, Concurrency: []int{1}, Rounds: 3}
			tt.cfg(&cfg)
			res := result("a", bench.Load, 1, 20*time.Microsecond, tt.n)
			res.Elapsed = 2 * time.Second // OPS/S is half of OPS
			r := Build(cfg, targets, []*bench.Result{res}, time.Unix(0, 0).UTC(), time.Unix(10, 0).UTC())
			var b bytes.Buffer
			if err := WriteTable(&b, r); err != nil {
				t.Fatal(err)
			}
			says(t, "table", b.String(), tt.want, tt.notWant)
			for _, l := range strings.Split(b.String(), "\n") {
				if f := strings.Fields(l); len(f) > 0 && f[0] == "TARGET" && !slices.Contains(f, "OPS") {
					t.Errorf("the table's header has no OPS column: %q", l)
				}
			}
		})
	}
}

// TestDescribeLocks: the targets' list names how a directory target's
// store locked, read from --json's "locks" as a report keeps it: a lease
// strategy's cycle costs more round trips than flock's, and a mount that
// fell back to it (flock not reaching the server) measured that.
func TestDescribeLocks(t *testing.T) {
	tests := []struct{ json, want string }{
		{`{"name":"/mnt/x","kind":"fs","location":"/mnt/x","fs_type":"nfs4","source":"srv:/e","mount_point":"/mnt","mount_options":"rw","durability":"none","locks":"lease"}`,
			"nfs4 srv:/e on /mnt (rw), durability none, locks lease"},
		{`{"name":"/mnt/x","kind":"fs","location":"/mnt/x","durability":"none","locks":"flock"}`,
			"directory, mount unknown, durability none, locks flock"},
	}
	for _, tt := range tests {
		var tg Target
		if err := json.Unmarshal([]byte(tt.json), &tg); err != nil {
			t.Fatal(err)
		}
		if got := describe(tg); got != tt.want {
			t.Errorf("describe(%s) = %q, want %q", tt.json, got, tt.want)
		}
	}
}

// TestPacedThroughput: under --rate, a row's operations per second are
// the rate times the share of the operations the schedule called for
// that succeeded, not its operations over its wall time: the wall time
// also holds the operations in flight when the schedule ended, and by it
// a target that started every operation on time, each taking 150 ms
// over 1 s of schedule, read 87 a second against --rate 100, and lower
// than a faster target that kept the same rate, in the table, the ratio
// and the verdict ("throughput 87 against 100"), beside a "behind --rate"
// line that said 100. A closed loop's are its operations over its time.
func TestPacedThroughput(t *testing.T) {
	tests := []struct {
		name              string
		rate              float64
		ops, errs, behind uint64
		elapsed           time.Duration
		want              float64
	}{
		{"kept up, long operations", 100, 100, 0, 0, 1150 * time.Millisecond, 100},
		{"kept up, some failed", 100, 90, 10, 0, 1150 * time.Millisecond, 90},
		{"half behind", 100, 50, 0, 50, 1200 * time.Millisecond, 50},
		{"closed loop", 0, 100, 0, 0, 2 * time.Second, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := result("a", bench.Load, 1, 150*time.Millisecond, int(tt.ops))
			res.Errors, res.Behind, res.Elapsed = tt.errs, tt.behind, tt.elapsed
			fast := result("b", bench.Load, 1, time.Millisecond, int(tt.ops))
			fast.Errors, fast.Behind, fast.Elapsed = tt.errs, tt.behind, time.Second+time.Millisecond
			targets := []Target{{Name: "a", Info: bench.Info{Kind: "fs"}}, {Name: "b", Info: bench.Info{Kind: "fs"}}}
			cfg := Config{Workloads: []string{"load"}, PayloadSizes: []int{1024}, Concurrency: []int{1}, Rounds: 1, Rate: tt.rate, DurationSec: 1}
			r := Build(cfg, targets, []*bench.Result{res, fast}, time.Unix(0, 0).UTC(), time.Unix(10, 0).UTC())
			if got := r.Results[0].OpsPerSec; math.Abs(got-tt.want) > 0.01 {
				t.Errorf("ops_per_sec = %.2f, want %.2f", got, tt.want)
			}
			if tt.rate > 0 {
				if got := r.Results[1].OpsRatio; math.Abs(got-1) > 1e-9 {
					t.Errorf("ops_ratio of a target that kept the same rate = %.3f, want 1", got)
				}
			}
		})
	}
}
