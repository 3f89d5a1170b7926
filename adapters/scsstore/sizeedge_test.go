package scsstore_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestSizeLimitEdge holds that a Commit of the largest session the store
// takes finds back whole, NUL bytes and all, and one a byte larger fails
// with an error matching fsstore.ErrTooLarge and leaves the session saved
// before it as it was, iterable and guarded (the default) or neither.
func TestSizeLimitEdge(t *testing.T) {
	const limit = 256
	for _, iterable := range []bool{false, true} {
		clk := fakeclock.New()
		st, err := fsstore.Open(t.TempDir(), fsstore.WithClock(clk.Now), fsstore.WithMaxSize(limit), fsstore.WithDurability(fsstore.DurabilityNone))
		if err != nil {
			t.Fatal(err)
		}
		opts := []scsstore.Option{scsstore.WithClock(clk.Now)}
		if !iterable {
			opts = append(opts, scsstore.WithoutIteration(), scsstore.WithoutDeleteGuard())
		}
		s := scsstore.New(st, opts...)
		tok := newToken(t)
		expiry := clk.Now().Add(time.Hour)
		var prev []byte
		for n := 0; ; n++ {
			b := bytes.Repeat([]byte{'x', 0}, n)[:n]
			err := s.Commit(tok, b, expiry)
			if err != nil {
				if !errors.Is(err, fsstore.ErrTooLarge) || prev == nil {
					t.Fatalf("iterable %v: Commit of %d bytes: %v, want ErrTooLarge after some that fit", iterable, n, err)
				}
				break
			}
			if n > limit {
				t.Fatalf("iterable %v: Commit of %d bytes over a limit of %d saved", iterable, n, limit)
			}
			prev = b
			if got, _ := mustFind(t, s, tok); !bytes.Equal(got, b) {
				t.Fatalf("iterable %v: %d bytes committed, %d found", iterable, n, len(got))
			}
		}
		if got, _ := mustFind(t, s, tok); !bytes.Equal(got, prev) {
			t.Errorf("iterable %v: after a Commit over the limit, %d bytes found, want the %d saved before", iterable, len(got), len(prev))
		}
		st.Close()
	}
}
