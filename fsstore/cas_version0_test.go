package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/record"
)

// TestCompareAndSwapLiveVersionZero: builds before random starting versions
// wrote version 0 when a save's version wrapped. Such a record is live: a
// CompareAndSwap creating the session (version 0, as from a caller that
// found no session) must conflict with it, not overwrite it, while a
// caller that read that very record (its Created) may swap it. Each case
// runs with and without WithCache, whose hit answers the check's read.
func TestCompareAndSwapLiveVersionZero(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		created func(read *fsstore.Session) time.Time // the caller's Created
		expire  bool                                  // the record expired before the swap
		want    error                                 // nil: the swap is made
	}{
		{"create", func(*fsstore.Session) time.Time { return time.Time{} }, false, fsstore.ErrConflict},
		{"create/own-created", func(r *fsstore.Session) time.Time { return r.Created.Add(time.Second) }, false, fsstore.ErrConflict},
		{"create/expired", func(*fsstore.Session) time.Time { return time.Time{} }, true, nil},
		{"update/read-it", func(r *fsstore.Session) time.Time { return r.Created }, false, nil},
	} {
		for _, cached := range []bool{false, true} {
			name := tc.name
			if cached {
				name += "/cached"
			}
			t.Run(name, func(t *testing.T) {
				clk := fakeclock.New()
				opts := []fsstore.Option{fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour)}
				if cached {
					opts = append(opts, fsstore.WithCache(16, 1<<20))
				}
				s := openDir(t, t.TempDir(), opts...)
				id := newID(t)
				writeVersionZero(t, s, id, "live")
				read, err := s.Load(ctx, id)
				if err != nil || read.Version != 0 || string(read.Data) != "live" {
					t.Fatalf("Load of the version 0 record: %v, version %v", err, read)
				}
				if tc.expire {
					clk.Advance(2 * time.Hour)
				}
				p := s.RecordPathForTest(id)
				before, _ := os.ReadFile(p)
				sess := &fsstore.Session{ID: id, Data: []byte("swapped"), Created: tc.created(read)}
				err = s.CompareAndSwap(ctx, sess)
				if tc.want != nil {
					if !errors.Is(err, tc.want) {
						t.Fatalf("CompareAndSwap expecting version 0 over a live record at version 0: %v, want %v", err, tc.want)
					}
					if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
						t.Fatalf("a refused swap changed the record")
					}
					return
				}
				if err != nil {
					t.Fatalf("CompareAndSwap: %v", err)
				}
				if sess.Version == 0 {
					t.Fatalf("the swap wrote version 0 again")
				}
				got, err := s.Load(ctx, id)
				if err != nil || string(got.Data) != "swapped" || got.Version != sess.Version {
					t.Fatalf("after the swap: %v, %v; want data %q version %d", err, got, "swapped", sess.Version)
				}
				// A second caller that read the version 0 record now
				// conflicts: the record it read is gone.
				again := &fsstore.Session{ID: id, Data: []byte("again"), Created: read.Created}
				if err := s.CompareAndSwap(ctx, again); !errors.Is(err, fsstore.ErrConflict) {
					t.Fatalf("second swap from the version 0 record: %v, want ErrConflict", err)
				}
			})
		}
	}
}

// writeVersionZero saves id with payload data and rewrites its record's
// version to 0, as builds before random starting versions left it after a
// save from the top of the range.
func writeVersionZero(t *testing.T, s *fsstore.Store, id, data string) {
	t.Helper()
	if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte(data)}); err != nil {
		t.Fatal(err)
	}
	p := s.RecordPathForTest(id)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h, pl, err := record.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	h.Version = 0
	// A new file (another inode), as a save writes: a cache entry of
	// the first one is not taken for it.
	tmp := p + ".v0"
	if err := os.WriteFile(tmp, record.Append(nil, &h, pl), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}
