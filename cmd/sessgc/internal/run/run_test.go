package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/storetest"
	"github.com/sessfs/sessfs/internal/testenv"
)

func testIO(env map[string]string) (*cmdutil.IOStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cmdutil.IOStreams{Out: &out, ErrOut: &errb, Getenv: func(k string) string { return env[k] }}, &out, &errb
}

func TestNewCmdRunFlags(t *testing.T) {
	defaults := RunOptions{Dir: "/s", Concurrency: 16, Grace: time.Minute, TempAge: 10 * time.Minute}
	cmdtest.TestFlags(t, NewCmdRun, defaults, []cmdtest.FlagCase[RunOptions]{
		{Name: "defaults", Args: "--dir /s", Want: func(o *RunOptions) {}},
		{Name: "all flags", Args: "-d /s -n --max-duration 5m -c 8 -r 250.5 --grace 2m --temp-age 1h --jitter 30s --no-fleet-lock --json -v --no-progress --missing-ok --log-level debug",
			Want: func(o *RunOptions) {
				o.LogLevel.Set("debug")
				o.DryRun, o.MaxDuration, o.Concurrency, o.Rate = true, 5*time.Minute, 8, 250.5
				o.Grace, o.TempAge, o.Jitter, o.NoFleetLock = 2*time.Minute, time.Hour, 30*time.Second, true
				o.JSON, o.Verbose, o.NoProgress, o.MissingOK = true, true, true, true
			}},
		{Name: "quiet", Args: "-d /s -q", Want: func(o *RunOptions) { o.Quiet = true }},
		// --quiet with output asked for: one of the two would be ignored.
		{Name: "quiet dry run", Args: "-d /s -q -n", Code: cmdutil.ExitUsage},
		{Name: "quiet verbose", Args: "-d /s --quiet --verbose", Code: cmdutil.ExitUsage},
		{Name: "quiet json", Args: "-d /s -q --json", Code: cmdutil.ExitUsage},
		{Name: "quiet and json env", Args: "-d /s", Env: map[string]string{"SESSGC_QUIET": "true", "SESSGC_JSON": "true"}, Code: cmdutil.ExitUsage},
		{Name: "quiet=false dry run", Args: "-d /s -q=false -n", Want: func(o *RunOptions) { o.DryRun = true }},
		// A flag on the command line overrides the variable of a flag it
		// excludes, as it overrides its own.
		{Name: "quiet env, dry run flag", Args: "-d /s --dry-run", Env: map[string]string{"SESSGC_QUIET": "true"},
			Want: func(o *RunOptions) { o.DryRun = true }},
		{Name: "quiet env, verbose flag", Args: "-d /s -v", Env: map[string]string{"SESSGC_QUIET": "true"},
			Want: func(o *RunOptions) { o.Verbose = true }},
		{Name: "quiet env, json flag", Args: "-d /s --json", Env: map[string]string{"SESSGC_QUIET": "1"},
			Want: func(o *RunOptions) { o.JSON = true }},
		{Name: "quiet flag, verbose env", Args: "-d /s -q", Env: map[string]string{"SESSGC_VERBOSE": "1"},
			Want: func(o *RunOptions) { o.Quiet = true }},
		{Name: "quiet flag, json env", Args: "-d /s -q", Env: map[string]string{"SESSGC_JSON": "true"},
			Want: func(o *RunOptions) { o.Quiet = true }},
		{Name: "quiet=false flag, verbose env", Args: "-d /s -q=false", Env: map[string]string{"SESSGC_VERBOSE": "true"},
			Want: func(o *RunOptions) { o.Verbose = true }},
		// But never the one of a dry run: the run would remove files.
		{Name: "quiet flag, dry run env", Args: "-d /s -q", Env: map[string]string{"SESSGC_DRY_RUN": "true"}, Code: cmdutil.ExitUsage},
		{Name: "quiet flag, dry run env false", Args: "-d /s -q", Env: map[string]string{"SESSGC_DRY_RUN": "false"},
			Want: func(o *RunOptions) { o.Quiet = true }},
		{Name: "missing-ok env", Args: "--dir /s", Env: map[string]string{"SESSGC_MISSING_OK": "true"},
			Want: func(o *RunOptions) { o.MissingOK = true }},
		{Name: "missing-ok flag beats env", Args: "--dir /s --missing-ok=false", Env: map[string]string{"SESSGC_MISSING_OK": "true"},
			Want: func(o *RunOptions) {}},
		{Name: "env", Args: "", Env: map[string]string{"SESSGC_DIR": "/s", "SESSGC_RATE": "100", "SESSGC_NO_FLEET_LOCK": "true", "SESSGC_MAX_DURATION": "1m"},
			Want: func(o *RunOptions) { o.Rate, o.NoFleetLock, o.MaxDuration = 100, true, time.Minute }},
		{Name: "flag beats env", Args: "--dir /s --rate 7", Env: map[string]string{"SESSGC_DIR": "/other", "SESSGC_RATE": "100"},
			Want: func(o *RunOptions) { o.Rate = 7 }},
		{Name: "no dir", Args: "", Code: cmdutil.ExitUsage},
		{Name: "bad env", Args: "--dir /s", Env: map[string]string{"SESSGC_JSON": "maybe"}, Code: cmdutil.ExitUsage},
		{Name: "concurrency 65", Args: "--dir /s -c 65", Code: cmdutil.ExitUsage},
		// Decimal, as an operator means it: pflag reads 010 as 8, 08 not at all.
		{Name: "concurrency zero-padded", Args: "--dir /s -c 010", Want: func(o *RunOptions) { o.Concurrency = 10 }},
		{Name: "concurrency zero-padded env", Args: "--dir /s", Env: map[string]string{"SESSGC_CONCURRENCY": "08"},
			Want: func(o *RunOptions) { o.Concurrency = 8 }},
		{Name: "concurrency hex", Args: "--dir /s -c 0x10", Code: cmdutil.ExitUsage},
		{Name: "negative rate", Args: "--dir /s --rate -1", Code: cmdutil.ExitUsage},
		{Name: "negative budget", Args: "--dir /s --max-duration -1s", Code: cmdutil.ExitUsage},
		{Name: "zero temp age", Args: "--dir /s --temp-age 0", Code: cmdutil.ExitUsage},
		{Name: "temp age shorter than a slow save", Args: "--dir /s --temp-age 1s", Code: cmdutil.ExitUsage},
		{Name: "argument", Args: "--dir /s now", Code: cmdutil.ExitUsage},
		{Name: "textfile", Args: "--dir /s --textfile /tmp/sessgc.prom", Want: func(o *RunOptions) { o.Textfile = "/tmp/sessgc.prom" }},
		{Name: "textfile env", Args: "--dir /s", Env: map[string]string{"SESSGC_TEXTFILE": "/tmp/sessgc.prom"},
			Want: func(o *RunOptions) { o.Textfile = "/tmp/sessgc.prom" }},
		{Name: "textfile not .prom", Args: "--dir /s --textfile /tmp/sessgc.txt", Code: cmdutil.ExitUsage},
	})
}

// newStore makes a store with live and expired sessions.
func newStore(t *testing.T, live, expired int) string {
	t.Helper()
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	save := func(n int) {
		for i := 0; i < n; i++ {
			id, _ := fsstore.NewID()
			if err := s.Save(context.Background(), &fsstore.Session{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	save(expired)
	old := time.Now().Add(-48 * time.Hour)
	filepath.WalkDir(filepath.Join(dir, fsstore.DataDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	save(live)
	return dir
}

// progressLines matches the progress lines a run draws on a terminal
// before the one that erases them.
var progressLines = regexp.MustCompile(`^(\r\x1b\[Ksessgc: \d+ removed, [^\r\x1b]+ freed, \d+/s, [0-9a-z]+)*`)

func TestRunRunOutput(t *testing.T) {
	storetest.Skip(t)
	for _, tc := range []struct {
		name       string
		opts       RunOptions
		tty        bool
		wantOut    []string
		wantErr    string // exact stderr, after any progress lines drawn
		wantRemove bool
	}{
		{name: "human", wantOut: []string{"sessgc: swept", "removed 3 files (3 sessions, 0 temp, 0 lease)", "kept 2 live"}, wantRemove: true},
		{name: "quiet", opts: RunOptions{Quiet: true}, wantRemove: true},
		{name: "dry run", opts: RunOptions{DryRun: true}, wantOut: []string{"would remove session ", "dry run of", "would remove 3 files"}},
		{name: "json", opts: RunOptions{JSON: true}, wantOut: []string{`"event":"summary"`, `"sessions":3`, `"live":2`}, wantRemove: true},
		// On a terminal the progress line is drawn and cleared; elsewhere
		// stderr stays empty.
		{name: "tty progress", tty: true, wantOut: []string{"swept"}, wantErr: "\r\033[K", wantRemove: true},
		{name: "tty no-progress", tty: true, opts: RunOptions{NoProgress: true}, wantOut: []string{"swept"}, wantRemove: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newStore(t, 2, 3)
			io, out, errb := testIO(nil)
			io.ErrTTY = tc.tty
			opts := tc.opts
			opts.IO, opts.Dir, opts.Concurrency, opts.Grace, opts.TempAge = io, dir, 2, time.Minute, 10*time.Minute
			if err := runRun(context.Background(), &opts); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if len(tc.wantOut) == 0 && out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out)
			}
			// The progress line is redrawn every 200 ms: a sweep that
			// outlasts that on a loaded machine draws it before the
			// erasure, and that is all it may add. With --no-progress
			// nothing is drawn however long the sweep: stderr is
			// compared whole.
			stderr := errb.String()
			if tc.tty && !tc.opts.NoProgress {
				stderr = progressLines.ReplaceAllString(stderr, "")
			}
			if stderr != tc.wantErr {
				t.Errorf("stderr %q, want %q", errb, tc.wantErr)
			}
			if opts.JSON {
				var s Summary
				if err := json.Unmarshal(out.Bytes(), &s); err != nil {
					t.Errorf("not one JSON object: %v", err)
				}
			}
			n := 0
			filepath.WalkDir(filepath.Join(dir, fsstore.DataDir), func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					n++
				}
				return nil
			})
			if want := map[bool]int{true: 2, false: 5}[tc.wantRemove]; n != want {
				t.Errorf("%d records left, want %d", n, want)
			}
		})
	}
}

func TestRunRunCancelled(t *testing.T) {
	storetest.Skip(t)
	dir := newStore(t, 0, 3)
	io, out, _ := testIO(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := RunOptions{IO: io, Dir: dir, Concurrency: 1, Grace: time.Minute, TempAge: time.Minute, JSON: true}
	err := runRun(ctx, &opts)
	if cmdutil.ExitCode(err) != cmdutil.ExitFailure {
		t.Fatalf("cancelled run: %v", err)
	}
	var s Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil || !s.StoppedEarly || s.StopReason != "interrupted" || s.ExitCode != 1 {
		t.Errorf("summary %s (%v)", out, err)
	}
}

// listing returns every path under dir with its mode and size ("" when dir
// does not exist), to check that a run changed nothing there.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d\n", p, info.Mode(), info.Size())
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return b.String()
}

// TestRunRunMissingOK: with --missing-ok a store directory that does not
// exist or is empty is a clean no-op (exit 0, skipped "no-store", nothing
// created, the textfile written); one with anything in it but no valid
// marker is refused with exit 3 as without the flag, and left untouched.
func TestRunRunMissingOK(t *testing.T) {
	storetest.Skip(t)
	mkdir := func(t *testing.T, dir string) {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	with := func(name string, isDir bool) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			mkdir(t, dir)
			p := filepath.Join(dir, name)
			if isDir {
				mkdir(t, p)
			} else if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name      string
		setup     func(t *testing.T, dir string) // nil: dir does not exist
		missingOK bool
		code      int
		msg       string // in the error of a failed run
	}{
		{name: "missing", code: cmdutil.ExitStore, msg: "does not exist"},
		{name: "missing, --missing-ok", missingOK: true},
		{name: "empty", setup: mkdir, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "empty, --missing-ok", setup: mkdir, missingOK: true},
		{name: "a file, --missing-ok", setup: with("old.txt", false), missingOK: true, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "a dot file, --missing-ok", setup: with(".keep", false), missingOK: true, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "one empty subdirectory, --missing-ok", setup: with("sub", true), missingOK: true, code: cmdutil.ExitStore, msg: "is not a sessfs store"},
		{name: "bad marker, --missing-ok", setup: with(fsstore.MarkerFile, false), missingOK: true, code: cmdutil.ExitStore, msg: "has a .sessfs marker that this sessgc cannot use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			before := listing(t, dir)
			prom := filepath.Join(t.TempDir(), "sessgc.prom")
			io, out, _ := testIO(nil)
			opts := RunOptions{IO: io, Dir: dir, Concurrency: 2, Grace: time.Minute, TempAge: 10 * time.Minute,
				JSON: true, Textfile: prom, MissingOK: tc.missingOK}
			err := runRun(context.Background(), &opts)
			if cmdutil.ExitCode(err) != tc.code || tc.code != 0 && !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want exit %d and %q", err, tc.code, tc.msg)
			}
			if s := out.String(); tc.code == 0 && !strings.Contains(s, fmt.Sprintf("%q", dir)) {
				t.Errorf("summary %s: want dir %q", s, dir)
			}
			if after := listing(t, dir); after != before {
				t.Errorf("the directory changed:\n%s\nwant\n%s", after, before)
			}
			var s Summary
			if err := json.Unmarshal(out.Bytes(), &s); err != nil {
				t.Fatalf("not one JSON object: %v\n%s", err, out)
			}
			noStore := tc.code == 0
			if s.Skipped != noStore || noStore && s.SkipReason != "no-store" || s.ExitCode != tc.code || s.Scanned != 0 {
				t.Errorf("summary %s", out)
			}
			b, err := os.ReadFile(prom)
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range map[string]int{
				"sessgc_store_missing":      map[bool]int{true: 1}[noStore],
				"sessgc_fleet_lock_held":    0,
				"sessgc_last_run_success":   map[bool]int{true: 1}[noStore],
				"sessgc_last_run_exit_code": tc.code,
			} {
				if want := fmt.Sprintf("%s{dir=%q} %d\n", name, dir, v); !strings.Contains(string(b), want) {
					t.Errorf("textfile lacks %q:\n%s", want, b)
				}
			}
		})
	}
}

// TestRunRunMissingOKOutput: the no-store run says so in one line, unless
// --quiet; a dry run behaves the same. It names the store directory by its
// absolute path, as a run over a store does.
func TestRunRunMissingOKOutput(t *testing.T) {
	const human = "sessgc: no store in %s yet (the directory is missing or empty); nothing to do\n"
	for _, tc := range []struct {
		name     string
		opts     RunOptions
		relative bool // --dir relative to the working directory
		want     string
	}{
		{name: "human", want: human},
		{name: "quiet", opts: RunOptions{Quiet: true}},
		{name: "dry run", opts: RunOptions{DryRun: true}, want: human},
		{name: "human, relative", relative: true, want: human},
		{name: "json, relative", opts: RunOptions{JSON: true}, relative: true, want: `"dir":%q`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			arg := dir
			if tc.relative {
				t.Chdir(filepath.Dir(dir))
				arg = filepath.Base(dir)
			}
			io, out, errb := testIO(nil)
			opts := tc.opts
			opts.IO, opts.Dir, opts.Concurrency, opts.Grace, opts.TempAge, opts.MissingOK = io, arg, 2, time.Minute, 10*time.Minute, true
			err := runRun(context.Background(), &opts)
			if !cmdutil.StoreRuns {
				// Where the store does not run (Windows), --missing-ok
				// does not make a run that can never work exit 0.
				if !errors.Is(err, fsstore.ErrNotSupported) || cmdutil.ExitCode(err) != cmdutil.ExitStore {
					t.Fatalf("run --missing-ok where the store does not run: %v (exit %d); want the platform refused, exit %d", err, cmdutil.ExitCode(err), cmdutil.ExitStore)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if tc.want != "" {
				want = fmt.Sprintf(tc.want, dir)
			}
			if opts.JSON && !strings.Contains(out.String(), want) || !opts.JSON && out.String() != want || errb.Len() != 0 {
				t.Errorf("stdout %q, stderr %q; want stdout %q", out, errb, want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the store directory was created: %v", err)
			}
		})
	}
}

// On a terminal, an error or a store log line printed while the progress
// line is drawn starts on a line of its own: it was appended to the
// progress text ("sessgc: 0 removed, 0 B freed, 0/s, 0ssessgc: sweep ...").
func TestProgressClearedForErrors(t *testing.T) {
	var errb testenv.Buffer
	opts := &RunOptions{IO: &cmdutil.IOStreams{Out: io.Discard, ErrOut: &errb, ErrTTY: true}}
	p := newPrinter(opts)
	stop := startProgress(opts, p, new(fsstore.SweepProgress))
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(errb.String(), "removed"); {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("no progress line drawn: %q", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.error(errors.New("sweep /s/data/ab: permission denied"))
	p.storeLog().Warn("session store unavailable")
	stop()
	for _, want := range []string{"permission denied", "session store unavailable"} {
		found := false
		for _, seg := range strings.FieldsFunc(errb.String(), func(r rune) bool { return r == '\r' || r == '\n' }) {
			if !strings.Contains(seg, want) {
				continue
			}
			found = true
			if !strings.HasPrefix(strings.TrimPrefix(seg, "\033[K"), "sessgc: ") || strings.Contains(seg, "removed") {
				t.Errorf("line %q: want it on a line of its own, starting with 'sessgc: '", seg)
			}
		}
		if !found {
			t.Errorf("stderr lacks %q: %q", want, errb.String())
		}
	}
}

// TestHumanSummarySubMillisecond: a sweep of a small store, shorter than a
// millisecond, said "swept ... in 0s"; the JSON summary keeps its seconds.
func TestHumanSummarySubMillisecond(t *testing.T) {
	sum := Summary{Dir: "/s", DurationSecs: 0.0004, Scanned: 3}
	if got, want := humanSummary(&RunOptions{}, &sum), "sessgc: swept /s in <1ms: "; !strings.HasPrefix(got, want) {
		t.Errorf("summary %q, want it to start %q", got, want)
	}
}

// TestHumanSummaryStoppedEarlyNext: a pass cut short said "the next run
// goes on from the start", which reads as every run beginning at shard 00,
// so that a budget too small for the store never reaches its last shards.
// The sweep starts each pass at a random shard, so that runs cut short
// still reach every one, as docs/operations.md says of --max-duration:
// the line says so.
func TestHumanSummaryStoppedEarlyNext(t *testing.T) {
	for _, reason := range []string{"max-duration", "interrupted", "unresponsive", "fleet-lock-lost"} {
		t.Run(reason, func(t *testing.T) {
			sum := Summary{Dir: "/s", DurationSecs: 1, Scanned: 3}
			sum.StoppedEarly, sum.StopReason = true, reason
			got := humanSummary(&RunOptions{MaxDuration: time.Minute}, &sum)
			if !strings.Contains(got, "sessgc: stopped early: ") {
				t.Fatalf("summary %q lacks the stopped-early line", got)
			}
			if strings.Contains(got, "from the start") || !strings.Contains(got, "random shard") {
				t.Errorf("summary %q: want the next run said to start at a random shard", got)
			}
		})
	}
}
