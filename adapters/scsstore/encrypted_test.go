package scsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestAllEncryptedStore: All lists the sessions of an encrypted store (it
// used to parse records itself and return an empty map with no error).
func TestAllEncryptedStore(t *testing.T) {
	clk := fakeclock.New()
	key, err := fsstore.NewKey(1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(t.TempDir(), fsstore.WithKeys(key), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := scsstore.New(st, scsstore.WithClock(clk.Now))
	want := map[string]string{}
	for i := 0; i < 3; i++ {
		tok := newToken(t)
		want[tok] = "data " + tok
		if err := s.CommitCtx(context.Background(), tok, []byte(want[tok]), clk.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	gone := newToken(t)
	if err := s.Commit(gone, []byte("expires"), clk.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	all, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Fatalf("All returned %d sessions, want %d", len(all), len(want))
	}
	for tok, data := range want {
		if string(all[tok]) != data {
			t.Errorf("token %s: %q, want %q", tok[:6], all[tok], data)
		}
	}
}
