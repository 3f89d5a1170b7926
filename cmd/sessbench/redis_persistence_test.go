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
// that flushes every write, read alike. sessbench http's scs-redis peer
// says it the same way.
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
			// sessbench http's scs-redis peer says it too, in its line
			// and in --json's peers: it said only Redis's version.
			httpArgs := []string{"http", "--peers", "scs-redis", "--redis", addr, "--duration", "20ms", "--rounds", "1", "--sessions", "16", "--hot", "0x0", "--size", "512", "--concurrency", "2"}
			r = run(t, nil, httpArgs...)
			if r.code != 0 {
				t.Fatalf("sessbench http: exit %d: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "at "+addr+", persistence "+tt.want) {
				t.Errorf("sessbench http does not say that the Redis at %s has persistence %q:\n%s", addr, tt.want, r.stdout)
			}
			r = run(t, nil, append(httpArgs, "--json")...)
			var hrep struct {
				Peers []struct {
					Name        string `json:"name"`
					Persistence string `json:"persistence"`
				} `json:"peers"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &hrep); err != nil || r.code != 0 {
				t.Fatalf("sessbench http --json: exit %d, %v: %s", r.code, err, r.stderr)
			}
			if len(hrep.Peers) != 1 || hrep.Peers[0].Persistence != tt.want {
				t.Errorf("sessbench http --json peers: %+v, want scs-redis with persistence %q", hrep.Peers, tt.want)
			}
		})
	}
}
