package main_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/testenv"

	"github.com/redis/go-redis/v9"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/report"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/redistarget"
	"github.com/sessfs/sessfs/internal/storetest"
)

// binary is the sessbench executable built once for all tests.
var binary string

func TestMain(m *testing.M) {
	// Its tests run the fs target, which needs a store (Windows has none).
	storetest.ExitIfUnsupported("cmd/sessbench")
	dir, err := os.MkdirTemp("", "sessbench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sessbench")
	build := exec.Command("go", append(append([]string{"build"}, buildFlags...), "-o", binary, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sessbench:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// quick keeps a measurement short: op counts instead of time, no fsync.
var quick = []string{"--ops", "40", "--rounds", "2", "--warmup", "0", "--concurrency", "1,4", "--sessions", "16", "--size", "512,2KiB", "--durability", "none"}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running sessbench: %v", err)
	}
	return r
}

// snapshot lists every entry under dir with its size, to compare a
// directory before and after a run.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var list []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		list = append(list, fmt.Sprintf("%s %v %d", p, info.Mode(), info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// benchDir returns a directory holding one file of its own, which a run
// must leave alone.
func benchDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTableTwoDirs(t *testing.T) {
	a, b := benchDir(t), benchDir(t)
	before := append(snapshot(t, a), snapshot(t, b)...)
	r := run(t, nil, append([]string{"run", "--dir", a, "--dir", b}, quick...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"Targets:", a, b, "TARGET", "WORKLOAD", "P50", "P99.9", "MAX", "P99×", "cycle", "touch", "512B", "2KiB", "local disk"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	if after := append(snapshot(t, a), snapshot(t, b)...); !slices.Equal(before, after) {
		t.Errorf("directories changed:\nbefore %v\nafter  %v", before, after)
	}
}

func TestDefaultTargetIsTempDir(t *testing.T) {
	tmp := t.TempDir()
	r := run(t, []string{"TMPDIR=" + tmp}, append([]string{"run", "--json"}, quick...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 1 || rep.Targets[0].Kind != "fs" || !strings.HasPrefix(rep.Targets[0].Location, tmp) || rep.Targets[0].FSType == "" {
		t.Errorf("targets = %+v", rep.Targets)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temporary directory left behind: %v", ents)
	}
}

// TestNoFlags runs the README's main command exactly, with its full
// default sweep; it takes about half a minute.
func TestNoFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the full default sweep (~30 s); skipped in -short")
	}
	tmp := t.TempDir()
	r := run(t, []string{"TMPDIR=" + tmp}, "run")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "16KiB") || !strings.Contains(r.stdout, "64 concurrent clients") {
		t.Errorf("output:\n%s", r.stdout)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temporary directory left behind: %v", ents)
	}
}

func TestJSONFields(t *testing.T) {
	d := benchDir(t)
	r := run(t, nil, append([]string{"run", "--dir", d, "--json", "--workload", "cycle,load,save,touch,mixed,hot"}, quick...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	for _, k := range []string{"started", "finished", "config", "targets", "results", "verdict"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	target := m["targets"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "kind", "location", "mount_point", "fs_type", "mount_options", "nfs", "durability"} {
		if _, ok := target[k]; !ok {
			t.Errorf("target lacks %q: %v", k, target)
		}
	}
	results := m["results"].([]any)
	if len(results) != 6*2*2 {
		t.Fatalf("%d results, want 24", len(results))
	}
	for _, x := range results {
		row := x.(map[string]any)
		for _, k := range []string{"target", "workload", "payload_bytes", "concurrency", "ops", "errors", "seconds", "ops_per_sec",
			"min_ns", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "p50_ratio", "p99_ratio", "ops_ratio"} {
			if _, ok := row[k]; !ok {
				t.Errorf("result lacks %q", k)
			}
		}
		// 40 ops over 2 rounds, at least one per client in each.
		if ops := row["ops"].(float64); ops < 40 || row["errors"].(float64) != 0 || row["p50_ns"].(float64) <= 0 ||
			row["p50_ns"].(float64) > row["p99_ns"].(float64) || row["p99_ns"].(float64) > row["max_ns"].(float64) {
			t.Errorf("implausible row %v", row)
		}
	}
}

// TestRatePaced checks that --rate paces the clients: the op count follows
// the rate, not the target's speed.
func TestRatePaced(t *testing.T) {
	d := benchDir(t)
	r := run(t, nil, "run", "--dir", d, "--json", "--workload", "load", "--size", "512", "--concurrency", "2",
		"--rate", "500", "--duration", "600ms", "--rounds", "1", "--warmup", "0", "--sessions", "8", "--durability", "none")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Config.Rate != 500 || len(rep.Results) != 1 {
		t.Fatalf("config %+v, %d results", rep.Config, len(rep.Results))
	}
	// 500/s for the measured time (0.6 s, more on a loaded machine whose
	// timer fires late); a local load is far faster, so an unpaced run
	// would do tens of thousands.
	row := rep.Results[0]
	// Only the upper bound is checked: pacing can never run ahead of the
	// schedule, while a loaded machine may fall behind it (no timing
	// thresholds in tests).
	if want := 500 * row.Seconds; row.Ops == 0 || float64(row.Ops) > 1.1*want+2 {
		t.Errorf("%d operations at 500/s over %.3fs", row.Ops, row.Seconds)
	}
}

func TestCSVAndPlot(t *testing.T) {
	d := benchDir(t)
	out := t.TempDir()
	plot := filepath.Join(out, "latency.svg")
	r := run(t, nil, append([]string{"run", "--dir", d, "--dir", d, "--csv", "--plot", plot}, quick...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], report.CSVHeader) {
		t.Errorf("header = %v", recs[0])
	}
	if len(recs) != 1+4*2*2*2 {
		t.Errorf("%d CSV lines, want 33", len(recs))
	}
	for _, rec := range recs[1:] {
		if _, err := strconv.ParseInt(rec[slices.Index(report.CSVHeader, "p99_ns")], 10, 64); err != nil {
			t.Errorf("p99_ns: %v", err)
		}
	}
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var root string
	var points int
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("plot is not valid XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "circle" {
				points++
			}
		}
	}
	// 4 workloads x 2 sizes panels; in each, 2 targets x 2 concurrency
	// levels x 2 percentiles (p50 and p99 by default).
	if root != "svg" || points != 4*2*2*2*2 {
		t.Errorf("plot root %q with %d points", root, points)
	}
	// Written through a temporary file, but readable like any output.
	if fi, err := os.Stat(plot); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("plot mode: %v, %v; want 0644", fi.Mode().Perm(), err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Errorf("plot directory holds %v", ents)
	}
}

// TestHTTPBadInput: sessbench http refuses, before measuring anything,
// what sessbench run refuses: a result that would be measured twice, a
// chart it could not write at the end, a round of no time.
func TestHTTPBadInput(t *testing.T) {
	d := benchDir(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"repeated size", []string{"--size", "1KiB,1024"}, "--size 1024: the same as 1KiB"},
		{"title without plot", []string{"--title", "x"}, "--plot"},
		{"plot dir missing", []string{"--plot", filepath.Join(d, "no", "x.svg")}, "does not exist"},
		{"rounds of no time", []string{"--duration", "2ns", "--rounds", "3"}, "less than 1ns per round"},
		// The flags by name, and why: it said "sessions (2) must be at
		// least the concurrency (4)".
		{"fewer sessions than clients", []string{"--sessions", "2", "--concurrency", "4"}, "--sessions 2: must be at least --concurrency (4)"},
		// An unset variable in --dir "$BENCH_DIR": it measured a
		// temporary directory on local disk instead, as if no --dir had
		// been given.
		{"empty dir", []string{"--dir", ""}, "--dir: empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"http", "--dir", d, "--peers", "sessfs,scs-mem"}, tt.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 mentioning %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

// TestHTTPMissingDir: sessbench http given a --dir that does not exist
// says so and what to do, as sessbench run does, rather than failing its
// room check with "free space: no such file or directory".
func TestHTTPMissingDir(t *testing.T) {
	missing := filepath.Join(benchDir(t), "nope")
	r := run(t, nil, "http", "--dir", missing, "--peers", "sessfs,scs-mem")
	want := "--dir " + missing + " does not exist: create it first (mkdir -p -- " + missing + ")"
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit 1 saying %q", r.code, r.stderr, want)
	}
}

func TestBadInput(t *testing.T) {
	d := benchDir(t)
	file := filepath.Join(d, "keep.txt")
	closed := freePort(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing dir", []string{"--dir", filepath.Join(d, "nope")}, 1, "does not exist: create it first (mkdir -p -- " + filepath.Join(d, "nope") + ")"},
		{"file as dir", []string{"--dir", file}, 1, "not a directory"},
		// An unset variable in --dir "$BENCH_DIR" is a usage error; it
		// was refused as a directory that does not exist, "mkdir -p ".
		{"empty dir", []string{"--dir", d, "--dir", ""}, 2, "--dir: empty"},
		{"unwritable dir", []string{"--dir", "/proc"}, 1, "not writable"},
		{"second dir missing", []string{"--dir", d, "--dir", "/nonexistent/x"}, 1, "/nonexistent/x"},
		{"unreachable redis", []string{"--dir", d, "--redis", closed}, 1, "unreachable"},
		{"redis no port", []string{"--redis", "localhost"}, 2, "host:port"},
		{"zero concurrency", []string{"--dir", d, "--concurrency", "0"}, 2, "concurrency 0"},
		{"non-numeric concurrency", []string{"--dir", d, "--concurrency", "many"}, 2, "invalid argument"},
		{"bad size", []string{"--dir", d, "--size", "1GiB"}, 2, "bad size"},
		{"bad workload", []string{"--dir", d, "--workload", "sleep"}, 2, "unknown workload"},
		{"bad ratio", []string{"--dir", d, "--write-ratio", "-1"}, 2, "--write-ratio -1"},
		{"ratio not a number", []string{"--dir", d, "--workload", "mixed", "--write-ratio", "NaN"}, 2, "--write-ratio NaN"},
		{"infinite rate", []string{"--dir", d, "--rate", "Inf"}, 2, "rate +Inf"},
		{"rate not a number", []string{"--dir", d, "--rate", "NaN"}, 2, "rate NaN"},
		{"rounds of no time", []string{"--dir", d, "--duration", "2ns", "--rounds", "3"}, 2, "less than 1ns per round"},
		{"zero duration", []string{"--dir", d, "--duration", "0s"}, 2, "duration"},
		{"bad durability", []string{"--dir", d, "--durability", "eventual"}, 2, "durability"},
		{"json and csv", []string{"--dir", d, "--json", "--csv"}, 2, "--json and --csv"},
		{"gif plot", []string{"--dir", d, "--plot", filepath.Join(d, "x.gif")}, 2, "written as SVG"},
		{"png plot", []string{"--dir", d, "--plot", filepath.Join(d, "x.png")}, 2, "written as SVG"},
		{"plot dir missing", []string{"--dir", d, "--plot", filepath.Join(d, "no", "x.svg")}, 2, "does not exist"},
		// It was said not to exist.
		{"plot under a file", []string{"--dir", d, "--plot", filepath.Join(file, "x.svg")}, 2, file + " is not a directory"},
		{"stray argument", []string{"now"}, 2, "unexpected argument"},
		{"repeated size", []string{"--dir", d, "--size", "1KiB", "--size", "1KiB"}, 2, "--size 1KiB: given twice"},
		{"repeated concurrency", []string{"--dir", d, "--concurrency", "1,1"}, 2, "--concurrency 1: given twice"},
		{"repeated workload", []string{"--dir", d, "--workload", "load,load"}, 2, "--workload load: given twice"},
		{"unknown percentile", []string{"--dir", d, "--plot", filepath.Join(d, "x.svg"), "--percentiles", "p95"}, 2, "--percentiles p95"},
		{"title without plot", []string{"--dir", d, "--title", "x"}, 2, "--plot"},
		{"unknown flag", []string{"--fast"}, 2, "unknown flag"},
	}
	before := snapshot(t, d)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"run"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", r.code, r.stderr, tt.code, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q on failure", r.stdout)
			}
		})
	}
	if after := snapshot(t, d); !slices.Equal(before, after) {
		t.Errorf("directory changed:\nbefore %v\nafter  %v", before, after)
	}
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not a wait for an event
	}
}

// countFiles counts regular files under the run's private subdirectories.
func countFiles(dir string) int {
	n := 0
	subs, _ := filepath.Glob(filepath.Join(dir, ".sessbench-*"))
	for _, s := range subs {
		filepath.WalkDir(s, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return nil
		})
	}
	return n
}

// TestSignalCleansUp: whatever stops a run from outside, short of
// SIGKILL, leaves the operator's directory and Redis as they were and exits
// 128 plus the signal's number: Ctrl-C, SIGTERM (a service manager) and
// SIGHUP, what the run gets when the terminal or SSH session it was
// started from goes away mid-run (it used to die of it on the spot,
// leaving its sessions on the mount).
func TestSignalCleansUp(t *testing.T) {
	tests := []struct {
		name  string
		sig   syscall.Signal
		code  int
		redis bool
		// nohup starts the run under nohup(1) and sends it SIGHUP
		// before sig: a run its operator started so as to survive the
		// SSH session's end goes on (catching SIGHUP would undo nohup).
		nohup bool
	}{
		{"SIGINT dir", syscall.SIGINT, 130, false, false},
		{"SIGINT dir and redis", syscall.SIGINT, 130, true, false},
		{"SIGTERM dir", syscall.SIGTERM, 143, false, false},
		{"SIGHUP dir", syscall.SIGHUP, 129, false, false},
		{"SIGHUP dir and redis", syscall.SIGHUP, 129, true, false},
		{"SIGHUP under nohup, then SIGINT", syscall.SIGINT, 130, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmdtest.HangupDefault(t)
			d := benchDir(t)
			before := snapshot(t, d)
			args := []string{"run", "--dir", d, "--duration", "1h", "--sessions", "32", "--durability", "none"}
			var rc *redis.Client
			if tt.redis {
				addr := startRedis(t)
				rc = redis.NewClient(&redis.Options{Addr: addr})
				defer rc.Close()
				args = append(args, "--redis", addr)
			}
			cmd := exec.Command(binary, args...)
			if tt.nohup {
				nohup, err := exec.LookPath("nohup")
				if err != nil {
					t.Skip("no nohup on PATH")
				}
				// nohup execs sessbench: the same process, SIGHUP ignored.
				cmd = exec.Command(nohup, append([]string{binary}, args...)...)
			}
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// The sessions exist once the measurement is under way.
			waitFor(t, "sessions on disk", time.Minute, func() bool { return countFiles(d) >= 32 })
			if tt.redis {
				waitFor(t, "sessions in redis", time.Minute, func() bool {
					n, _ := rc.DBSize(context.Background()).Result()
					return n >= 32
				})
			}
			if tt.nohup {
				if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-exited:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatalf("sessbench did not exit after %v", tt.sig)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tt.code {
				t.Errorf("exit: %v, want status %d; stderr: %s", err, tt.code, errOut.String())
			}
			if want := "sessbench: interrupted by " + cmdutil.SignalName(tt.sig); !strings.Contains(errOut.String(), want) {
				t.Errorf("stderr %q, want %q", errOut.String(), want)
			}
			if after := snapshot(t, d); !slices.Equal(before, after) {
				t.Errorf("directory changed:\nbefore %v\nafter  %v", before, after)
			}
			if tt.redis {
				if n, err := rc.DBSize(context.Background()).Result(); err != nil || n != 0 {
					t.Errorf("redis holds %d keys after the run (%v)", n, err)
				}
			}
		})
	}
}

// startRedis starts a private redis-server on a free loopback port and
// returns its address. It skips the test when redis-server is missing.
func startRedis(t *testing.T) string {
	t.Helper()
	return startRedisWith(t, nil, nil)
}

// startRedisWith starts a private redis-server with extra arguments, and
// waits until a client set up by opts (the address filled in) gets an
// answer. args may use PORT for the port; without it the server listens on
// the plain --port.
func startRedisWith(t *testing.T, args []string, opts func(*redis.Options)) string {
	t.Helper()
	addr, _ := startRedisProcess(t, args, opts)
	return addr
}

// startRedisProcess is startRedisWith that also returns the server's
// process, for a test to stop (SIGSTOP) as a hung server.
func startRedisProcess(t *testing.T, args []string, opts func(*redis.Options)) (string, *os.Process) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Skip(t, testenv.Redis, "redis-server not on PATH; install it (apt-get install redis-server) to run the Redis tests")
	}
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	all := []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}
	for _, a := range args {
		if a == "PORT" {
			a = port
		}
		all = append(all, a)
	}
	srv := exec.Command(path, all...)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
	})
	o := &redis.Options{Addr: addr}
	if opts != nil {
		opts(o)
	}
	c := redis.NewClient(o)
	defer c.Close()
	waitFor(t, "redis-server", 10*time.Second, func() bool { return c.Ping(context.Background()).Err() == nil })
	return addr, srv.Process
}

func TestRedisTarget(t *testing.T) {
	addr := startRedis(t)
	d := benchDir(t)
	r := run(t, nil, append([]string{"run", "--dir", d, "--redis", addr, "--json", "--workload", "cycle,load,save,touch,hot"}, quick...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 2 || rep.Targets[1].Kind != "redis" || !strings.HasPrefix(rep.Targets[1].Server, "redis ") {
		t.Fatalf("targets = %+v", rep.Targets)
	}
	// Each target says how long it kept a session: a directory the
	// store's longest idle timeout, Redis a TTL from this short run's plan.
	if got := rep.Targets[0].SessionIdleSec; got != bench.SessionIdle.Seconds() {
		t.Errorf("directory kept sessions %vs, want %vs", got, bench.SessionIdle.Seconds())
	}
	if got := rep.Targets[1].SessionIdleSec; got != redistarget.MinTTL.Seconds() {
		t.Errorf("redis kept sessions %vs, want %vs", got, redistarget.MinTTL.Seconds())
	}
	var redisRows int
	for _, row := range rep.Results {
		if row.Target == "redis" {
			redisRows++
			if row.Ops == 0 || row.Errors != 0 || row.P99Ratio <= 0 {
				t.Errorf("redis row %+v", row)
			}
		}
	}
	if redisRows != 5*2*2 {
		t.Errorf("%d redis rows, want 20", redisRows)
	}
	if !strings.Contains(rep.Verdict, "Redis") {
		t.Errorf("verdict: %s", rep.Verdict)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if n, err := c.DBSize(context.Background()).Result(); err != nil || n != 0 {
		t.Errorf("redis holds %d keys after the run (%v)", n, err)
	}
}

// TestCompletion asks the real binary for completions as the shell scripts
// of "sessbench completion" do, through the hidden __complete command.
func TestCompletion(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // the candidates, without descriptions
	}{
		{"workload", []string{"--workload", ""}, []string{"cycle", "load", "save", "touch", "mixed", "hot"}},
		{"workload prefix", []string{"--workload", "t"}, []string{"touch"}},
		{"workload after a comma", []string{"--workload", "cycle,"}, []string{"cycle,load", "cycle,save", "cycle,touch", "cycle,mixed", "cycle,hot"}},
		{"durability", []string{"--durability", ""}, []string{"none", "file", "full"}},
		{"durability prefix", []string{"--durability", "f"}, []string{"file", "full"}},
		{"percentiles", []string{"--percentiles", "p50,p9"}, []string{"p50,p90", "p50,p99", "p50,p99.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"__complete", "run"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				if strings.HasPrefix(l, ":") { // the directive line
					continue
				}
				name, _, _ := strings.Cut(l, "\t")
				got = append(got, name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("completions %q, want %q\n%s", got, tt.want, r.stdout)
			}
		})
	}
}

// TestHelpAndVersion: the real binary answers --version and lists its exit
// codes in --help, as sessgc does.
func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--version"}, "sessbench "},
		{[]string{"--help"}, "Exit codes:"},
		{[]string{"--help"}, "130  interrupted"},
	} {
		r := run(t, nil, tc.args...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%v: exit %d, missing %q in %q (stderr %q)", tc.args, r.code, tc.want, r.stdout, r.stderr)
		}
	}
}

// TestHTTPPeers runs "sessbench http" with every peer, a real redis-server
// behind scs's redisstore, and checks the report: every peer at every size,
// the durability the sessfs store used, sessfs losing no update of the
// same-session test, and the chart.
func TestHTTPPeers(t *testing.T) {
	addr := startRedis(t)
	for _, tt := range []struct {
		name string
		args []string
		want string // in sessfs's description
	}{
		{"default durability", nil, "durability none (the store's default)"},
		{"durability file, profiled", []string{"--durability", "file", "--cpuprofile", "PROFILE"}, "durability file (--durability)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := benchDir(t)
			plot := filepath.Join(t.TempDir(), "http.svg")
			args := append([]string{"http", "--dir", d, "--redis", addr, "--json", "--plot", plot,
				"--duration", "200ms", "--rounds", "2", "--sessions", "4", "--concurrency", "2", "--hot", "4x10",
				"--size", "512,4KiB"}, tt.args...)
			profile := filepath.Join(t.TempDir(), "cpu.prof")
			for i, a := range args {
				if a == "PROFILE" {
					args[i] = profile
				}
			}
			r := run(t, nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			// A run that went well has nothing to say there but where it
			// wrote the chart. httpsession warned that every request
			// started a new session (its Secure cookie sent over plain
			// HTTP), which in a benchmark says the numbers are of the
			// wrong thing; it was the requests' URL.
			if r.stderr != "wrote "+plot+"\n" {
				t.Errorf("stderr %q", r.stderr)
			}
			var rep struct {
				Peers []struct {
					Name, Desc string
				}
				Results []struct {
					Peer       string
					Size       int
					P50NS      int64   `json:"p50_ns"`
					Throughput float64 `json:"throughput_rps"`
					HotOK      int     `json:"hot_ok"`
					HotGain    int     `json:"hot_gain"`
					Lost       int     `json:"lost_updates"`
				}
				Ratios []struct{ Of, To string }
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			var names []string
			for _, p := range rep.Peers {
				names = append(names, p.Name)
				if p.Name == "sessfs" && !strings.Contains(p.Desc, tt.want) {
					t.Errorf("sessfs described as %q, want it to name %q", p.Desc, tt.want)
				}
				// Where the stores on files lived: the report did not
				// say, so the mount and a temporary directory on local
				// disk read alike.
				if (p.Name == "sessfs" || p.Name == "gorilla-fs") && !strings.Contains(p.Desc, "in "+d+" (") {
					t.Errorf("%s described as %q, want it to name its directory %s and file system", p.Name, p.Desc, d)
				}
			}
			if want := []string{"sessfs", "scs-redis", "scs-mem", "gorilla-fs"}; !slices.Equal(names, want) {
				t.Fatalf("peers %v, want %v", names, want)
			}
			if len(rep.Results) != 8 {
				t.Fatalf("%d results, want 4 peers × 2 sizes", len(rep.Results))
			}
			for _, x := range rep.Results {
				if x.P50NS <= 0 || x.Throughput <= 0 {
					t.Errorf("%s %d B: p50 %d ns, %.0f req/s", x.Peer, x.Size, x.P50NS, x.Throughput)
				}
				if x.Peer == "sessfs" && (x.Lost != 0 || x.HotOK != 40 || x.HotGain != 40) {
					t.Errorf("sessfs %d B: %d of %d increments lost (counter %d), want none", x.Size, x.Lost, x.HotOK, x.HotGain)
				}
			}
			if len(rep.Ratios) != 2 || rep.Ratios[0].Of != "sessfs" || rep.Ratios[0].To != "scs-redis" {
				t.Errorf("ratios %+v, want sessfs ÷ scs-redis at both sizes", rep.Ratios)
			}
			svg, err := os.ReadFile(plot)
			if err != nil {
				t.Fatal(err)
			}
			dec := xml.NewDecoder(bytes.NewReader(svg))
			for {
				if _, err := dec.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("chart is not well-formed XML: %v", err)
				}
			}
			for _, n := range names {
				if !bytes.Contains(svg, []byte(n)) {
					t.Errorf("chart does not name %s", n)
				}
			}
			if slices.Contains(args, profile) {
				if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
					t.Errorf("--cpuprofile: %v", err)
				}
			}
			// Everything the peers wrote is gone; the caller's file stays.
			if ents, err := os.ReadDir(d); err != nil || len(ents) != 1 {
				t.Errorf("left in --dir: %v %v", ents, err)
			}
		})
	}
}
