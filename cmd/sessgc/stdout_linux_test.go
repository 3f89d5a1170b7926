package main_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestStdoutNotWritable: a run whose standard output cannot be written (a
// cron line's ">> /var/log/sessgc.log" on a full /var, here /dev/full)
// lost its summary or --json lines and exited 0, so that nothing said the
// log or the script reading it had nothing. It now exits 1 and says why on
// stderr; --quiet, which writes nothing there, still exits 0.
func TestStdoutNotWritable(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	f := newFixture(t)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"run", "--dir", f.dir, "--dry-run", "--json"}, 1},
		{[]string{"stats", "--dir", f.dir}, 1},
		{[]string{"run", "--dir", f.dir, "--quiet"}, 0},
		{[]string{"run", "--dir", f.dir}, 1},
	} {
		cmd := command(tc.args)
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &errb
		code := exitCode(t, cmd.Run())
		if code != tc.code {
			t.Errorf("%q with stdout on a full disk: exit %d, stderr %q; want %d", tc.args, code, errb.String(), tc.code)
		}
		if want := "no space left on device"; tc.code != 0 && !strings.Contains(errb.String(), want) {
			t.Errorf("%q: stderr %q does not say %q", tc.args, errb.String(), want)
		}
	}
}
