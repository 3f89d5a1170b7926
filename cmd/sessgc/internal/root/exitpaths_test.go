package root_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/storetest"
	"github.com/sessfs/sessfs/lock"
)

// helpExitCodes returns the entries of the "Exit codes:" list of sessgc
// --help (or of sessgc CMD --help) by code, their lines joined.
func helpExitCodes(t *testing.T, cmd ...string) map[int]string {
	t.Helper()
	args := append(cmd, "--help")
	code, out, errs := execute(context.Background(), args)
	if code != 0 {
		t.Fatalf("sessgc %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	_, list, ok := strings.Cut(out, "Exit codes:\n")
	if !ok {
		t.Fatalf("sessgc %s lists no exit codes:\n%s", strings.Join(args, " "), out)
	}
	list, _, _ = strings.Cut(list, "\n\n")
	entries := map[int]string{}
	last := -1
	for _, line := range strings.Split(list, "\n") {
		if m := regexp.MustCompile(`^  (\d+)\s+(.*)$`).FindStringSubmatch(line); m != nil {
			last, _ = strconv.Atoi(m[1])
			entries[last] = m[2]
			continue
		}
		if last >= 0 {
			entries[last] += " " + strings.TrimSpace(line)
		}
	}
	return entries
}

// TestRekeyHelpExitCodes: rekey --help lists every exit code sessgc
// --help does, and the signals' entry names each signal the root's
// names: rekey is a pass like run, stopped by the same signals (SIGPIPE
// included, which sessgc catches for every command). It listed 130, 143
// and 129 in one sentence, and not 141.
func TestRekeyHelpExitCodes(t *testing.T) {
	root, rekey := helpExitCodes(t), helpExitCodes(t, "rekey")
	for code := range root {
		if _, ok := rekey[code]; !ok {
			t.Errorf("sessgc rekey --help does not list exit %d, which sessgc --help lists: %q", code, root[code])
		}
	}
	for code := range rekey {
		if _, ok := root[code]; !ok {
			t.Errorf("sessgc rekey --help lists exit %d, which sessgc --help does not", code)
		}
	}
	for _, m := range regexp.MustCompile(`\b(1[2-9]\d) for (SIG[A-Z]+)`).FindAllStringSubmatch(root[cmdutil.ExitInterrupted], -1) {
		if !strings.Contains(rekey[cmdutil.ExitInterrupted], m[0]) {
			t.Errorf("sessgc rekey --help on exit %d: %q; want it to say %q, as sessgc --help does", cmdutil.ExitInterrupted, rekey[cmdutil.ExitInterrupted], m[0])
		}
	}
}

// TestRunExitPaths: every way a pass (run or rekey: pass.Run) ends, on a
// flock store and on a lease store, gives the exit code that sessgc
// --help lists for it, with the outcome its JSON summary reports: the
// fleet lock held elsewhere, a pass that ran to its end, one the fleet
// lock's loss its release found, --max-duration, a signal, a file server
// that stopped answering, a store that failed. A pass the fleet lock's
// loss stopped (exit 1, fleet-lock-lost) is pass's own test's
// (TestRunStopsOnFleetLeaseLost, TestRunStopsOnFleetFlockLost): the
// watch finds it a second in.
func TestRunExitPaths(t *testing.T) {
	storetest.Skip(t)
	help := helpExitCodes(t)
	type env struct {
		s, other *fsstore.Store // other: another host's opening of the store
		lockPath string         // the fleet lock's flock file
	}
	// takeOver makes the fleet lock another host's, as after this
	// process was cut off past its lease: the lease file replaced by the
	// other host's, the flock's file by a new one the other host locks.
	takeOver := func(e env) (release func(), err error) {
		if e.s.LockStrategy() == lock.Lease {
			if err := os.Remove(filepath.Join(e.s.Dir(), fsstore.LockDir, "sessgc.lease")); err != nil {
				return nil, err
			}
			h, err := e.other.TryLockFleet("sessgc")
			if err != nil {
				return nil, err
			}
			return func() { h.Unlock() }, nil
		}
		if err := os.WriteFile(e.lockPath+".new", nil, 0o600); err != nil {
			return nil, err
		}
		if err := os.Rename(e.lockPath+".new", e.lockPath); err != nil {
			return nil, err
		}
		l, err := lock.TryLockFile(e.lockPath)
		if err != nil {
			return nil, err
		}
		return func() { l.Unlock() }, nil
	}
	waitStop := func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute): // guards against a hang only
			return errors.New("the pass's context did not end")
		}
	}
	signal := func(code int, name string) error {
		return &cmdutil.ExitError{Code: code, Err: fmt.Errorf("%w by %s", cmdutil.ErrInterrupted, name)}
	}
	// The stop reasons these cases produce: every one of pass.StopReasons
	// but the fleet lock's loss, which pass's own tests produce
	// (TestRunStopsOnFleetLeaseLost, TestRunStopsOnFleetFlockLost).
	seen := map[string]bool{pass.StopFleetLockLost: true}
	defer func() {
		for _, r := range pass.StopReasons() {
			if !seen[r] {
				t.Errorf("no case ends with stop reason %q", r)
			}
		}
	}()
	for _, tc := range []struct {
		name string
		// held: another host holds the fleet lock before the pass.
		held bool
		// work is the pass; cancel ends the command's context with a
		// cause, as a signal or the budget does.
		work     func(ctx context.Context, e env, cancel context.CancelCauseFunc) error
		code     int
		skipped  bool
		stop     string // Outcome.StopReason, "" for a pass not stopped early
		logged   string // in the log, when the release found the loss
		helpSays string // in --help's entry for code
	}{
		{name: "ran to its end", work: func(context.Context, env, context.CancelCauseFunc) error { return nil },
			code: 0, helpSays: "done"},
		{name: "fleet lock held elsewhere", held: true,
			code: 0, skipped: true, helpSays: "another, holds the fleet lock"},
		{name: "max-duration", work: func(ctx context.Context, _ env, cancel context.CancelCauseFunc) error {
			cancel(pass.ErrBudgetSpent)
			return waitStop(ctx)
		}, code: 0, stop: "max-duration", helpSays: "--max-duration stopped the sweep early"},
		{name: "fleet lock lost as the pass ended", work: func(_ context.Context, e env, _ context.CancelCauseFunc) error {
			release, err := takeOver(e)
			if err == nil {
				release()
			}
			return err
		}, code: 0, logged: "releasing the fleet lock failed", helpSays: "done"},
		{name: "store failed", work: func(context.Context, env, context.CancelCauseFunc) error {
			return errors.New("open data: input/output error")
		}, code: 3, helpSays: "store unusable"},
		{name: "file server unresponsive", work: func(context.Context, env, context.CancelCauseFunc) error {
			return fmt.Errorf("sweep: %w", fsstore.ErrUnavailable)
		}, code: 4, stop: "unresponsive", helpSays: "did not answer"},
		{name: "file system turned read-only mid-pass", work: func(context.Context, env, context.CancelCauseFunc) error {
			return fmt.Errorf("fsstore: sweep: stopped: %w", &fs.PathError{Op: "rename", Path: "data/00/x", Err: syscall.EROFS})
		}, code: 3, stop: pass.StopReadOnly, helpSays: "a file system that turned read-only (stop_reason read-only"},
		{name: "a run of I/O errors", work: func(context.Context, env, context.CancelCauseFunc) error {
			return fmt.Errorf("fsstore: sweep: stopped: %w: the last: %w", fsstore.ErrFailingIO, &fs.PathError{Op: "lstat", Path: "data/00/x", Err: syscall.EIO})
		}, code: 3, stop: pass.StopFailingIO, helpSays: "a run of I/O errors (io-errors)"},
		{name: "store removed mid-pass", work: func(_ context.Context, e env, _ context.CancelCauseFunc) error {
			if err := os.Remove(filepath.Join(e.s.Dir(), fsstore.MarkerFile)); err != nil {
				return err
			}
			return fmt.Errorf("sweep %s: %w", filepath.Join(e.s.Dir(), fsstore.DataDir, "00"), fs.ErrNotExist)
		}, code: 3, stop: pass.StopStoreGone, helpSays: "the store removed or unmounted (store-gone)"},
		{name: "SIGINT", work: func(ctx context.Context, _ env, cancel context.CancelCauseFunc) error {
			cancel(signal(130, "SIGINT"))
			return waitStop(ctx)
		}, code: 130, stop: "interrupted", helpSays: "interrupted by Ctrl-C (SIGINT)"},
		{name: "SIGTERM", work: func(ctx context.Context, _ env, cancel context.CancelCauseFunc) error {
			cancel(signal(143, "SIGTERM"))
			return waitStop(ctx)
		}, code: 143, stop: "interrupted", helpSays: "143 for SIGTERM"},
		{name: "SIGTERM as the fleet lock was lost", work: func(ctx context.Context, e env, cancel context.CancelCauseFunc) error {
			release, err := takeOver(e)
			if err != nil {
				return err
			}
			defer release()
			cancel(signal(143, "SIGTERM"))
			return waitStop(ctx)
		}, code: 143, stop: "interrupted", helpSays: "143 for SIGTERM"},
	} {
		seen[tc.stop] = true
		for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
			t.Run(tc.name+"/"+strategy.String(), func(t *testing.T) {
				dir := t.TempDir()
				var e env
				for _, s := range []**fsstore.Store{&e.s, &e.other} {
					var err error
					if *s, err = fsstore.Open(dir, fsstore.WithLockStrategy(strategy)); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { (*s).Close() })
				}
				e.lockPath = filepath.Join(dir, fsstore.LockDir, ".sessgc")
				if tc.held {
					// Another host's sessgc, mid-pass: its flock, and on a
					// lease store its lease.
					os.WriteFile(e.lockPath, nil, 0o600)
					l, err := lock.TryLockFile(e.lockPath)
					if err != nil {
						t.Fatal(err)
					}
					defer l.Unlock()
					if strategy == lock.Lease {
						h, err := e.other.TryLockFleet("sessgc")
						if err != nil {
							t.Fatal(err)
						}
						defer h.Unlock()
					}
				}
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				var log bytes.Buffer
				lim := pass.Limits{LockName: ".sessgc", Log: slog.New(slog.NewTextHandler(&log, nil))}
				work := func(context.Context) error {
					t.Error("the pass ran; want it skipped")
					return nil
				}
				if tc.work != nil {
					work = func(ctx context.Context) error { return tc.work(ctx, e, cancel) }
				}
				out, err := pass.Run(ctx, e.s, lim, work)
				code := cmdutil.ExitCode(err)
				if code != tc.code || out.Skipped != tc.skipped || out.StopReason != tc.stop || out.StoppedEarly != (tc.stop != "") {
					t.Errorf("exit %d (err %v), outcome %+v; want exit %d, skipped %v, stop reason %q", code, err, out, tc.code, tc.skipped, tc.stop)
				}
				if tc.logged != "" && !strings.Contains(log.String(), tc.logged) {
					t.Errorf("log %q; want %q", log.String(), tc.logged)
				}
				entry := code
				if code > 128 {
					entry = 130 // the signals' entry
				}
				if says := help[entry]; !strings.Contains(says, tc.helpSays) {
					t.Errorf("sessgc --help on exit %d: %q; want it to say %q", entry, says, tc.helpSays)
				}
			})
		}
	}
}

// TestInstallCronExitCodes: the exit codes the files install-cron writes
// list in their comments (the cron entry's, which cron mails, and the
// systemd service's, which systemctl status shows) are those sessgc
// --help lists, every one of them, the signals' included. The comments
// left out 130, 143, 129 and 141 (a run stopped by SIGTERM at a shutdown,
// or by systemd's TimeoutStartSec=, exits 143), and the cron entry's said
// 0 only for a run that swept to its end, not one --max-duration stopped.
func TestInstallCronExitCodes(t *testing.T) {
	help := helpExitCodes(t)
	want := map[int]bool{}
	for code, entry := range help {
		want[code] = true
		for _, m := range regexp.MustCompile(`\b(1[2-9]\d) for SIG[A-Z]+`).FindAllStringSubmatch(entry, -1) {
			n, _ := strconv.Atoi(m[1])
			want[n] = true
		}
	}
	for _, args := range [][]string{{"install-cron"}, {"install-cron", "--systemd"}} {
		code, out, errs := execute(context.Background(), args)
		if code != 0 {
			t.Fatalf("sessgc %s: exit %d: %s", strings.Join(args, " "), code, errs)
		}
		// The comment from "exit codes" to the line that names the
		// command, its lines joined.
		_, list, ok := strings.Cut(strings.ToLower(out), "exit codes")
		if !ok {
			t.Errorf("sessgc %s: no exit codes in its comment:\n%s", strings.Join(args, " "), out)
			continue
		}
		list, _, _ = strings.Cut(list, "# generated by")
		list = strings.ReplaceAll(list, "\n#", "")
		got := map[int]bool{}
		for _, m := range regexp.MustCompile(`\b\d+\b`).FindAllString(list, -1) {
			n, _ := strconv.Atoi(m)
			got[n] = true
		}
		for code := range want {
			if !got[code] {
				t.Errorf("sessgc %s: its comment does not list exit %d, which sessgc --help does:%s", strings.Join(args, " "), code, list)
			}
		}
		for code := range got {
			if !want[code] {
				t.Errorf("sessgc %s: its comment lists exit %d, which sessgc --help does not:%s", strings.Join(args, " "), code, list)
			}
		}
		if zero := regexp.MustCompile(`\b0 ok \([^)]*--max-duration stopped the sweep early`); !zero.MatchString(list) {
			t.Errorf("sessgc %s: its comment does not say a run --max-duration stopped exits 0, as sessgc --help does:%s", strings.Join(args, " "), list)
		}
	}
}

// TestStopReasonsDocumented: the stop_reason values that docs/operations.md
// lists in the row of its --json table are pass.StopReasons, no more and
// no fewer, and every Outcome.StopReason the commands set is one of them,
// by its name (a constant of pass's): a value written out as a string
// literal could be one that no document names. TestRunExitPaths produces
// each.
func TestStopReasonsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| `stopped_early`, `stop_reason` |") {
			row = line
		}
	}
	if row == "" {
		t.Fatal("docs/operations.md has no row for `stopped_early`, `stop_reason`")
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z-]+)` \\(exit").FindAllStringSubmatch(row, -1) {
		documented[m[1]] = true
	}
	for _, r := range pass.StopReasons() {
		if !documented[r] {
			t.Errorf("stop reason %q is not in docs/operations.md's row: %s", r, row)
		}
		delete(documented, r)
	}
	for r := range documented {
		t.Errorf("docs/operations.md lists stop reason %q, which no pass reports (pass.StopReasons)", r)
	}
	names := map[string]bool{}
	for _, n := range []string{"StopMaxDuration", "StopInterrupted", "StopUnresponsive", "StopFleetLockLost", "StopReadOnly", "StopFailingIO", "StopStoreGone"} {
		names[n], names["pass."+n] = true, true
	}
	set := regexp.MustCompile(`StopReason\s*=\s*(?:true,\s*)?([^\s]+)`)
	for _, dir := range []string{"pass", "run", "rekey", "stats"} {
		files, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range set.FindAllStringSubmatch(string(b), -1) {
				if !names[m[1]] {
					t.Errorf("%s sets StopReason to %s, not one of pass.StopReasons by its name", f, m[1])
				}
			}
		}
	}
}
