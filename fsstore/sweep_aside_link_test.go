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

// A put-back that died between its link and its unlink leaves one file
// under both the record's name and its aside name. Unlinking the aside
// name frees nothing while the name holds the file: the sweep counts the
// leftover link as a temp file, and the bytes it frees are the record's
// once, when the record itself goes (expired), or none (live). Counted
// per link, an expired session freed its size twice, and a live one its
// size though nothing left the disk; the store's metrics and sessgc's
// report added them up.
func TestSweepAsideLinkOfRecordFreesNothing(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		expired bool
	}{
		{"expired", true},
		{"live", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("linked twice")}); err != nil {
				t.Fatal(err)
			}
			p := s.RecordPathForTest(id)
			if tc.expired {
				age(t, p)
			}
			if err := os.Link(p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			var want, sessions int64
			if tc.expired {
				want, sessions = fi.Size(), 1
			}
			for _, dry := range []bool{true, false} {
				var removed int64
				st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, DryRun: dry, OnRemove: func(r fsstore.Removal) {
					removed += r.Size
				}})
				if err != nil || st.Errors != 0 {
					t.Fatalf("sweep (dry run %v): %+v, %v", dry, st, err)
				}
				if st.Sessions != sessions || st.Temps != 1 || st.Bytes != want || removed != want {
					t.Errorf("sweep (dry run %v): %d sessions, %d temp files, %d bytes freed (OnRemove's sizes: %d); "+
						"want %d, 1 and %d: the aside link frees nothing while the name holds its file", dry, st.Sessions, st.Temps, st.Bytes, removed, sessions, want)
				}
			}
			if left := asides(t, dir); len(left) != 0 {
				t.Errorf("left aside: %v", left)
			}
			if !tc.expired {
				mustLoad(t, s, id, "linked twice")
			}
		})
	}
}
