package fsstore_test

import (
	"context"
	"os"
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
