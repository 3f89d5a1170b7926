//go:build unix

package main_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// sessgc takes the mode of the files it writes from the marker, which is
// group- (and world-) readable wherever the directories are (a store opened
// with WithPermissions(0o600, 0o750), for a monitoring group that lists
// it, has a 0640 marker and 0600 records): a rekey must keep the records
// 0600, not make the session payloads readable by the group.
func TestRekeyKeepsPrivateRecordModes(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithPermissions(0o600, 0o750), fsstore.WithKeys(k1))
	ids := st.save(4)
	st.s.Close()
	before, err := os.Stat(st.path(ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	mi, _ := os.Stat(filepath.Join(st.dir, fsstore.MarkerFile))
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--no-fleet-lock"})
	if r.code != 0 {
		t.Fatalf("rekey: exit %d, %s", r.code, r.stderr)
	}
	for _, id := range ids {
		fi, err := os.Stat(st.path(id))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != before.Mode().Perm() {
			t.Fatalf("record was %v (marker %v), is %v after sessgc rekey", before.Mode().Perm(), mi.Mode().Perm(), fi.Mode().Perm())
		}
	}
}
