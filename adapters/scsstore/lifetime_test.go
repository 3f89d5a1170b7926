package scsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// A session lives until the expiry scs gives it whatever the store's
// lifetime (fsstore.WithLifetime): scs's Lifetime is its absolute end, as
// the package doc says.
func TestStoreLifetimeDoesNotBoundExpiry(t *testing.T) {
	clk := fakeclock.New()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithClock(clk.Now), fsstore.WithLifetime(time.Hour), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := scsstore.New(st, scsstore.WithClock(clk.Now))
	ctx := context.Background()
	tok := newToken(t)
	if err := s.CommitCtx(ctx, tok, []byte("data"), clk.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	if b, found, err := s.FindCtx(ctx, tok); err != nil || !found || string(b) != "data" {
		t.Errorf("2 h after the commit, past the store's 1 h lifetime: Find = %q, %v, %v; want the session (expiry 24 h)", b, found, err)
	}
}
