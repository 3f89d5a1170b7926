package scsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// TestNilClockIsSystemClock: WithClock(nil) is time.Now, as leaving the
// option out is, the rule of every clock option of the module: a session
// committed with a deadline an hour from now is found. It failed every
// call, where httpsession took nil for time.Now.
func TestNilClockIsSystemClock(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := scsstore.New(st, scsstore.WithClock(nil))
	ctx := context.Background()
	tok := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	if err := s.CommitCtx(ctx, tok, []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	b, found, err := s.FindCtx(ctx, tok)
	if err != nil || !found || string(b) != "x" {
		t.Fatalf("Find: %q, %v, %v; want the session committed", b, found, err)
	}
}
