package main_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestRedisMaxClients: a run that opens more connections to a Redis at
// once than the server takes (its maxclients) is refused before anything
// is written, naming maxclients and --concurrency, whether the server
// tells its maxclients (CONFIG GET) or not (an ACL user without +config,
// a managed server): beyond it the server closes each new connection, and
// the run went ahead, failed a share of its operations with a broken pipe
// and reported the rest. A run within the limit is not refused.
func TestRedisMaxClients(t *testing.T) {
	// "bench" may do everything but CONFIG, and takes any password.
	acl := []string{"--maxclients", "24", "--user", "bench", "on", "nopass", "~*", "&*", "+@all", "-config"}
	runArgs := []string{"run", "--ops", "200", "--rounds", "1", "--warmup", "0", "--sessions", "64", "--workload", "cycle", "--size", "512", "--durability", "none"}
	httpArgs := []string{"http", "--peers", "scs-redis", "--duration", "20ms", "--rounds", "1", "--sessions", "64", "--hot", "0x0", "--size", "512"}
	for _, tt := range []struct {
		name     string
		args     []string
		user     string
		code     int
		contains []string
	}{
		{"run, maxclients told", slices.Concat(runArgs, []string{"--concurrency", "1,64"}), "", 1, []string{"maxclients 24", "--concurrency"}},
		{"run, maxclients not told", slices.Concat(runArgs, []string{"--concurrency", "1,64"}), "bench:x@", 1, []string{"connection", "maxclients", "--concurrency"}},
		{"run, within the limit", slices.Concat(runArgs, []string{"--concurrency", "1,8"}), "", 0, nil},
		{"http, maxclients told", slices.Concat(httpArgs, []string{"--concurrency", "64"}), "", 1, []string{"maxclients 24", "--concurrency"}},
		{"http, maxclients not told", slices.Concat(httpArgs, []string{"--concurrency", "64"}), "bench:x@", 1, []string{"connection", "maxclients", "--concurrency"}},
		{"http, within the limit", slices.Concat(httpArgs, []string{"--concurrency", "8"}), "", 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := startRedisWith(t, acl, nil)
			args := append(slices.Clone(tt.args), "--redis", "redis://"+tt.user+addr)
			if args[0] == "run" {
				// http's scs-redis peer alone takes no --dir.
				args = append(args, "--dir", benchDir(t))
			}
			r := run(t, nil, args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q\n%s", r.code, tt.code, r.stderr, r.stdout)
			}
			for _, s := range tt.contains {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q does not name %q", r.stderr, s)
				}
			}
			// The --ops header says the count includes failed operations;
			// that phrase is no failure.
			stdout := strings.ReplaceAll(r.stdout, "failed ones included", "")
			if tt.code == 0 && (strings.Contains(stdout, "failed") || strings.Contains(r.stderr, "failed")) {
				t.Errorf("operations failed:\n%s\n%s", r.stdout, r.stderr)
			}
			c := redis.NewClient(&redis.Options{Addr: addr})
			defer c.Close()
			if n, err := c.DBSize(context.Background()).Result(); err != nil || n != 0 {
				t.Errorf("redis holds %d keys after the run (%v), want none", n, err)
			}
		})
	}
}
