//go:build unix

package main_test

import (
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestSweepEncryptedStoreWithoutKeys: sweeping never decrypts, so sessgc
// run and stats work on an encrypted store without keys, although the
// store refuses keyless processes that could write sessions.
func TestSweepEncryptedStoreWithoutKeys(t *testing.T) {
	st := newStore(t, fsstore.WithKeys(newKey(t, 1)))
	ids := st.save(4)
	st.expire(ids[0], ids[1])
	if r := runGC(t, []string{"stats", "--dir", st.dir}); r.code != 0 {
		t.Fatalf("stats without keys: exit %d, stderr %s", r.code, r.stderr)
	}
	if r := runGC(t, []string{"run", "--dir", st.dir, "--grace", "1s"}); r.code != 0 {
		t.Fatalf("run without keys: exit %d, stderr %s", r.code, r.stderr)
	}
	for i, id := range ids {
		if want := i >= 2; st.exists(id) != want {
			t.Errorf("session %d: exists %v after the sweep, want %v", i, st.exists(id), want)
		}
	}
}
