//go:build unix

package root_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
)

// The store's own warnings reach the operator: a store whose data
// directory is setgid (group-shared) under a top directory that is not
// makes fsstore warn that the directories it creates get the wrong group.
// sessgc gave the store no logger, and fsstore discards its log by
// default, so cron mail never said so. --log-level and SESSGC_LOG_LEVEL
// choose the least severe record printed.
func TestStoreWarningsOnStderr(t *testing.T) {
	const warning = `msg="store directory is not setgid`
	for _, tt := range []struct {
		name string
		args []string
		env  []string
		want bool
	}{
		{"run", []string{"run", "-q"}, nil, true},
		{"default command", []string{"-q"}, nil, true},
		{"stats", []string{"stats"}, nil, true},
		{"run --log-level error", []string{"run", "-q", "--log-level", "error"}, nil, false},
		{"SESSGC_LOG_LEVEL=error", []string{"stats"}, []string{"SESSGC_LOG_LEVEL=error"}, false},
		{"flag over environment", []string{"stats", "--log-level", "WARN"}, []string{"SESSGC_LOG_LEVEL=error"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := smallStore(t, 3)
			if err := os.Chmod(filepath.Join(dir, fsstore.DataDir), os.ModeSetgid|0o770); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := executeEnv(context.Background(), tt.env, append(tt.args, "--dir", dir))
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			var lines []string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, warning) {
					lines = append(lines, l)
				}
			}
			if got := len(lines) > 0; got != tt.want {
				t.Fatalf("store warning on stderr: %v, want %v; stderr %q", got, tt.want, stderr)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "sessgc: time=") || !strings.Contains(l, " level=WARN ") || !strings.Contains(l, " dir="+dir) {
					t.Errorf("store warning %q: want a line 'sessgc: time=... level=WARN msg=... dir=%s'", l, dir)
				}
			}
		})
	}
}

// A --log-level that is not a level is a usage error naming the levels.
func TestLogLevelUsage(t *testing.T) {
	dir := smallStore(t, 1)
	for _, args := range [][]string{
		{"run", "--dir", dir, "--log-level", "loud"},
		{"stats", "--dir", dir, "--log-level", ""},
		{"rekey", "--dir", dir, "--log-level", "verbose"},
	} {
		code, _, errs := execute(context.Background(), args)
		if code != cmdutil.ExitUsage || !strings.Contains(errs, "debug, info, warn, error") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming the levels", args, code, errs)
		}
	}
}
