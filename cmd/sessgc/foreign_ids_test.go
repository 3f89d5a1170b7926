//go:build unix

package main_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestForeignFileIDsNotPrinted: another application's session files left
// in the store's directories (PHP's sess_ID, a store that names its files
// after the ID with a prefix or suffix of its own) were listed by -v,
// --dry-run and --json with their names whole: live session IDs in cron
// mail, a terminal's scrollback and a JSON pipeline's logs, where
// fsstore's Open already leaves them out of its refusals. Each is listed,
// with the ID left out as Open leaves it out, and the file is kept.
func TestForeignFileIDsNotPrinted(t *testing.T) {
	st := newStore(t)
	live := st.save(1)
	shard := filepath.Dir(st.path(live[0]))
	ids := []string{"k3v9q0l2m8n4b7c1x5z6r0t2ya", "abcdefghijklmnopqrstuvwxyzab", "0f8e2d4c6b1a3957f0e1d2c3b4a59687"}
	files := []struct{ path, shown string }{
		{filepath.Join(st.dir, fsstore.DataDir, "sess_"+ids[0]), filepath.Join(st.dir, fsstore.DataDir, "sess_…")},
		{filepath.Join(shard, "session_"+ids[1]), filepath.Join(shard, "session_…")},
		{filepath.Join(shard, "django"+ids[2]+".tmp"), filepath.Join(shard, "…") + ".tmp"},
	}
	for _, f := range files {
		writeFile(t, f.path, "a session of another app", old)
	}
	// Shown whole: its JSON line says nothing was left out.
	notes := filepath.Join(shard, "notes.txt")
	writeFile(t, notes, "notes", old)
	for _, args := range [][]string{{"-v"}, {"--dry-run"}, {"-v", "--json"}, {"--dry-run", "--json"}} {
		r := runGC(t, append([]string{"run", "--dir", st.dir}, args...))
		out := r.stdout + r.stderr
		for _, id := range ids {
			if strings.Contains(out, id) {
				t.Errorf("run %v printed the session ID %s:\n%s", args, id, out)
			}
		}
		for _, f := range files {
			if !strings.Contains(r.stdout, f.shown) {
				t.Errorf("run %v: %s not listed as %s:\n%s", args, f.path, f.shown, r.stdout)
			}
		}
		if r.code != 0 {
			t.Errorf("run %v: exit %d; want 0", args, r.code)
		}
		if args[len(args)-1] == "--json" {
			// A script that moves the foreign files out of the store
			// must know which paths name no file.
			hidden := map[string]bool{}
			for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				var v struct {
					Event  string `json:"event"`
					Path   string `json:"path"`
					Hidden *bool  `json:"path_hidden"`
				}
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatalf("%q: %v", l, err)
				}
				if v.Event == "foreign" {
					hidden[v.Path] = v.Hidden != nil && *v.Hidden
					if v.Hidden != nil && !*v.Hidden {
						t.Errorf("run %v: %s: path_hidden false, want the field left out", args, l)
					}
				}
			}
			for _, f := range files {
				if h, ok := hidden[f.shown]; !ok || !h {
					t.Errorf("run %v: %s: path_hidden %v (listed %v), want true", args, f.shown, h, ok)
				}
			}
			if h, ok := hidden[notes]; !ok || h {
				t.Errorf("run %v: %s: path_hidden %v (listed %v), want no field", args, notes, h, ok)
			}
		}
	}
	for _, f := range files {
		if !exists(f.path) {
			t.Errorf("%s removed", f.path)
		}
	}
}
