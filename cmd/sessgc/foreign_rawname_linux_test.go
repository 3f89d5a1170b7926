package main_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestForeignFileNotUTF8JSON: --json gave a foreign file whose name is
// not UTF-8 (a Latin-1 name of an old host) with U+FFFD for each byte
// that is not, so that a script could not find or move the file by it.
// Such a line has the name as it is in path_base64 too.
func TestForeignFileNotUTF8JSON(t *testing.T) {
	st := newStore(t)
	live := st.save(1)
	shard := filepath.Dir(st.path(live[0]))
	odd := filepath.Join(shard, "caf\xe9-notes")
	writeFile(t, odd, "notes", old)
	r := runGC(t, []string{"run", "--dir", st.dir, "-v", "--json"})
	var found bool
	for _, l := range strings.Split(r.stdout, "\n") {
		if !strings.Contains(l, `"event":"foreign"`) {
			continue
		}
		var v struct {
			Path    string `json:"path"`
			PathB64 []byte `json:"path_base64"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		found = true
		if string(v.PathB64) != odd {
			t.Errorf("foreign line %s: path_base64 %q; want the name as it is, %q", l, v.PathB64, odd)
		}
	}
	if r.code != 0 || !found {
		t.Errorf("exit %d, no foreign line in:\n%s", r.code, r.stdout)
	}
}
