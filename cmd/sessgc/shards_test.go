//go:build unix

package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// recordPath returns the record file of id in a store of shard depth
// depth (store.path assumes depth 1).
func recordPath(dir, id string, depth int) string {
	name, _ := nameOf(id)
	p := filepath.Join(dir, fsstore.DataDir)
	for i := range depth {
		p = filepath.Join(p, name[2*i:2*i+2])
	}
	return filepath.Join(p, name)
}

// TestUnreadableShardDirectory: a shard directory that cannot be listed
// is one directory that could not be examined (exit 1, as
// docs/operations.md says: "some files or shard directories could not be
// examined or removed ... the rest of the store was swept"), not a store
// that is unusable as a whole (exit 3, "Nothing was deleted"). Every
// command must go on with the other shards and report the one it could
// not read.
//
// With shard depth 2 the directories of the first level are listed by the
// walk itself, and with rekey every shard is: there, one unreadable
// directory stopped the whole pass with exit 3 after other shards had
// been swept or rewritten.
func TestUnreadableShardDirectory(t *testing.T) {
	for _, tc := range []struct {
		cmd   string // run, stats or rekey
		depth int
		level int // 1: the first-level directory; depth: the leaf
	}{
		{"run", 1, 1},
		{"run", 2, 1},
		{"run", 2, 2},
		{"stats", 1, 1},
		{"stats", 2, 1},
		{"rekey", 1, 1},
		{"rekey", 2, 1},
	} {
		t.Run(fmt.Sprintf("%s/depth=%d/level=%d", tc.cmd, tc.depth, tc.level), func(t *testing.T) {
			var keys []fsstore.Key
			opts := []fsstore.Option{fsstore.WithShardDepth(tc.depth)}
			if tc.cmd == "rekey" {
				keys = []fsstore.Key{newKey(t, 2), newKey(t, 1)}
				opts = append(opts, fsstore.WithKeys(keys[1]))
			}
			st := newStore(t, opts...)
			ids := st.save(40)
			if tc.cmd != "rekey" {
				for _, id := range ids {
					setMtime(t, recordPath(st.dir, id, tc.depth), old)
				}
			} else {
				deployKeys(t, st.dir, keys...)
			}
			// The directory of the first session's record, at tc.level.
			bad := recordPath(st.dir, ids[0], tc.depth)
			for range tc.depth - tc.level + 1 {
				bad = filepath.Dir(bad)
			}
			var outside []string
			for _, id := range ids {
				if !strings.HasPrefix(recordPath(st.dir, id, tc.depth), bad+"/") {
					outside = append(outside, id)
				}
			}
			if len(outside) == 0 {
				t.Fatal("every session is under the unreadable directory")
			}
			if os.Getuid() == 0 {
				// The binary runs as nobody, whom the mode holds; the store
				// is nobody's, as a store is the application user's.
				chownTree(t, st.dir, 65534, 65534)
				openUp(t, filepath.Dir(st.dir))
			}
			if err := os.Chmod(bad, 0); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(bad, 0o700) })

			args := []string{tc.cmd, "--dir", st.dir, "--json", "-c", "1"}
			var env []string
			if tc.cmd == "rekey" {
				args = append(args, "--rate", "0")
				env = append(env, "SESSGC_KEYS="+keyLines(";", keys...))
			}
			cmd := command(args, env...)
			asUnprivileged(cmd)
			r := runCmd(t, cmd)
			// Every command names the directory: a count alone does not
			// say where to look.
			if r.code != 1 || !strings.Contains(r.stderr, bad) {
				t.Errorf("exit %d, stderr %q; want exit 1 (a directory that could not be examined) naming %s", r.code, r.stderr, bad)
			}
			// Once: the store logs the error it hands the command as
			// well, and sessgc prints the store's log.
			n := 0
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.Contains(l, bad) {
					n++
				}
			}
			if n > 1 {
				t.Errorf("%d lines of stderr name %s: %q", n, bad, r.stderr)
			}
			switch tc.cmd {
			case "run":
				_, s := summary(t, r)
				if s.Errors == 0 || s.ExitCode != r.code {
					t.Errorf("summary %+v", s)
				}
				for _, id := range outside {
					if exists(recordPath(st.dir, id, tc.depth)) {
						t.Errorf("expired session %s outside %s kept", id, bad)
					}
				}
			case "stats":
				if !strings.Contains(r.stdout, `"errors": `) || strings.Contains(r.stdout, `"errors": 0`) {
					t.Errorf("stats report %q does not count the directory as an error", r.stdout)
				}
			case "rekey":
				s := rekeyJSON(t, r)
				if s.Rekeyed != int64(len(outside)) || s.Errors == 0 {
					t.Errorf("rekeyed %d of the %d records outside %s, %d errors; want all, and an error", s.Rekeyed, len(outside), bad, s.Errors)
				}
			}
		})
	}
}
