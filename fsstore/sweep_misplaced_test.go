//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// A record held aside by a sweep (.tmp-gc-<record>) is a session, not a
// temp file, and the sweep settles it only in its own shard. Found anywhere
// else (the store's top, a directory above the shards, another shard), it
// was put there by something other than this store, such as a store made
// inside another one, whose top is the outer store's shard: removing it as
// a stale temp file would delete the outer store's session. So it is
// foreign there, and kept, however old; a stale temp file beside it is
// still removed.
func TestSweepKeepsAsideRecordsOutOfPlace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithShardDepth(2))
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	rec := s.RecordPathForTest(id)
	name := filepath.Base(rec)
	shard := filepath.Dir(rec)
	between := filepath.Dir(shard)
	// Another shard beside the record's, whose records start otherwise.
	other := filepath.Join(between, "00")
	if other == shard {
		other = filepath.Join(between, "ff")
	}
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	write := func(p string) string {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		age(t, p)
		return p
	}
	kept := []string{
		write(filepath.Join(dir, ".tmp-gc-"+name)),
		write(filepath.Join(between, ".tmp-gc-"+name)),
		write(filepath.Join(other, ".tmp-gc-"+name)),
	}
	stale := write(filepath.Join(dir, ".tmp-stale"))

	st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, TempAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range kept {
		if !exists(t, p) {
			rel, _ := filepath.Rel(dir, p)
			t.Errorf("sweep removed %s, a record held aside outside its shard (%+v)", rel, st)
		}
	}
	if exists(t, stale) {
		t.Errorf("sweep kept the stale temp file .tmp-stale (%+v)", st)
	}
	if st.Foreign < int64(len(kept)) || st.Temps != 1 {
		t.Errorf("sweep %+v: want the %d records aside out of place foreign, 1 temp file removed", st, len(kept))
	}
	if !exists(t, rec) {
		t.Error("sweep removed the live record")
	}
}
