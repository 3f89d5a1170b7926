package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestScanClosedMidway closes the store while a scan (Sweep, Stats, Rekey,
// Range) has shards left to list: the scan ends with an error matching
// ErrClosed, and the shards it could not list are neither counted as
// errors nor passed to OnError. Each was reported as a file error, and
// the scan returned nil unless its last step came after the close. A
// record the close cut is not scanned either (Rekey, Range): Scanned
// stays the sum of the outcomes.
func TestScanClosedMidway(t *testing.T) {
	for _, op := range []string{"sweep", "stats", "rekey", "range"} {
		for _, bounded := range []bool{false, true} {
			name := op + "/unbounded"
			if bounded {
				name = op + "/bounded"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				k1, k2 := mustKey(t, 1), mustKey(t, 2)
				var keys []fsstore.Option
				if op == "rekey" {
					keys = []fsstore.Option{fsstore.WithKeys(k1)}
				}
				s0 := openDir(t, dir, keys...)
				for _, id := range scanClosedIDs(t, s0, op == "range") {
					if err := s0.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
						t.Fatal(err)
					}
					if op == "sweep" || op == "stats" {
						long := time.Now().Add(-48 * time.Hour)
						if err := os.Chtimes(s0.RecordPathForTest(id), long, long); err != nil {
							t.Fatal(err)
						}
					}
				}
				s0.Close()
				var opts []fsstore.Option
				if bounded {
					opts = append(opts, fsstore.WithMaxInFlight(8))
				}
				if op == "rekey" {
					opts = append(opts, fsstore.WithKeys(k2, k1))
				}
				s := openDir(t, dir, opts...)
				var once sync.Once
				closeOnce := func() { once.Do(func() { s.Close() }) }
				s.SetSweepRelistHookForTest(func(string) []fs.DirEntry {
					closeOnce()
					return nil
				})
				var (
					mu       sync.Mutex
					reported []error
				)
				onError := func(err error) {
					mu.Lock()
					reported = append(reported, err)
					mu.Unlock()
				}
				var (
					errs int64
					err  error
				)
				ctx := context.Background()
				switch op {
				case "sweep":
					var st fsstore.SweepStats
					st, err = s.Sweep(ctx, fsstore.SweepOptions{OnError: onError})
					errs = st.Errors
				case "stats":
					var st fsstore.Stats
					st, err = s.Stats(ctx, fsstore.StatsOptions{OnError: onError})
					errs = st.Errors
				case "rekey":
					var st fsstore.RekeyStats
					st, err = s.Rekey(ctx, fsstore.RekeyOptions{OnError: onError})
					errs = st.Errors
					if sum := st.Rekeyed + st.UpToDate + st.Expired + st.Errors; st.Scanned != sum {
						t.Errorf("rekey: Scanned %d, want the sum of the outcomes %d (%+v)", st.Scanned, sum, st)
					}
				case "range":
					var st fsstore.RangeStats
					// Closed at the first record, of three in one shard:
					// the others fail to read.
					st, err = s.Range(ctx, func(*fsstore.Record) bool { closeOnce(); return true })
					errs = st.Errors
					if sum := st.Live + st.Expired + st.Corrupt + st.UnknownKey + st.Errors; st.Scanned != sum {
						t.Errorf("range: Scanned %d, want the sum of the outcomes %d (%+v)", st.Scanned, sum, st)
					}
				}
				// Said as what happened to the scan, as Rekey's is
				// (rekeyStoppedByClose): the cut step's error alone
				// ("sweep .../data/2f: waiting for Rate: store closed")
				// read as a failure of that step.
				if stopped := op + " stopped by the store's Close"; !errors.Is(err, fsstore.ErrClosed) || !strings.Contains(fmt.Sprint(err), stopped) {
					t.Errorf("%s: %v, want an error matching ErrClosed that says %q", op, err, stopped)
				}
				if errs != 0 {
					t.Errorf("%s: Errors %d, want 0: the close is the scan's end, not a file's failure", op, errs)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(reported) != 0 {
					t.Errorf("%s: OnError called %d times (%v), want none", op, len(reported), reported)
				}
			})
		}
	}
}

// scanClosedIDs returns the IDs of eight sessions for a scan to find: in
// different shards as they fall, or, with oneShard, three in one shard,
// for a scan closed at its first record to have others left there.
func scanClosedIDs(t *testing.T, s *fsstore.Store, oneShard bool) []string {
	t.Helper()
	if !oneShard {
		ids := make([]string, 8)
		for i := range ids {
			ids[i] = newID(t)
		}
		return ids
	}
	byShard := map[string][]string{}
	for {
		id := newID(t)
		d := filepath.Dir(s.RecordPathForTest(id))
		byShard[d] = append(byShard[d], id)
		if len(byShard[d]) == 3 {
			return byShard[d]
		}
	}
}
