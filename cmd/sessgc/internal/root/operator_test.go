package root_test

// Operators' edges: jitter and budget, exit codes of an interrupted
// census, what install-cron lets into a cron line.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/root"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/storetest"
)

func smallStore(t *testing.T, n int) string {
	t.Helper()
	storetest.Skip(t)
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range n {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// execute runs sessgc with args and an empty environment, and returns
// its exit code and what it wrote to stdout and to stderr.
func execute(ctx context.Context, args []string) (code int, stdout, stderr string) {
	return executeEnv(ctx, nil, args)
}

// executeEnv is execute in the environment env, "NAME=value" entries in
// the order os.Environ would list them.
func executeEnv(ctx context.Context, env []string, args []string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	io := &cmdutil.IOStreams{Out: &out, ErrOut: &errb,
		Getenv: func(k string) string {
			for _, kv := range env {
				if name, v, _ := strings.Cut(kv, "="); name == k {
					return v
				}
			}
			return ""
		},
		Environ: func() []string { return env }}
	code = root.Execute(ctx, io, args)
	return code, out.String(), errb.String()
}

// TestJitterCountsAgainstBudget: --jitter is slept inside the
// --max-duration budget (under the watchdog), so whenever the random delay
// is longer than the budget the run exits 1 with stop_reason "interrupted"
// and error "interrupted before the sweep started: --max-duration spent",
// although nothing went wrong and the docs promise exit 0 for a spent
// budget. install-cron happily generates such lines (--jitter 5m
// --max-duration 2m --every 10m). Each of these runs has a 2/3 chance of
// hitting it; 10 runs all passing by luck is ~2e-5.
func TestJitterCountsAgainstBudget(t *testing.T) {
	dir := smallStore(t, 3)
	for i := range 10 {
		code, out, errs := execute(context.Background(), []string{"--dir", dir, "--json", "--jitter", "300ms", "--max-duration", "100ms"})
		var s struct {
			StopReason string `json:"stop_reason"`
			ExitCode   int    `json:"exit_code"`
			Error      string `json:"error"`
		}
		json.Unmarshal([]byte(out), &s)
		if code != 0 || s.StopReason == "interrupted" {
			t.Fatalf("run %d: exit %d, stop_reason %q, error %q (stderr %q); want exit 0: a jitter is no interruption and a spent budget exits 0",
				i, code, s.StopReason, s.Error, strings.TrimSpace(errs))
		}
	}
}

// TestStatsInterruptedExitCode: the root help promises "130
// interrupted by Ctrl-C (SIGINT); 143 for SIGTERM", and cmdutil.Interrupted
// exists so that "a command whose work failed because Ctrl-C cancelled it
// reports the interruption (exit 130), not the context error it got".
// `sessgc stats` turns a signal into "interrupted: context canceled", exit 1.
// (The context here is what cmdutil.InterruptContext makes on SIGINT.)
func TestStatsInterruptedExitCode(t *testing.T) {
	dir := smallStore(t, 50)
	for _, cmd := range [][]string{{"run", "--dir", dir, "-q"}, {"stats", "--dir", dir}} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(&cmdutil.ExitError{Code: 130, Err: cmdutil.ErrInterrupted})
		code, _, errs := execute(ctx, cmd)
		if code != 130 {
			t.Errorf("%v after SIGINT: exit %d, stderr %q; want 130", cmd[0], code, strings.TrimSpace(errs))
		}
	}
}

// TestInstallCronShellMetacharacters: the cron line is run by /bin/sh,
// so install-cron must keep it a plain word list and refuse shell
// metacharacters in a path, not only spaces, quotes, '%', '$' and
// backslashes: a store called /srv/sessions&co would generate a line that
// runs "sessgc run --dir /srv/sessions" in the background and then a
// command "co", and a backquote runs anything.
func TestInstallCronShellMetacharacters(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	for _, dir := range []string{
		"/srv/sessions&co",
		"/srv/a;b",
		"/srv/`touch>" + marker + "`",
		"/srv/s*",
		"/srv/(prod)",
	} {
		code, out, errs := execute(context.Background(), []string{"install-cron", "--dir", dir, "--binary", "/bin/true"})
		if code == 2 {
			continue
		}
		// Show what cron would do with it: the command part of the line.
		lines := strings.Split(strings.TrimSpace(out), "\n")
		fields := strings.Fields(lines[len(lines)-1])
		cmdline := strings.Join(fields[6:], " ")
		os.Remove(marker)
		shOut, _ := exec.Command("/bin/sh", "-c", cmdline).CombinedOutput()
		_, err := os.Stat(marker)
		t.Errorf("--dir %q: exit %d (stderr %q), generated %q; /bin/sh ran it as: %q, extra command ran: %v; want exit 2",
			dir, code, errs, cmdline, strings.TrimSpace(string(shOut)), err == nil)
	}
}

// TestPathFlagGivenTwice: a --dir (or --textfile, --keys-file) given twice
// took the last one without a word: "sessgc run --dir /a --dir /b" swept
// /b alone and exited 0, leaving /a unswept, as a line assembled by a
// script easily says. A path flag given twice is now a usage error, before
// anything is opened.
func TestPathFlagGivenTwice(t *testing.T) {
	a, b := smallStore(t, 1), smallStore(t, 1)
	prom := filepath.Join(t.TempDir(), "x.prom")
	for _, args := range [][]string{
		{"run", "--dir", a, "--dir", b},
		{"--dir", a, "-d", b},
		{"stats", "--dir", a, "--dir=" + b},
		{"rekey", "--dir", a, "--dir", b, "--keys-file", prom},
		{"install-cron", "--dir", "/srv/a", "--dir", "/srv/b"},
		{"run", "--dir", a, "--textfile", prom, "--textfile", prom + "2"},
		{"rekey", "--dir", a, "--keys-file", prom, "--keys-file", prom + "2"},
	} {
		code, out, errs := execute(context.Background(), args)
		if code != cmdutil.ExitUsage || out != "" || !strings.Contains(errs, "given twice") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and given twice", args, code, out, errs)
		}
	}
}
