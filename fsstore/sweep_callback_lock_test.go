package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestSweepCallbackHoldsNoSessionLock: a record the sweep settles under
// its session's lock (here a copy an earlier sweep left aside, expired)
// was reported to OnRemove with the lock still held, so a callback that
// blocked (sessgc's "run -v | less" left stalled, a slow database) kept
// every request for that session waiting. The callbacks are now called
// on a goroutine of their own: the sweep releases the lock whatever a
// callback does, and a request for the session is served while the
// callback still blocks. OnError and OnForeign are delivered alike.
func TestSweepCallbackHoldsNoSessionLock(t *testing.T) {
	for _, tc := range []struct {
		name  string
		place func(t *testing.T, s *fsstore.Store, id string)
		opts  func(block func()) fsstore.SweepOptions
	}{
		{"OnRemove of a copy aside", func(t *testing.T, s *fsstore.Store, id string) {
			must(t, s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("old")}))
			p := s.RecordPathForTest(id)
			aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
			then := time.Now().Add(-time.Hour)
			if err := os.Chtimes(aside, then, then); err != nil {
				t.Fatal(err)
			}
		}, func(block func()) fsstore.SweepOptions {
			o := fsstore.SweepOptions{Grace: time.Nanosecond}
			o.OnRemove = func(fsstore.Removal) { block() }
			return o
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openDir(t, t.TempDir())
			id := newID(t)
			tc.place(t, s, id)
			called, release := make(chan struct{}, 1), make(chan struct{})
			block := func() {
				select {
				case called <- struct{}{}:
				default:
				}
				<-release
			}
			done := make(chan error, 1)
			go func() {
				_, err := s.Sweep(context.Background(), tc.opts(block))
				done <- err
			}()
			defer func() {
				close(release)
				if err := <-done; err != nil {
					t.Errorf("sweep: %v", err)
				}
			}()
			select {
			case <-called:
			case err := <-done:
				done <- err
				t.Fatalf("sweep returned (%v) without calling the callback", err)
			}
			// The callback blocks; a request for the session must get its
			// lock once the sweep is done with the record. (The bound only
			// ends a test that fails; the lock is free in microseconds.)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatalf("a request for session %s while the sweep's callback blocks: %v", id, err)
			}
			must(t, l.Unlock())
		})
	}
}
