package main_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestRedisPersistenceReported: the report says what the --redis server
// keeps of a save it answered, read from its appendonly, appendfsync and
// save settings, in the targets' lines, in --json's persistence and in
// the verdict's comparison of what a returned save promises. It said
// which durability each directory's store was measured at, and of Redis
// only that it "keeps only what its persistence settings save": a run
// against a server with no persistence at all, and one against a server
// that flushes every write, read alike.
func TestRedisPersistenceReported(t *testing.T) {
	for _, tt := range []struct {
		name, want, verdict string
		args                []string
	}{
		{"none", "none", "", nil},
		{"aof everysec", "aof, fsync every second", "", []string{"--appendonly", "yes", "--appendfsync", "everysec"}},
		{"aof always", "aof, fsync always", "on Redis (aof, fsync always) a returned save is on disk",
			[]string{"--appendonly", "yes", "--appendfsync", "always"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := startRedisWith(t, tt.args, nil)
			d := benchDir(t)
			// A save on local disk at durability none, beside it, has the
			// verdict compare what each promises.
			args := append(slices.Clone(tiny), "--dir", d, "--redis", addr, "--workload", "save", "--durability", "none")
			r := run(t, nil, append([]string{"run"}, args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "at "+addr+", persistence "+tt.want+"\n") {
				t.Errorf("the targets do not say that the Redis at %s has persistence %q:\n%s", addr, tt.want, r.stdout)
			}
			// Said only where the targets promise unlike things: here a
			// Redis that flushes each write beside a disk that does not.
			if tt.verdict != "" && !strings.Contains(r.stdout, tt.verdict) {
				t.Errorf("the verdict does not say %q:\n%s", tt.verdict, r.stdout)
			}
			r = run(t, nil, append([]string{"run", "--json"}, args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var rep struct {
				Targets []struct {
					Kind        string `json:"kind"`
					Persistence string `json:"persistence"`
				} `json:"targets"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(rep.Targets, func(x struct {
				Kind        string `json:"kind"`
				Persistence string `json:"persistence"`
			}) bool {
				return x.Kind == "redis"
			})
			if i < 0 || rep.Targets[i].Persistence != tt.want {
				t.Errorf("--json targets: %+v, want redis with persistence %q", rep.Targets, tt.want)
			}
		})
	}
}
