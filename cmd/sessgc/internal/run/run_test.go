package run

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
)

func testIO(env map[string]string) (*cmdutil.IOStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cmdutil.IOStreams{Out: &out, ErrOut: &errb, Getenv: func(k string) string { return env[k] }}, &out, &errb
}

func TestNewCmdRunFlags(t *testing.T) {
	defaults := RunOptions{Dir: "/s", Concurrency: 16, Grace: time.Minute, TempAge: 10 * time.Minute}
	cmdtest.TestFlags(t, NewCmdRun, defaults, []cmdtest.FlagCase[RunOptions]{
		{Name: "defaults", Args: "--dir /s", Want: func(o *RunOptions) {}},
		{Name: "all flags", Args: "-d /s -n --max-duration 5m -c 8 -r 250.5 --grace 2m --temp-age 1h --jitter 30s --no-fleet-lock --json -v -q --no-progress",
			Want: func(o *RunOptions) {
				o.DryRun, o.MaxDuration, o.Concurrency, o.Rate = true, 5*time.Minute, 8, 250.5
				o.Grace, o.TempAge, o.Jitter, o.NoFleetLock = 2*time.Minute, time.Hour, 30*time.Second, true
				o.JSON, o.Verbose, o.Quiet, o.NoProgress = true, true, true, true
			}},
		{Name: "env", Args: "", Env: map[string]string{"SESSGC_DIR": "/s", "SESSGC_RATE": "100", "SESSGC_NO_FLEET_LOCK": "true", "SESSGC_MAX_DURATION": "1m"},
			Want: func(o *RunOptions) { o.Rate, o.NoFleetLock, o.MaxDuration = 100, true, time.Minute }},
		{Name: "flag beats env", Args: "--dir /s --rate 7", Env: map[string]string{"SESSGC_DIR": "/other", "SESSGC_RATE": "100"},
			Want: func(o *RunOptions) { o.Rate = 7 }},
		{Name: "no dir", Args: "", Code: cmdutil.ExitUsage},
		{Name: "bad env", Args: "--dir /s", Env: map[string]string{"SESSGC_JSON": "maybe"}, Code: cmdutil.ExitUsage},
		{Name: "concurrency 65", Args: "--dir /s -c 65", Code: cmdutil.ExitUsage},
		{Name: "negative rate", Args: "--dir /s --rate -1", Code: cmdutil.ExitUsage},
		{Name: "negative budget", Args: "--dir /s --max-duration -1s", Code: cmdutil.ExitUsage},
		{Name: "zero temp age", Args: "--dir /s --temp-age 0", Code: cmdutil.ExitUsage},
		{Name: "argument", Args: "--dir /s now", Code: cmdutil.ExitUsage},
		{Name: "textfile", Args: "--dir /s --textfile /tmp/sessgc.prom", Want: func(o *RunOptions) { o.Textfile = "/tmp/sessgc.prom" }},
		{Name: "textfile env", Args: "--dir /s", Env: map[string]string{"SESSGC_TEXTFILE": "/tmp/sessgc.prom"},
			Want: func(o *RunOptions) { o.Textfile = "/tmp/sessgc.prom" }},
		{Name: "textfile not .prom", Args: "--dir /s --textfile /tmp/sessgc.txt", Code: cmdutil.ExitUsage},
		{Name: "textfile dir missing", Args: "--dir /s --textfile /nonexistent-dir/sessgc.prom", Code: cmdutil.ExitUsage},
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

func TestRunRunOutput(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       RunOptions
		tty        bool
		wantOut    []string
		wantErr    string // exact stderr
		wantRemove bool
	}{
		{name: "human", wantOut: []string{"sessgc: swept", "removed 3 files (3 sessions, 0 temp, 0 lease)", "kept 2 live"}, wantRemove: true},
		{name: "quiet", opts: RunOptions{Quiet: true}, wantRemove: true},
		{name: "dry run", opts: RunOptions{DryRun: true}, wantOut: []string{"would remove session ", "dry run of", "would remove 3 files"}},
		{name: "json", opts: RunOptions{JSON: true, Quiet: true}, wantOut: []string{`"event":"summary"`, `"sessions":3`, `"live":2`}, wantRemove: true},
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
			if errb.String() != tc.wantErr {
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
