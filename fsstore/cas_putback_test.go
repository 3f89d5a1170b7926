//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestCompareAndSwapAcrossPutBack: a sweep moves a record aside that was
// touched after its scan, and puts it back. While it is aside, a
// CompareAndSwap creating the session conflicts (the record is live), and
// one expecting the version a client read succeeds: the record aside is
// the one read, and the swap writes its successor at the name, which the
// put-back then leaves alone. After the put-back of an untouched record
// the version read still matches: moved and put back, it is the same
// record, not a new one with a repeated version.
func TestCompareAndSwapAcrossPutBack(t *testing.T) {
	ctx := context.Background()
	for _, swapAside := range []bool{true, false} {
		t.Run(map[bool]string{true: "while-aside", false: "after-put-back"}[swapAside], func(t *testing.T) {
			s := openTemp(t, fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			p := s.RecordPathForTest(id)
			read := &fsstore.Session{ID: id, Data: []byte("read")}
			if err := s.Save(ctx, read); err != nil {
				t.Fatal(err)
			}
			age(t, p)
			var asideErrs []error
			s.SetSweepHooksForTest(nil,
				func(string) { // touched after the scan: the sweep puts it back
					now := time.Now()
					if err := os.Chtimes(p, now, now); err != nil {
						t.Error(err)
					}
				},
				func(string) {
					if !swapAside {
						return
					}
					asideErrs = append(asideErrs,
						s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("created")}),
						s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("swapped"), Version: read.Version}))
				})
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
			s.SetSweepHooksForTest(nil, nil, nil)
			if err != nil || st.Errors != 0 || st.Sessions != 0 {
				t.Fatalf("sweep: %+v, %v; want the touched record kept", st, err)
			}
			if swapAside {
				if !errors.Is(asideErrs[0], fsstore.ErrConflict) {
					t.Errorf("CompareAndSwap creating the session while its live record is aside: %v, want ErrConflict", asideErrs[0])
				}
				if asideErrs[1] != nil {
					t.Errorf("CompareAndSwap of the version read while the record is aside: %v", asideErrs[1])
				}
			} else if err := s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("swapped"), Version: read.Version}); err != nil {
				t.Fatalf("CompareAndSwap of the version read, after the put-back: %v", err)
			}
			got, err := s.Load(ctx, id)
			if err != nil || string(got.Data) != "swapped" || got.Version != read.Version+1 {
				t.Fatalf("Load = %q version %d, %v; want swapped, version %d", got.Data, got.Version, err, read.Version+1)
			}
			if exists(t, p[:len(p)-32]+".tmp-gc-"+p[len(p)-32:]) {
				t.Fatal("a copy left aside")
			}
		})
	}
}
