package scsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/webtest"
)

// conformanceStores returns scs's memstore, the contract's reference, next
// to scsstore with its delete guard and without, each empty.
// iterable is what the stores compared here implement.
type iterable interface {
	scs.Store
	scs.IterableStore
}

func conformanceStores(t *testing.T) map[string]iterable {
	t.Helper()
	mem := memstore.NewWithCleanupInterval(0)
	stores := map[string]iterable{"memstore": mem}
	for name, opts := range map[string][]scsstore.Option{
		"scsstore":          nil,
		"scsstore,no guard": {scsstore.WithoutDeleteGuard()},
	} {
		st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[name] = scsstore.New(st, opts...)
	}
	return stores
}

// badTokens are tokens no scs store issued: what a client can put in the
// session cookie.
var badTokens = []string{
	"",
	"short",
	"../../../../../../etc/passwd",
	"session/../../outside-the-directory",
	strings.Repeat("A", 1<<16),
	"ünïcødé-ünïcødé-ünïcødé-ünïcødé",
	"nul\x00nul\x00nul\x00nul\x00nul\x00",
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.",
}

// TestStoreConformsToMemstore drives each store through the same calls
// and compares what they return: Find of a missing, expired, committed and
// deleted token, Commit with an expiry in the past, Delete of a missing
// token, All, and tokens no store issued. The stores run on the real
// clock, as memstore has no other; every expiry is an hour from now,
// either way, so no step is near one.
func TestStoreConformsToMemstore(t *testing.T) {
	ctx := context.Background()
	token := func(i int) string { return fmt.Sprintf("tok%d-%s", i, strings.Repeat("x", 40)) }
	type step struct {
		op      string // find, commit, delete, all
		tok     int
		data    string
		expires time.Duration // from now, for commit
		// not: the adapters deliberately differ here (the reason).
		not string
	}
	hour := time.Hour
	scenarios := []struct {
		name  string
		steps []step
	}{
		{"find missing", []step{{op: "find", tok: 1}, {op: "all"}}},
		{"commit and find", []step{{op: "commit", tok: 1, data: "a", expires: hour}, {op: "find", tok: 1}, {op: "all"}}},
		{"commit replaces", []step{{op: "commit", tok: 1, data: "a", expires: hour}, {op: "commit", tok: 1, data: "b", expires: hour}, {op: "find", tok: 1}}},
		{"commit expired", []step{{op: "commit", tok: 1, data: "a", expires: -hour}, {op: "find", tok: 1}, {op: "all"}}},
		{"commit expired over live", []step{
			{op: "commit", tok: 1, data: "a", expires: hour}, {op: "commit", tok: 1, data: "b", expires: -hour},
			{op: "find", tok: 1}, {op: "all"},
			{op: "commit", tok: 1, data: "c", expires: hour}, {op: "find", tok: 1},
		}},
		{"delete missing", []step{{op: "delete", tok: 1}, {op: "delete", tok: 1}, {op: "find", tok: 1}, {op: "all"}}},
		{"delete then find", []step{
			{op: "commit", tok: 1, data: "a", expires: hour}, {op: "commit", tok: 2, data: "b", expires: hour},
			{op: "delete", tok: 1}, {op: "find", tok: 1}, {op: "find", tok: 2}, {op: "all"},
		}},
		{"commit after delete", []step{
			{op: "commit", tok: 1, data: "a", expires: hour}, {op: "delete", tok: 1},
			// A request still under way commits after the log out: the
			// delete guard keeps it out (see the package doc).
			{op: "commit", tok: 1, data: "late", expires: hour, not: "the delete guard"},
			{op: "find", tok: 1, not: "the delete guard"}, {op: "all", not: "the delete guard"},
		}},
		{"empty data", []step{{op: "commit", tok: 1, data: "", expires: hour}, {op: "find", tok: 1}, {op: "all"}}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			logs := map[string][]string{}
			for name, s := range conformanceStores(t) {
				for _, st := range sc.steps {
					var line string
					switch st.op {
					case "find":
						b, found, err := s.Find(token(st.tok))
						if cs, ok := s.(scs.CtxStore); ok {
							b, found, err = cs.FindCtx(ctx, token(st.tok))
						}
						line = fmt.Sprintf("find %d: %q %t %v", st.tok, b, found, err)
					case "commit":
						line = fmt.Sprintf("commit %d: %v", st.tok, s.Commit(token(st.tok), []byte(st.data), time.Now().Add(st.expires)))
					case "delete":
						line = fmt.Sprintf("delete %d: %v", st.tok, s.Delete(token(st.tok)))
					case "all":
						m, err := s.All()
						var kv []string
						for k, v := range m {
							kv = append(kv, fmt.Sprintf("%s=%q", k[:4], v))
						}
						slices.Sort(kv)
						line = fmt.Sprintf("all: nil=%t %v %v", m == nil, kv, err)
					}
					logs[name] = append(logs[name], line)
				}
			}
			for name, got := range logs {
				for i, want := range logs["memstore"] {
					switch {
					case name == "scsstore" && sc.steps[i].not != "":
					case got[i] != want:
						t.Errorf("%s, step %d differs from memstore:\n  memstore: %s\n  %s: %s", name, i, want, name, got[i])
					}
				}
			}
			if guarded := logs["scsstore"]; slices.ContainsFunc(sc.steps, func(s step) bool { return s.not != "" }) {
				// With the guard the late commit is dropped: found=false.
				if last := guarded[len(guarded)-2]; !strings.Contains(last, "false <nil>") {
					t.Errorf("with the delete guard, a commit after a delete was saved: %s", last)
				}
			}
		})
	}
	t.Run("tokens no store issued", func(t *testing.T) {
		for name, s := range conformanceStores(t) {
			for i, tok := range badTokens {
				if b, found, err := s.Find(tok); b != nil || found || err != nil {
					t.Errorf("%s: Find(bad token %d) = %q, %t, %v; want nil, false, nil", name, i, b, found, err)
				}
				if err := s.Delete(tok); err != nil {
					t.Errorf("%s: Delete(bad token %d) = %v; want nil", name, i, err)
				}
				if err := s.Commit(tok, []byte("x"), time.Now().Add(-time.Hour)); err != nil {
					t.Errorf("%s: Commit(bad token %d, expired) = %v; want nil", name, i, err)
				}
				// Deliberate: memstore stores under any token, scsstore only
				// under one fsstore.ValidID accepts, as every token scs
				// issues is (Commit's doc).
				err := s.Commit(tok, []byte("x"), time.Now().Add(time.Hour))
				if _, mem := s.(*memstore.MemStore); mem && err != nil || !mem && !errors.Is(err, fsstore.ErrInvalidID) {
					t.Errorf("%s: Commit(bad token %d) = %v", name, i, err)
				}
			}
		}
	})
}

// TestManagerConformsToMemstore runs scs's session manager over HTTP on
// memstore and on scsstore and compares what the browser gets: the
// cookie's attributes, the values read back, a log out (Destroy) and a log
// in (RenewToken), and cookies no store issued.
func TestManagerConformsToMemstore(t *testing.T) {
	run := func(t *testing.T, store scs.Store, idle time.Duration, hash bool) []string {
		sm := scs.New()
		sm.Store = store
		sm.HashTokenInStore = hash
		sm.Lifetime = 2 * time.Hour
		sm.IdleTimeout = idle
		sm.Cookie.Domain = "example.com"
		sm.Cookie.Path = "/app"
		sm.Cookie.Secure = true
		sm.Cookie.SameSite = http.SameSiteStrictMode
		sm.Cookie.Partitioned = true
		mux := http.NewServeMux()
		mux.HandleFunc("/app/put", func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "user", "alice") })
		mux.HandleFunc("/app/get", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, sm.GetString(r.Context(), "user")) })
		mux.HandleFunc("/app/pop", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, sm.PopString(r.Context(), "user")) })
		mux.HandleFunc("/app/renew", func(w http.ResponseWriter, r *http.Request) {
			if err := sm.RenewToken(r.Context()); err != nil {
				http.Error(w, err.Error(), 500)
			}
		})
		mux.HandleFunc("/app/destroy", func(w http.ResponseWriter, r *http.Request) {
			if err := sm.Destroy(r.Context()); err != nil {
				http.Error(w, err.Error(), 500)
			}
		})
		mux.HandleFunc("/app/merge", func(w http.ResponseWriter, r *http.Request) {
			if err := sm.MergeSession(r.Context(), r.URL.Query().Get("from")); err != nil {
				http.Error(w, err.Error(), 500)
			}
		})
		mux.HandleFunc("/app/cart", func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "cart", "book") })
		mux.HandleFunc("/app/getcart", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, sm.GetString(r.Context(), "cart")) })
		h := sm.LoadAndSave(mux)
		var log []string
		do := func(path, cookie string) (string, string) {
			r := httptest.NewRequest("GET", "https://example.com"+path, nil)
			if cookie != "" {
				r.Header.Set("Cookie", "session="+cookie)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			res := w.Result()
			route, _, _ := strings.Cut(path, "?") // the query holds a token: each store's own
			line := fmt.Sprintf("%s: %d %q", route, res.StatusCode, w.Body.String())
			next := cookie
			for _, c := range res.Cookies() {
				exp := webtest.ExpiresIn(c)
				line += fmt.Sprintf(" cookie %s empty=%t same=%t path=%q domain=%q maxage=%d expires=%s secure=%t httponly=%t samesite=%d partitioned=%t",
					c.Name, c.Value == "", c.Value == cookie, c.Path, c.Domain, c.MaxAge, exp, c.Secure, c.HttpOnly, c.SameSite, c.Partitioned)
				next = c.Value
			}
			log = append(log, line)
			return next, w.Body.String()
		}
		tok, _ := do("/app/put", "")
		do("/app/get", tok)
		renewed, _ := do("/app/renew", tok)
		do("/app/get", tok) // the token the log in retired
		do("/app/get", renewed)
		do("/app/pop", renewed)
		do("/app/get", renewed)
		do("/app/put", renewed)
		do("/app/destroy", renewed)
		do("/app/get", renewed) // a replayed cookie after the log out
		// A guest's cart merged into the session of a log in.
		guest, _ := do("/app/cart", "")
		user, _ := do("/app/put", "")
		do("/app/merge?from="+guest, user)
		do("/app/getcart", user)
		do("/app/getcart", guest) // merged away
		do("/app/merge?from="+guest, user)
		for _, bad := range badTokens {
			if strings.ContainsAny(bad, "\x00") || strings.ContainsFunc(bad, func(r rune) bool { return r > 0x7e }) {
				continue // not a value a browser sends in a Cookie header
			}
			do("/app/get", bad)
		}
		return log
	}
	for _, c := range []struct {
		idle time.Duration
		hash bool
	}{{0, false}, {30 * time.Minute, false}, {0, true}} {
		idle := c.idle
		want := run(t, memstore.NewWithCleanupInterval(0), idle, c.hash)
		// The reference itself: the log in's session has the guest's cart.
		if !slices.ContainsFunc(want, func(l string) bool { return strings.HasPrefix(l, `/app/getcart: 200 "book"`) }) {
			t.Fatalf("memstore did not merge the guest's cart:\n%s", strings.Join(want, "\n"))
		}
		for name, s := range conformanceStores(t) {
			if name == "memstore" {
				continue
			}
			t.Run(fmt.Sprintf("%s,idle=%v,hash=%t", name, idle, c.hash), func(t *testing.T) {
				got := run(t, s, idle, c.hash)
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("request %d differs from memstore:\n  memstore: %s\n  %s: %s", i, want[i], name, got[i])
					}
				}
			})
		}
	}
}
