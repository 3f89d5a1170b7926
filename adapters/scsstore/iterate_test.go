package scsstore_test

import (
	"context"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sessfs/sessfs/internal/fakeclock"
)

// An admin's "log this user out everywhere", a Destroy inside scs's
// Iterate, ends the user's session, except with HashTokenInStore: Iterate
// then takes the stored hash for the token and Destroy hashes it again, so
// the session stays and no error says so. scsstore behaves as memstore
// does either way; its All documents the limit.
func TestIterateDestroyUnderHashTokenInStore(t *testing.T) {
	for name, store := range map[string]func(t *testing.T) scs.Store{
		"memstore": func(*testing.T) scs.Store { return memstore.New() },
		"scsstore": func(t *testing.T) scs.Store { return open(t, t.TempDir(), fakeclock.New()) },
	} {
		for _, hashed := range []bool{false, true} {
			sm := scs.New()
			sm.Store = store(t)
			sm.HashTokenInStore = hashed
			ctx, err := sm.Load(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			sm.Put(ctx, "user", 4)
			token, _, err := sm.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = sm.Iterate(context.Background(), func(ctx context.Context) error {
				if sm.GetInt(ctx, "user") == 4 {
					return sm.Destroy(ctx)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s, HashTokenInStore %v: Iterate: %v", name, hashed, err)
			}
			ctx, err = sm.Load(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			if stayed := sm.GetInt(ctx, "user") == 4; stayed != hashed {
				t.Errorf("%s, HashTokenInStore %v: the session stayed: %v; want %v", name, hashed, stayed, hashed)
			}
		}
	}
}
