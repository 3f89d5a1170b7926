package scsstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
)

// TestClientHangupConformsToMemstore: a client that hangs up while its
// request runs (a tab closed, a second click) ends the request's context
// before scs commits the session or the handler logs the user out. scs's
// memstore and Redis stores take no context and find, save, or delete,
// all the same: a cart the handler filled is there on the next visit, a
// guest's cart merged at a log in is the user's, and a log out clicked
// just before closing the browser ends the session. The
// handlers here end the request's context themselves, as net/http does
// when the connection closes, after the session was loaded.
func TestClientHangupConformsToMemstore(t *testing.T) {
	run := func(t *testing.T, store scs.Store) []string {
		sm := scs.New()
		sm.Store = store
		sm.ErrorFunc = func(w http.ResponseWriter, _ *http.Request, err error) { http.Error(w, "store failed", 500) }
		hangup := func(r *http.Request) { r.Context().Value(hangupKey{}).(context.CancelFunc)() }
		mux := http.NewServeMux()
		mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "user", "alice") })
		mux.HandleFunc("/cart", func(w http.ResponseWriter, r *http.Request) {
			hangup(r)
			sm.Put(r.Context(), "cart", "book")
		})
		mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, sm.GetString(r.Context(), "user")+"/"+sm.GetString(r.Context(), "cart"))
		})
		mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
			hangup(r)
			if err := sm.Destroy(r.Context()); err != nil {
				http.Error(w, "destroy failed", 500)
			}
		})
		mux.HandleFunc("/guest", func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "cart", "pen") })
		mux.HandleFunc("/merge", func(w http.ResponseWriter, r *http.Request) {
			hangup(r)
			if err := sm.MergeSession(r.Context(), r.URL.Query().Get("from")); err != nil {
				http.Error(w, "merge failed", 500)
			}
		})
		mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
			hangup(r)
			if err := sm.RenewToken(r.Context()); err != nil {
				http.Error(w, "renew failed", 500)
			}
		})
		h := sm.LoadAndSave(mux)
		var log []string
		do := func(path, cookie string) string {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := httptest.NewRequestWithContext(context.WithValue(ctx, hangupKey{}, cancel), "GET", "https://example.com"+path, nil)
			if cookie != "" {
				r.Header.Set("Cookie", "session="+cookie)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			next := cookie
			for _, c := range w.Result().Cookies() {
				next = c.Value
			}
			route, _, _ := strings.Cut(path, "?") // the query holds a token: each store's own
			log = append(log, fmt.Sprintf("%s: %d %q cookie same=%t", route, w.Code, w.Body.String(), next == cookie))
			return next
		}
		tok := do("/login", "")
		do("/cart", tok)
		do("/get", tok)
		renewed := do("/renew", tok)
		do("/get", tok) // the token the renewal retired
		do("/get", renewed)
		do("/logout", renewed)
		do("/get", renewed) // the cookie the closed browser kept
		// A guest's cart merged into the session of a log in.
		guest := do("/guest", "")
		user := do("/login", "")
		do("/merge?from="+guest, user)
		do("/get", user)
		do("/get", guest) // merged away
		return log
	}
	want := run(t, memstore.NewWithCleanupInterval(0))
	for name, s := range conformanceStores(t) {
		if name == "memstore" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			got := run(t, s)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("request %d differs from memstore:\n  memstore: %s\n  %s: %s", i, want[i], name, got[i])
				}
			}
		})
	}
}

type hangupKey struct{}

// TestCommitPastDeadlineSavesNothing: a commit outlives the client's hang
// up, not the request's deadline (http.TimeoutHandler has answered).
func TestCommitPastDeadlineSavesNothing(t *testing.T) {
	for name, s := range conformanceStores(t) {
		if name == "memstore" {
			continue
		}
		cs := s.(scs.CtxStore)
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		tok := newToken(t)
		if err := cs.CommitCtx(ctx, tok, []byte("x"), time.Now().Add(time.Hour)); err == nil {
			t.Errorf("%s: a commit past the request's deadline succeeded", name)
		}
		if _, found, _ := s.Find(tok); found {
			t.Errorf("%s: a commit past the request's deadline saved the session", name)
		}
	}
}
