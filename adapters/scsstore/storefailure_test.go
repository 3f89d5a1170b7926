package scsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/webtest"
)

// A store failure that is not the record's own (here ENOTDIR: the
// session's shard directory replaced by a file, a failure no list of
// passing errors names) is an error from Find, Commit and Delete, with the
// delete guard and without: found=false would give the user a new token
// (a log out), and a Delete (a log out) that reported success would leave
// the session valid under the cookie the browser may keep. Once the
// directory is back the session is there as it was saved.
func TestStoreFailureLeavesSession(t *testing.T) {
	for name, opts := range map[string][]scsstore.Option{
		"guard":    nil,
		"no guard": {scsstore.WithoutDeleteGuard()},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			clk := fakeclock.New()
			s := open(t, dir, clk, opts...)
			ctx := context.Background()
			tok := newToken(t)
			if err := s.CommitCtx(ctx, tok, []byte("saved"), clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			restore := webtest.BlockShard(t, dir)

			if _, found, err := s.FindCtx(ctx, tok); err == nil {
				t.Errorf("Find during the failure: found=%v, no error; want the store's error", found)
			}
			if err := s.CommitCtx(ctx, tok, []byte("overwritten"), clk.Now().Add(time.Hour)); err == nil {
				t.Error("Commit during the failure: no error")
			}
			if err := s.DeleteCtx(ctx, tok); err == nil {
				t.Error("Delete during the failure: no error")
			}

			restore()
			b, found, err := s.FindCtx(ctx, tok)
			if err != nil || !found || string(b) != "saved" {
				t.Errorf("once fixed: Find = %q, %v, %v; want the saved session", b, found, err)
			}
		})
	}
}
