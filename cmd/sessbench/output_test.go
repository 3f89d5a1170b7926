package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestClosedStdoutCleansUp: a report whose reader has gone (sessbench run
// --json | a script that exits early, a terminal closed at the end of an
// hour's run) costs nothing of the cleanup: the sessions on the mount and
// in Redis are removed before the report is printed. Writing it used to
// come first, and the SIGPIPE of that write killed the process with the
// run's directory full of sessions and its keys in Redis.
func TestClosedStdoutCleansUp(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		redis bool
	}{
		{"run", append([]string{"run", "--json"}, tiny...), false},
		{"run with redis", append([]string{"run", "--json"}, tiny...), true},
		{"http", []string{"http", "--json", "--peers", "sessfs,gorilla-fs,scs-mem", "--size", "1KiB", "--duration", "20ms", "--rounds", "1", "--sessions", "1", "--concurrency", "1", "--hot", "0x0"}, false},
		{"http with redis", []string{"http", "--json", "--peers", "sessfs,scs-redis", "--size", "1KiB", "--duration", "20ms", "--rounds", "1", "--sessions", "1", "--concurrency", "1", "--hot", "0x0"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := benchDir(t)
			before := snapshot(t, d)
			args := append(slices.Clone(tt.args), "--dir", d)
			var rc *redis.Client
			if tt.redis {
				addr := startRedis(t)
				rc = redis.NewClient(&redis.Options{Addr: addr})
				defer rc.Close()
				args = append(args, "--redis", addr)
			}
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r.Close() // no reader: the first write to stdout fails
			cmd := exec.Command(binary, args...)
			var errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = w, &errOut
			err = cmd.Start()
			w.Close()
			if err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if err == nil {
				t.Errorf("exit 0 with its report unwritten; stderr: %s", errOut.String())
			}
			if after := snapshot(t, d); !slices.Equal(before, after) {
				t.Errorf("directory changed (%v; stderr %q):\nbefore %v\nafter  %v", err, errOut.String(), before, after)
			}
			if tt.redis {
				if n, err := rc.DBSize(context.Background()).Result(); err != nil || n != 0 {
					t.Errorf("redis holds %d keys after the run (%v)", n, err)
				}
			}
		})
	}
}
