package main_test

import (
	"bytes"
	"context"
	"io/fs"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestNoRoomOnTheMount: a plan whose sessions would fill the --dir's file
// system (here 1,000,000 sessions of 32 MiB: 30.5 TiB) is refused before
// anything is written; the shared mount's space is the live store's too.
func TestNoRoomOnTheMount(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd":
	default:
		t.Skipf("sessbench cannot tell a file system's free space on %s, and checks no room there", runtime.GOOS)
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"run", []string{"run", "--ops", "1", "--rounds", "1", "--warmup", "0", "--concurrency", "1", "--workload", "load"}},
		{"http", []string{"http", "--peers", "sessfs,scs-mem", "--duration", "20ms", "--rounds", "1", "--concurrency", "1", "--hot", "0x0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := benchDir(t)
			before := snapshot(t, d)
			cmd := exec.Command(binary, append(tt.args, "--dir", d, "--size", "32MiB", "--sessions", "1000000")...)
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			deadline := time.After(2 * time.Minute)
			for {
				select {
				case err := <-exited:
					if err == nil || !strings.Contains(errOut.String(), "lower --sessions or --size") {
						t.Errorf("exit %v, stderr %q; want a refusal naming --sessions and --size", err, errOut.String())
					}
					if after := snapshot(t, d); !slices.Equal(before, after) {
						t.Errorf("directory changed:\nbefore %v\nafter  %v", before, after)
					}
					return
				case <-deadline:
					cmd.Process.Kill()
					<-exited
					t.Fatal("sessbench neither refused nor wrote")
				case <-time.After(10 * time.Millisecond): // poll interval
					if n := bigFiles(d); n > 0 {
						cmd.Process.Kill()
						<-exited
						t.Fatalf("sessbench started writing 30.5 TiB of sessions (%d written so far)", n)
					}
				}
			}
		})
	}
}

// TestNoRoomInRedis: a plan whose sessions would not fit in half of what a
// Redis has left before maxmemory is refused before anything is written:
// written, they would have evicted the server's other keys.
func TestNoRoomInRedis(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"run", []string{"run", "--dir", "DIR", "--ops", "4", "--rounds", "1", "--warmup", "0", "--concurrency", "1", "--workload", "cycle"}},
		{"http", []string{"http", "--peers", "scs-redis", "--duration", "20ms", "--rounds", "1", "--concurrency", "1", "--hot", "0x0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := startRedisWith(t, []string{"--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"}, nil)
			c := redis.NewClient(&redis.Options{Addr: addr})
			defer c.Close()
			ctx := context.Background()
			if err := c.Set(ctx, "app:live-session", "someone's cart", 0).Err(); err != nil {
				t.Fatal(err)
			}
			args := slices.Clone(tt.args)
			if i := slices.Index(args, "DIR"); i >= 0 {
				args[i] = benchDir(t)
			}
			r := run(t, nil, append(args, "--redis", addr, "--size", "16KiB", "--sessions", "1000")...)
			if r.code != 1 || !strings.Contains(r.stderr, "maxmemory") {
				t.Errorf("exit %d, stderr %q; want exit 1 naming maxmemory", r.code, r.stderr)
			}
			if v, err := c.Get(ctx, "app:live-session").Result(); err != nil {
				t.Errorf("the server's own key: %q, %v (evicted by the benchmark's sessions)", v, err)
			}
			if n, err := c.DBSize(ctx).Result(); err != nil || n != 1 {
				t.Errorf("redis holds %d keys after the run (%v), want only its own", n, err)
			}
		})
	}
}

// bigFiles counts the files of at least 1 MiB under dir.
func bigFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil && fi.Size() >= 1<<20 {
				n++
			}
		}
		return nil
	})
	return n
}
