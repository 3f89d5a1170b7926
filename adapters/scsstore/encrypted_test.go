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

// TestFindRetiredKey: a session sealed with a key that is no longer
// configured is not found (scs then starts a new session), not an error
// that would fail every request of that user.
func TestFindRetiredKey(t *testing.T) {
	dir := t.TempDir()
	k1, _ := fsstore.NewKey(1)
	k2, _ := fsstore.NewKey(2)
	old, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	tok := newToken(t)
	if err := scsstore.New(old).Commit(tok, []byte("data"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	old.Close()
	st, err := fsstore.Open(dir, fsstore.WithKeys(k2))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, found, err := scsstore.New(st).Find(tok); found || err != nil {
		t.Fatalf("Find of a session under a retired key: found %v, err %v; want not found, no error", found, err)
	}
}
