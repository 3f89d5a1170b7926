package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestSweepOversizeRecordName: a file named like a record in its shard
// but larger than any record the format can describe (planted there) is
// no session: Stats counts it expired, and the
// sweep removes it, once its mtime is older than Grace, where both kept
// it as a live session, its bytes among the live ones, until the
// marker's largest idle timeout had passed. The limit is the format's,
// not this store's WithMaxSize, which hosts may set differently, nor the
// largest this build writes, which a later build may raise: a file of the
// largest size a record may have stays live. The files are sparse:
// no disk is used.
func TestSweepOversizeRecordName(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		size     int64
		age      time.Duration
		wantGone bool
	}{
		{"largest record", fsstore.MaxRecordFileForTest, 5 * time.Minute, false},
		// A record a build with a larger WithMaxSize ceiling writes, in
		// the same format: its hosts load it, so a sweep of this build
		// (a sessgc upgraded later) must leave it to its mtime.
		{"larger than this build writes", fsstore.MaxRecordFileForTest + 1, 5 * time.Minute, false},
		{"largest the format describes", fsstore.MaxFormatFileForTest, 5 * time.Minute, false},
		{"one byte larger than the format", fsstore.MaxFormatFileForTest + 1, 5 * time.Minute, true},
		{"a terabyte", 1 << 40, 5 * time.Minute, true},
		{"one byte larger than the format, within Grace", fsstore.MaxFormatFileForTest + 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The smallest WithMaxSize: the size checks must not use it.
			s, err := fsstore.Open(t.TempDir(), fsstore.WithIdleTimeout(time.Hour), fsstore.WithMaxSize(1))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			p := s.RecordPathForTest(newID(t))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(tc.size); err != nil {
				f.Close()
				t.Skipf("no sparse file of %d bytes here: %v", tc.size, err)
			}
			f.Close()
			at := time.Now().Add(-tc.age)
			if err := os.Chtimes(p, at, at); err != nil {
				t.Fatal(err)
			}
			st, err := s.Stats(ctx, fsstore.StatsOptions{})
			if err != nil {
				t.Fatalf("Stats: %v", err)
			}
			if got := st.Expired == 1 && st.Live == 0; got != tc.wantGone {
				t.Errorf("Stats: live %d, expired %d; want it expired: %v", st.Live, st.Expired, tc.wantGone)
			}
			sw, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil {
				t.Fatalf("Sweep: %v", err)
			}
			_, err = os.Lstat(p)
			if gone := os.IsNotExist(err); gone != tc.wantGone {
				t.Fatalf("after the sweep (live %d, sessions removed %d, foreign %d): file gone %v, want %v", sw.Live, sw.Sessions, sw.Foreign, gone, tc.wantGone)
			}
			if tc.wantGone && (sw.Sessions != 1 || sw.Live != 0) {
				t.Errorf("sweep counted live %d, sessions removed %d; want 0 and 1", sw.Live, sw.Sessions)
			}
		})
	}
}
