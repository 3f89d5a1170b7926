//go:build unix

package main_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestStdoutReaderGoneAtTheEnd: a standard output whose reader went away
// before sessgc wrote anything there ("sessgc stats | head -1" once head
// has its line, "sessgc run --json | consumer" whose consumer died) lost
// the report, and sessgc exited 0 without a word: the help promises 141
// for a closed standard output, and that exit code came only when the
// pipe was found closed mid-pass (TestStdoutClosed). Here every write
// comes after the work, so no pass is stopped: the work is done (the run's
// expired sessions are gone), and sessgc exits 141, as a command killed by
// SIGPIPE would, saying on stderr what was lost. The --textfile, written
// before the report, records the sweep: exit code 0 and success, as
// docs/operations.md says, for the store was swept; the lost report is
// the process's exit code and stderr.
func TestStdoutReaderGoneAtTheEnd(t *testing.T) {
	st := newStore(t)
	expired := st.save(3)
	st.expire(expired...)
	textfile := filepath.Join(t.TempDir(), "sessgc.prom")
	for _, args := range [][]string{
		{"run", "--dir", st.dir, "--json", "--textfile", textfile},
		{"stats", "--dir", st.dir},
		{"stats", "--dir", st.dir, "--json"},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close() // the reader is gone before sessgc writes
		cmd := command(args)
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = w, &errb
		code := exitCode(t, cmd.Run())
		w.Close()
		if code != 141 {
			t.Errorf("%q, standard output's reader gone: exit %d, stderr %q; want 141", args, code, errb.String())
		}
		if want := "sessgc: standard output's reader went away"; !strings.Contains(errb.String(), want) {
			t.Errorf("%q: stderr %q, want %q", args, errb.String(), want)
		}
	}
	for _, id := range expired {
		if _, err := os.Lstat(st.path(id)); !os.IsNotExist(err) {
			t.Errorf("expired session after the run: %v, want it removed", err)
		}
	}
	prom, err := os.ReadFile(textfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, metric := range []string{"sessgc_last_run_exit_code", "sessgc_last_run_success"} {
		want := map[string]string{"sessgc_last_run_exit_code": "0", "sessgc_last_run_success": "1"}[metric]
		if !regexp.MustCompile(`(?m)^` + metric + `\{[^}]*\} ` + want + `$`).Match(prom) {
			t.Errorf("textfile of the run whose report was lost, want %s %s (the sweep's):\n%s", metric, want, prom)
		}
	}
}

// TestRekeyInterruptedResumes stops a real sessgc rekey with SIGTERM (a
// service manager's stop, a deploy) in the middle of its pass: it stops
// cleanly, says how far it got (exit 143, stop_reason "interrupted"),
// leaves no temporary file, and the next pass rewrites exactly the
// records the first one did not, each once, every one loading under the
// new key alone.
func TestRekeyInterruptedResumes(t *testing.T) {
	const n = 40
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	ids := st.save(n)
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	before := make(map[string]uint64, n)
	for _, id := range ids {
		before[id] = inode(t, st.path(id))
	}

	// At 0.01 records a second, the first record is rewritten at once
	// and the next 100 s later: SIGTERM, sent once the first is seen,
	// comes in that wait, however late the test gets to send it. At 10 a
	// second a test held up 4 s on a loaded machine sent it after the
	// last record, and the pass it was to interrupt had ended.
	cmd := command([]string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0.01", "--json"})
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// A rewritten record is a new file under the record's name.
	deadline := time.Now().Add(time.Minute) // a hang detector only
	for rewritten := false; !rewritten; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no record rewritten by the rekey")
		}
		for id, ino := range before {
			if inode(t, st.path(id)) != ino {
				rewritten = true
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-exited:
	case <-time.After(time.Minute): // a hang detector only: the next record's slot is 100 s away
		cmd.Process.Kill()
		<-exited
		t.Fatalf("the rekey still ran a minute after SIGTERM, which came while it waited for the next record's slot; stdout %s; stderr %s", out.String(), errb.String())
	}
	code := exitCode(t, werr)
	first := rekeyJSON(t, result{out.String(), errb.String(), code})
	if first.ExitCode != 143 || first.StopReason != "interrupted" || first.Rekeyed == 0 || first.Rekeyed >= n || first.Errors != 0 {
		t.Fatalf("rekey stopped by SIGTERM: %+v; stderr %s", first, errb.String())
	}
	if left, _ := filepath.Glob(filepath.Join(st.dir, fsstore.DataDir, "*", ".*")); len(left) > 0 {
		t.Errorf("left in the store by the interrupted rekey: %q", left)
	}

	r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--json"})
	second := rekeyJSON(t, r)
	if r.code != 0 || second.StoppedEarly || second.Errors != 0 || second.Rekeyed != n-first.Rekeyed || second.UpToDate != first.Rekeyed {
		t.Errorf("the pass after the interrupted one: exit %d, %+v; the first rewrote %d of %d", r.code, second, first.Rekeyed, n)
	}
	if err := loadAll(t, st.dir, ids, k2); err != nil {
		t.Errorf("a record not under key 2 after the passes: %v", err)
	}
}
