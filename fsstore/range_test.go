package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/forge"
)

// TestRange: Range decrypts and yields every live record, skips and counts
// expired, damaged, forged and undecryptable ones, stops when asked, and
// IsFor ties a record to its ID only.
func TestRange(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	dir := t.TempDir()
	retired, cur := mustKey(t, 1), mustKey(t, 2)
	opts := []fsstore.Option{fsstore.WithClock(clock.Now), fsstore.WithIdleTimeout(time.Hour)}
	old, err := fsstore.Open(dir, append(opts, fsstore.WithKeys(retired))...)
	if err != nil {
		t.Fatal(err)
	}
	undecryptable := newID(t)
	if err := old.Save(ctx, &fsstore.Session{ID: undecryptable, Data: []byte("under key 1")}); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s, err := fsstore.Open(dir, append(opts, fsstore.WithKeys(cur))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live := map[string]string{}
	for i := 0; i < 5; i++ {
		id := newID(t)
		live[id] = "payload " + id
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(live[id])}); err != nil {
			t.Fatal(err)
		}
	}
	expired := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: expired, Data: []byte("short"), Idle: time.Minute}); err != nil {
		t.Fatal(err)
	}
	damaged := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: damaged, Data: []byte("to be damaged")}); err != nil {
		t.Fatal(err)
	}
	p := forge.Path(dir, damaged, 1)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := forge.Write(dir, forge.Record{ID: newID(t), Payload: forgedAdmin}); err != nil {
		t.Fatal(err)
	}
	// The forged record carries the real clock's mtime; keep the fake
	// clock past it so that only the record saved with a one-minute idle
	// timeout has expired.
	clock.Advance(2 * time.Minute)

	got := map[string]string{}
	st, err := s.Range(ctx, func(r *fsstore.Record) bool {
		if r.ID != "" {
			t.Errorf("Range filled in an ID")
		}
		for id := range live {
			if r.IsFor(id) {
				got[id] = string(r.Data)
			}
		}
		if r.IsFor(undecryptable) || r.IsFor(expired) || r.IsFor("not-even-a-valid-id") {
			t.Errorf("IsFor matched the wrong ID")
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := fsstore.RangeStats{Scanned: 9, Live: 5, Expired: 1, Corrupt: 2, UnknownKey: 1}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if len(got) != len(live) {
		t.Errorf("Range yielded %d of %d live sessions", len(got), len(live))
	}
	for id, data := range live {
		if got[id] != data {
			t.Errorf("session %s: %q, want %q", id[:6], got[id], data)
		}
	}

	n := 0
	st, err = s.Range(ctx, func(*fsstore.Record) bool { n++; return n < 2 })
	if err != nil || n != 2 || st.Live != 2 {
		t.Errorf("stopping after 2: called %d times, %+v, %v", n, st, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Range(cctx, func(*fsstore.Record) bool { return true }); err == nil {
		t.Error("Range with a cancelled context returned nil")
	}
}

// Range hands each session over once, even when a sweep moves its record
// between its name and the aside name while Range lists the shard: a name
// created during a listing read in chunks may be listed later in it (ext4
// lists by the name's hash), so the record showed up once under each name.
// A shard of 1,000 records is read in several chunks; the record picked
// lists early under one name and late under the other.
func TestRangeYieldsEachSessionOnce(t *testing.T) {
	const n = 1000
	for _, tc := range []struct {
		name string
		// aside: the record starts aside (a sweep died after its move).
		aside bool
		// move runs when Range hands the record over: a sweep puts it
		// back, or moves it aside (it was judged expired by the sweep's
		// scan and touched since: the sweep will put it back).
		move func(t *testing.T, s *fsstore.Store, p, aside string)
	}{
		{"put back while listed", true, func(t *testing.T, s *fsstore.Store, p, aside string) {
			if st, err := s.Sweep(context.Background(), fsstore.SweepOptions{}); err != nil || st.Restored != 1 {
				t.Fatalf("sweep: %+v, %v; want the record put back", st, err)
			}
		}},
		{"moved aside while listed", false, func(t *testing.T, s *fsstore.Store, p, aside string) {
			if err := os.Rename(p, aside); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTemp(t, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Hour))
			ids := make([]string, n)
			for i := range ids {
				ids[i] = newID(t)
				if err := s.Save(ctx, &fsstore.Session{ID: ids[i], Data: []byte("v")}); err != nil {
					t.Fatal(err)
				}
			}
			data := filepath.Dir(s.RecordPathForTest(ids[0]))
			order := func() map[string]int { return listingOrder(t, data) }
			pos := order()
			picked := ""
			for tries, id := range ids {
				if tries > 200 {
					break
				}
				p := s.RecordPathForTest(id)
				aside := filepath.Join(data, ".tmp-gc-"+filepath.Base(p))
				if err := os.Rename(p, aside); err != nil {
					t.Fatal(err)
				}
				first, later := order()[filepath.Base(aside)], pos[filepath.Base(p)]
				if !tc.aside {
					first, later = later, first
				}
				if first < n*2/5 && later >= n*4/5 {
					picked = id
					if tc.aside {
						break
					}
				}
				if err := os.Rename(aside, p); err != nil {
					t.Fatal(err)
				}
				if picked != "" {
					break
				}
			}
			if picked == "" {
				t.Skip("this file system lists no record's two names far enough apart")
			}
			p := s.RecordPathForTest(picked)
			aside := filepath.Join(data, ".tmp-gc-"+filepath.Base(p))
			seen := map[string]int{}
			st, err := s.Range(ctx, func(r *fsstore.Record) bool {
				for _, id := range ids {
					if r.IsFor(id) {
						seen[id]++
						if id == picked && seen[id] == 1 {
							tc.move(t, s, p, aside)
						}
						break
					}
				}
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if seen[id] > 1 {
					t.Errorf("Range handed session %d over %d times (%+v)", slices.Index(ids, id), seen[id], st)
				}
			}
			if st.Live != int64(len(seen)) || st.Scanned != n {
				t.Errorf("Range counted %d live of %d scanned, handed over %d sessions of %d", st.Live, st.Scanned, len(seen), n)
			}
		})
	}
}

// A panic in Range's callback reaches Range's caller, where a recover (a
// web server's, a middleware's) handles it, on every store: the callback
// runs on the walk's goroutine, and on an unbounded store (the default on
// a local disk) the panic ended the process there.
func TestRangeCallbackPanicReachesCaller(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []fsstore.Option
	}{
		{"unbounded", nil},
		{"bounded", []fsstore.Option{fsstore.WithMaxInFlight(4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTemp(t, tc.opts...)
			for range 3 {
				if err := s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("v")}); err != nil {
					t.Fatal(err)
				}
			}
			calls := 0
			func() {
				defer func() {
					if p := recover(); p != "boom" {
						t.Errorf("recovered %v, want the callback's panic", p)
					}
				}()
				s.Range(ctx, func(*fsstore.Record) bool { calls++; panic("boom") })
				t.Error("Range returned after its callback panicked")
			}()
			if calls != 1 {
				t.Errorf("callback called %d times, want 1: none after its panic", calls)
			}
			if _, err := s.Range(ctx, func(*fsstore.Record) bool { return true }); err != nil {
				t.Errorf("Range after a panic: %v", err)
			}
		})
	}
}

// listingOrder returns each name's position in dir's listing, the order
// in which a sweep or Range reading dir meets its entries.
func listingOrder(t *testing.T, dir string) map[string]int {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	pos := make(map[string]int, len(names))
	for i, name := range names {
		pos[name] = i
	}
	return pos
}
