package scsstore_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestDestroyWithoutSessionWritesNothing: a log out by a visitor who has
// no session (a bot, a second click) destroys a session scs never
// stored, whose token is empty. With HashTokenInStore scs hands the store
// the hash of the empty token, one name for every such visitor: a
// tombstone there would be a write, under one lock that all of them
// across the fleet would queue for, where scs's own stores delete
// nothing. The guard has nothing to guard: no session has that token.
func TestDestroyWithoutSessionWritesNothing(t *testing.T) {
	for _, hash := range []bool{false, true} {
		dir := t.TempDir()
		st, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		sm := scs.New()
		sm.Store = scsstore.New(st)
		sm.HashTokenInStore = hash
		h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := sm.Destroy(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/logout", nil))
		if w.Code != http.StatusOK {
			t.Errorf("hash=%t: log out without a session: %d %s", hash, w.Code, w.Body)
		}
		if files := webtest.RecordFiles(t, dir); len(files) != 0 {
			t.Errorf("hash=%t: log out without a session wrote %d record(s); want none", hash, len(files))
		}
	}
}

// TestNoTokenHashed: the name the store skips is scs's hash of the empty
// token, as scs computes it.
func TestNoTokenHashed(t *testing.T) {
	sum := sha256.Sum256(nil)
	if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != scsstore.NoTokenHashed {
		t.Fatalf("scs's hash of the empty token is %s; the store skips %s", got, scsstore.NoTokenHashed)
	}
}

// TestNoTokenHashedIsNoSession: Delete skips the hash of the empty token
// on the grounds that no session has it, so no Commit may give it one: a
// caller of the store's API that committed under it (a tool copying
// sessions, a hash computed from an empty form field) would find its
// Delete a silent no-op, a log out that left the session valid.
func TestNoTokenHashedIsNoSession(t *testing.T) {
	for name, opts := range map[string][]scsstore.Option{
		"guard":    nil,
		"no guard": {scsstore.WithoutDeleteGuard()},
	} {
		st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		s := scsstore.New(st, opts...)
		if err := s.Commit(scsstore.NoTokenHashed, []byte("x"), time.Now().Add(time.Hour)); !errors.Is(err, fsstore.ErrInvalidID) {
			t.Errorf("%s: Commit under the hash of the empty token: %v; want an error matching fsstore.ErrInvalidID", name, err)
		}
		if err := s.Delete(scsstore.NoTokenHashed); err != nil {
			t.Errorf("%s: Delete: %v", name, err)
		}
		if _, found, err := s.Find(scsstore.NoTokenHashed); found || err != nil {
			t.Errorf("%s: Find after Delete: found=%t, %v; want no session", name, found, err)
		}
		if err := s.Commit(scsstore.NoTokenHashed, []byte("x"), time.Now().Add(-time.Hour)); err != nil {
			t.Errorf("%s: an expired Commit under it, a delete of no session: %v", name, err)
		}
	}
}
