package scsstore_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// phased is the store of each release of docs/migrating.md's migration
// from Redis under a rolling deploy: Find in old only (readOldOnly:
// release 1), or in sessfs then old (releases 2 and 3); Commit to both
// (commitToOld: releases 1 and 2) or to sessfs only (release 3, the
// transition store); Delete from both always.
type phased struct {
	sessfs      *scsstore.Store
	old         scs.Store
	readOldOnly bool
	commitToOld bool
}

func (s phased) Find(token string) ([]byte, bool, error) {
	if s.readOldOnly {
		return s.old.Find(token)
	}
	if b, found, err := s.sessfs.Find(token); found || err != nil {
		return b, found, err
	}
	return s.old.Find(token)
}

func (s phased) Commit(token string, b []byte, expiry time.Time) error {
	if s.commitToOld {
		if err := s.old.Commit(token, b, expiry); err != nil {
			return err
		}
	}
	return s.sessfs.Commit(token, b, expiry)
}

func (s phased) Delete(token string) error {
	return errors.Join(s.old.Delete(token), s.sessfs.Delete(token))
}

// TestTransitionDuringRollingDeploy: while a rolling deploy has hosts of
// two releases serve one user in turn, each sees what the other saved,
// and a log out on either holds on both, for every pair of consecutive
// releases of the document's sequence (the old store alone, then releases
// 1, 2 and 3), both ways. Releases 2 and 3 (the transition store of the
// document's single-release migration) next to hosts still on the old
// store lose the updates made on the other side and bring a user logged
// out on an old host back on a new one: they are checked to do so, as the
// document says.
func TestTransitionDuringRollingDeploy(t *testing.T) {
	old := memstore.NewWithCleanupInterval(0)
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ours := scsstore.New(st)
	releases := []scs.Store{
		old,
		phased{sessfs: ours, old: old, readOldOnly: true, commitToOld: true},
		phased{sessfs: ours, old: old, commitToOld: true},
		phased{sessfs: ours, old: old},
	}
	apps := make([]*httptest.Server, len(releases))
	for i, s := range releases {
		apps[i] = migrationApp(t, s)
	}
	type pair struct{ a, b int }
	for _, tc := range []struct {
		p    pair
		safe bool
	}{
		{pair{0, 1}, true}, {pair{1, 0}, true},
		{pair{1, 2}, true}, {pair{2, 1}, true},
		{pair{2, 3}, true}, {pair{3, 2}, true},
		{pair{0, 2}, false}, {pair{0, 3}, false}, // two releases apart
	} {
		t.Run(fmt.Sprintf("release %d then %d", tc.p.a, tc.p.b), func(t *testing.T) {
			a, b := apps[tc.p.a], apps[tc.p.b]
			_, c := getUser(t, a, "/login?user=alice", nil)
			getUser(t, b, "/put?item=x", c)
			seenA, _ := getUser(t, a, "/", c)
			getUser(t, a, "/put?item=y", c)
			seenB, _ := getUser(t, b, "/", c)
			getUser(t, a, "/logout", c)
			after, _ := getUser(t, b, "/", c)
			got := seenA == "alice x" && seenB == "alice y" && after == ""
			if got != tc.safe {
				t.Errorf("saves seen across: %q then %q; after a log out on release %d, release %d reads %q; want safe %v",
					seenA, seenB, tc.p.a, tc.p.b, after, tc.safe)
			}
		})
	}
}
