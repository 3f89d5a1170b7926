package fsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestBreakerRowNotEndedByCachedAttributes: on macOS and FreeBSD the NFS
// client's attribute cache may answer the fetch that judges a cache hit
// (WithCache) and Health's, for up to acregmax, also while the server
// answers nothing. Such a success is no answer of the server's: it must
// not end a row of timeouts, or in an outage every cache hit, or a load
// balancer's health check, kept the breaker closed. Here the store
// takes its fetches for such ones (SetStaleStatForTest).
func TestBreakerRowNotEndedByCachedAttributes(t *testing.T) {
	between := []struct {
		name string
		op   func(t *testing.T, s *fsstore.Store, l *fsstore.Locked, id string)
	}{
		{"Load", func(t *testing.T, s *fsstore.Store, _ *fsstore.Locked, id string) { mustLoad(t, s, id, "cached") }},
		{"Locked.Load", func(t *testing.T, _ *fsstore.Store, l *fsstore.Locked, _ string) {
			if sess, err := l.Load(context.Background()); err != nil || string(sess.Data) != "cached" {
				t.Fatalf("Locked.Load: %v", err)
			}
		}},
		{"Health", func(t *testing.T, s *fsstore.Store, _ *fsstore.Locked, _ string) {
			if err := s.Health(context.Background()); err != nil {
				t.Fatalf("Health: %v", err)
			}
		}},
	}
	for _, tt := range between {
		t.Run(tt.name, func(t *testing.T) {
			f := newBoundFixture(t, fsstore.WithBreaker(2, time.Hour), fsstore.WithCache(16, 1<<20))
			f.s.SetStaleStatForTest()
			ctx := context.Background()
			id := newID(t)
			mustSave(t, f.s, id, "cached")
			mustLoad(t, f.s, id, "cached") // into the cache, from the file
			l, err := f.s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			if sess, err := l.Load(ctx); err != nil || string(sess.Data) != "cached" {
				t.Fatalf("Locked.Load: %v", err)
			}
			giveUp := func() (release func()) {
				t.Helper()
				return f.giveUp(t, "save", func(ctx context.Context) error {
					return f.s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")})
				})
			}
			defer giveUp()()
			tt.op(t, f.s, l, id)
			defer giveUp()()
			if st := f.s.Breaker(); st != fsstore.BreakerOpen {
				t.Fatalf("breaker %v after 2 saves without an answer, a %s on cached attributes between them, want open", st, tt.name)
			}
		})
	}
}
