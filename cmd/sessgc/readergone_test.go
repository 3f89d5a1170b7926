//go:build unix

package main_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestStdoutReaderGoneAtTheEnd: a standard output whose reader went away
// before sessgc wrote anything there ("sessgc stats | head -1" once head
// has its line, "sessgc run --json | consumer" whose consumer died) lost
// the report, and sessgc exited 0 without a word: the help promises 141
// for a closed standard output, and that exit code came only when the
// pipe was found closed mid-pass (TestStdoutClosed). Here every write
// comes after the work, so no pass is stopped: the work is done (the run's
// expired sessions are gone), and sessgc exits 141, as a command killed by
// SIGPIPE would, saying on stderr what was lost.
func TestStdoutReaderGoneAtTheEnd(t *testing.T) {
	st := newStore(t)
	expired := st.save(3)
	st.expire(expired...)
	for _, args := range [][]string{
		{"run", "--dir", st.dir, "--json"},
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
}
