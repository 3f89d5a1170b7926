package httpsession_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// seedSession saves vals as a new session through m and returns its ID.
func seedSession(t *testing.T, m *httpsession.Manager, vals map[string]any) string {
	t.Helper()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		for k, v := range vals {
			if err := s.Put(k, v); err != nil {
				t.Error(err)
			}
		}
	}))
	return mustCookie(t, do(t, h, "")).Value
}

// TestBuffersNeverCarryAnotherSession: a Manager reuses the buffers it
// reads records and encodes payloads into from one request to the next.
// Requests alternating between a large session and small ones, in every
// mode and store setting, with WithBufferReuse or without, each see
// exactly their own keys and values, and save exactly their own: nothing
// of the large session shows through the buffer it left behind.
func TestBuffersNeverCarryAnotherSession(t *testing.T) {
	key, err := fsstore.NewKey(1)
	if err != nil {
		t.Fatal(err)
	}
	stores := []struct {
		name  string
		opts  []fsstore.Option
		mopts []httpsession.Option
	}{
		{"plain", nil, nil},
		{"cache", []fsstore.Option{fsstore.WithCache(64, 1<<20)}, nil},
		{"encrypted", []fsstore.Option{fsstore.WithKeys(key)}, nil},
		{"bounded", []fsstore.Option{fsstore.WithMaxInFlight(4)}, nil},
		// Every buffer back to the pool, the session's own included.
		{"reuse", nil, []httpsession.Option{httpsession.WithBufferReuse()}},
		{"encrypted-reuse", []fsstore.Option{fsstore.WithKeys(key)}, []httpsession.Option{httpsession.WithBufferReuse()}},
	}
	for _, sc := range stores {
		for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly} {
			t.Run(fmt.Sprintf("%s/%v", sc.name, mode), func(t *testing.T) {
				e := newEnv(t, sc.opts, sc.mopts...)
				big := seedSession(t, e.m, map[string]any{"n": 0, "secret": strings.Repeat("S", 16<<10), "zz": "big"})
				small := seedSession(t, e.m, map[string]any{"n": 0, "a": "small"})
				empty := seedSession(t, e.m, map[string]any{"n": 0})
				want := map[string][]string{big: {"n", "secret", "zz"}, small: {"a", "n"}, empty: {"n"}}
				counts := map[string]int{}
				h := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := httpsession.FromContext(r.Context())
					n := s.GetInt("n")
					if mode != httpsession.ReadOnly {
						n++
						if err := s.Put("n", n); err != nil {
							t.Error(err)
						}
					}
					fmt.Fprintf(w, "%d %s", n, strings.Join(s.Keys(), ","))
				}))
				for i, id := range []string{big, small, big, empty, small, empty, big, small} {
					if mode != httpsession.ReadOnly {
						counts[id]++
					}
					resp := do(t, h, id)
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, body(t, resp))
					}
					if got, w := body(t, resp), fmt.Sprintf("%d %s", counts[id], strings.Join(want[id], ",")); got != w {
						t.Fatalf("request %d: session answered %q, want %q", i, got, w)
					}
				}
				for _, id := range []string{small, empty} {
					sess, err := e.st.Load(t.Context(), id)
					if err != nil {
						t.Fatal(err)
					}
					if bytes.Contains(sess.Data, []byte("SSS")) || bytes.Contains(sess.Data, []byte("zz")) {
						t.Fatalf("session %v saved the large session's bytes: %.80q", want[id], sess.Data)
					}
				}
			})
		}
	}
}

// blockingValue is a session value whose decoding reports the bytes it was
// given, then waits: a Get that is still decoding when its request ends.
type blockingValue struct {
	got     chan<- []byte
	release <-chan struct{}
	after   []byte // the bytes it was given, read again once released
}

func (b *blockingValue) UnmarshalJSON(raw []byte) error {
	b.got <- bytes.Clone(raw)
	<-b.release
	b.after = bytes.Clone(raw)
	return nil
}

// TestSessionAfterItsRequest: code holding the session once its request
// ended (a goroutine the handler left running, a framework's error
// handler) reads the session's own values and cannot change it (Put fails
// with ErrReleased; Delete, Clear and PopString's removal change nothing
// in memory either), and a Get that was decoding a value when it ended keeps
// reading that value's bytes, while later requests, of other sessions,
// reuse the Manager's buffers.
func TestSessionAfterItsRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode httpsession.Mode
	}{
		{"exclusive", httpsession.Exclusive},
		{"optimistic", httpsession.Optimistic},
		{"read-only", httpsession.ReadOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			first := seedSession(t, e.m, map[string]any{"v": strings.Repeat("A", 4<<10), "n": 1})
			other := seedSession(t, e.m, map[string]any{"v": strings.Repeat("B", 4<<10), "n": 2})

			got := make(chan []byte)
			release := make(chan struct{})
			decoded := make(chan error)
			bv := &blockingValue{got: got, release: release}
			var kept *httpsession.Session
			h := e.m.Middleware(tc.mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				kept = s
				go func() {
					_, err := s.Get("v", bv)
					decoded <- err
				}()
				<-got // the Get is decoding: end the request under it
				fmt.Fprint(w, s.GetInt("n"))
			}))
			if got := body(t, do(t, h, first)); got != "1" {
				t.Fatalf("first request answered %q", got)
			}
			// Other sessions' requests, through the same Manager, read
			// and write records into its buffers meanwhile.
			for range 3 {
				if got := body(t, do(t, e.m.Handler(counter()), other)); got == "" {
					t.Fatal("no answer")
				}
			}
			close(release)
			if err := <-decoded; err != nil {
				t.Fatal(err)
			}
			if want := `"` + strings.Repeat("A", 4<<10) + `"`; string(bv.after) != want {
				t.Fatalf("the Get decoding when its request ended read %.40q..., want %.40q...", bv.after, want)
			}
			// Code that runs after the handler (a framework's error
			// handler, an outer middleware) still reads the session's
			// own values, never the bytes of the requests since.
			var v string
			if ok, err := kept.Get("v", &v); !ok || err != nil || v != strings.Repeat("A", 4<<10) {
				t.Fatalf("Get after the request ended = %v, %v (value %.20q...), want the session's own value", ok, err, v)
			}
			if n := kept.GetInt("n"); n != 1 {
				t.Fatalf("GetInt after the request ended = %d, want 1", n)
			}
			if keys := kept.Keys(); len(keys) != 2 {
				t.Fatalf("Keys after the request ended = %q, want the session's two", keys)
			}
			if err := kept.Put("n", 5); !errors.Is(err, httpsession.ErrReleased) {
				t.Fatalf("Put after the request ended = %v, want ErrReleased", err)
			}
			// Nor do the changes that return no error: no commit is left
			// to save them, so the session keeps showing what was saved
			// (a flash popped now is still in the record).
			if v := kept.PopString("v"); v != strings.Repeat("A", 4<<10) {
				t.Fatalf("PopString after the request ended = %.20q..., want the session's value", v)
			}
			kept.Delete("n")
			if !kept.Exists("v") || kept.GetInt("n") != 1 {
				t.Fatalf("after PopString and Delete once the request ended: keys %q, n %d; want the saved session unchanged", kept.Keys(), kept.GetInt("n"))
			}
			kept.Clear()
			if keys := kept.Keys(); len(keys) != 2 {
				t.Fatalf("after Clear once the request ended: keys %q; want the saved session's two", keys)
			}
		})
	}
}

// TestGetDecodingAcrossItsCommit: a Get still decoding a value when its
// request saves a change and ends keeps reading the bytes it was given.
// The save moves the session's values into a new buffer, so the one the
// Get reads from is no longer the session's; it must still not go back to
// the Manager's pool, where the next requests would read records into it.
// Under WithBufferReuse, where the end of a request hands every buffer
// back to the pool, the session's own included, the same holds (and for a
// ReadOnly request, which saves nothing).
func TestGetDecodingAcrossItsCommit(t *testing.T) {
	for _, c := range []struct {
		mode  httpsession.Mode
		reuse bool
	}{
		{httpsession.Exclusive, false},
		{httpsession.Optimistic, false},
		{httpsession.Exclusive, true},
		{httpsession.ReadOnly, true},
	} {
		name := c.mode.String()
		var opts []httpsession.Option
		if c.reuse {
			name += "/reuse"
			opts = append(opts, httpsession.WithBufferReuse())
		}
		mode := c.mode
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil, opts...)
			want := strings.Repeat("A", 4<<10)
			first := seedSession(t, e.m, map[string]any{"v": want, "n": 1})
			other := seedSession(t, e.m, map[string]any{"v": strings.Repeat("B", 4<<10), "n": 2})
			// Requests of the other session first, so that the Manager's
			// pool holds buffers its records fit in.
			for range 3 {
				do(t, e.m.Handler(counter()), other)
			}

			got := make(chan []byte)
			release := make(chan struct{})
			decoded := make(chan error)
			bv := &blockingValue{got: got, release: release}
			h := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				go func() {
					_, err := s.Get("v", bv)
					decoded <- err
				}()
				<-got // the Get is decoding: save a change and end the request under it
				if mode != httpsession.ReadOnly {
					if err := s.Put("n", 5); err != nil {
						t.Error(err)
					}
				}
				fmt.Fprint(w, "ok")
			}))
			if resp := do(t, h, first); resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body(t, resp))
			}
			// Other requests through the same Manager read records into
			// its pooled buffers meanwhile. (A sync.Pool may drop what it
			// is given, at random under the race detector: several.)
			for range 8 {
				do(t, e.m.Handler(counter()), other)
			}
			close(release)
			if err := <-decoded; err != nil {
				t.Fatal(err)
			}
			if string(bv.after) != `"`+want+`"` {
				t.Fatalf("the Get decoding when its request saved and ended read %.40q..., want %.40q...", bv.after, `"`+want)
			}
		})
	}
}

// TestSessionReadAfterItsListWentToAnother: a request that saved its
// session ends with the session keeping its bytes and handing its members
// list to the Manager, for other requests' encodings; a read after the end
// lists the members again. Code still holding the session reads exactly
// its own keys and values (an escaped key too, and a Delete made after
// Release, which nothing saved) while other sessions' requests encode
// over that list.
func TestSessionReadAfterItsListWentToAnother(t *testing.T) {
	e := newEnv(t, nil)
	vals := map[string]any{"n": 1, "<b>": "escaped", "gone": true}
	for i := range 40 {
		vals[fmt.Sprintf("k%02d", i)] = strings.Repeat("A", i)
	}
	first := seedSession(t, e.m, vals)
	others := map[string]any{"n": 1}
	for i := range 80 {
		others[fmt.Sprintf("o%02d", i)] = i
	}
	other := seedSession(t, e.m, others)

	var kept *httpsession.Session
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		kept = s
		if err := s.Put("n", s.GetInt("n")+1); err != nil {
			t.Error(err)
		}
		if err := s.Release(); err != nil {
			t.Error(err)
		}
		s.Delete("gone") // not saved: the request fails with ErrReleased
	}))
	do(t, h, first)
	for range 3 {
		if got := body(t, do(t, e.m.Handler(counter()), other)); got == "" {
			t.Fatal("no answer")
		}
	}
	delete(vals, "gone")
	vals["n"] = 2
	var want []string
	for k := range vals {
		want = append(want, k)
	}
	slices.Sort(want)
	if keys := kept.Keys(); !slices.Equal(keys, want) {
		t.Fatalf("Keys after the request ended = %q, want %q", keys, want)
	}
	for k, v := range vals {
		var got any
		if ok, err := kept.Get(k, &got); !ok || err != nil || fmt.Sprint(got) != fmt.Sprint(v) {
			t.Fatalf("Get(%q) after the request ended = %v, %v, %v; want %v", k, got, ok, err, v)
		}
	}
	if kept.Exists("gone") {
		t.Fatal(`"gone", deleted before the request ended, exists after it`)
	}
}

// TestRequestAllocatesItsPayloadNotItsKeys: what a request on a stored
// session allocates beyond a request on a session of one key is the
// buffer its payload stays in (see Session), not also a list of the
// session's members, which grows with its key count, nor room the request
// grew and left unused. So for one that changes a key, one that only
// reads (the most common request), and the two in turn.
func TestRequestAllocatesItsPayloadNotItsKeys(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops a share of what sync.Pool is given")
	}
	type route struct {
		name  string
		route func(m *httpsession.Manager) []http.Handler
	}
	var routes []route
	for _, k := range requestKinds() {
		routes = append(routes, route{k.name, func(m *httpsession.Manager) []http.Handler { return []http.Handler{k.handler(m)} }})
	}
	routes = append(routes, route{"write and read in turn", func(m *httpsession.Manager) []http.Handler {
		return []http.Handler{m.Handler(counter()), m.Handler(countReader())}
	}})
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			perRequest := func(vals map[string]any) (allocated float64, payload int) {
				e := newEnv(t, nil)
				id := seedSession(t, e.m, vals)
				return e.allocPerRequest(t, id, rt.route(e.m), 20, 200)
			}
			many := map[string]any{"n": 1}
			for i := range 600 {
				many[fmt.Sprintf("k%03d", i)] = i
			}
			one, _ := perRequest(map[string]any{"n": 1})
			all, payload := perRequest(many)
			t.Logf("%.0f bytes a request on a session of 601 keys (a payload of %d bytes), %.0f on one of 1 key", all, payload, one)
			// Room for the payload's size class (up to 1/8 over) and for a
			// pool emptied by a collection; the 601 members' list alone is
			// 12 KB.
			if extra, limit := all-one, float64(payload+payload/4+1024); extra > limit {
				t.Fatalf("a request on a session of 601 keys (a payload of %d bytes) allocates %.0f bytes more than one on a session of 1 key, over %.0f", payload, extra, limit)
			}
		})
	}
}

// TestSessionKeepsItsPayloadOnly: a session still held after its request
// (by a goroutine the handler started, a framework's error handler) keeps
// the bytes its values live in, and nothing else of the buffers the
// request used: not the list of its members, nor a list handed over for
// encodings, nor room grown for later requests, which go back to the
// Manager for them.
func TestSessionKeepsItsPayloadOnly(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops a share of what sync.Pool is given")
	}
	for _, rt := range requestKinds() {
		t.Run(rt.name, func(t *testing.T) {
			const n = 100
			perSession := func(vals map[string]any) (kept float64, payload int) {
				e := newEnv(t, nil)
				id := seedSession(t, e.m, vals)
				var sessions []*httpsession.Session
				h := rt.handler(e.m)
				// Requests changing another session, in turn with the kept
				// ones, so that the pool holds what such a request leaves.
				other := e.m.Handler(counter())
				otherReq := httptest.NewRequest("GET", "http://example.com/", nil)
				otherReq.AddCookie(&http.Cookie{Name: "session", Value: seedSession(t, e.m, vals)})
				req := httptest.NewRequest("GET", "http://example.com/", nil)
				req.AddCookie(&http.Cookie{Name: "session", Value: id})
				keep := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					sessions = append(sessions, httpsession.FromContext(r.Context()))
					h.ServeHTTP(w, r)
				})
				serve := func(n int) {
					for range n {
						rec := httptest.NewRecorder()
						e.m.Handler(keep).ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							t.Fatalf("status %d: %s", rec.Code, rec.Body)
						}
						other.ServeHTTP(httptest.NewRecorder(), otherReq)
					}
				}
				serve(20)
				sessions = sessions[:0:0]
				var before, after runtime.MemStats
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&before)
				serve(n)
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&after)
				if len(sessions) != n {
					t.Fatalf("kept %d sessions, want %d", len(sessions), n)
				}
				sess, err := e.st.Load(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				runtime.KeepAlive(sessions)
				return (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n, len(sess.Data)
			}
			many := map[string]any{"n": 1}
			for i := range 600 {
				many[fmt.Sprintf("k%03d", i)] = i
			}
			one, _ := perSession(map[string]any{"n": 1})
			all, payload := perSession(many)
			t.Logf("a session of 601 keys (a payload of %d bytes) kept after its request holds %.0f bytes, one of 1 key %.0f", payload, all, one)
			if extra, limit := all-one, float64(payload+payload/4+1024); extra > limit {
				t.Fatalf("a session of 601 keys (a payload of %d bytes) kept after its request holds %.0f bytes more than one of 1 key, over %.0f", payload, extra, limit)
			}
		})
	}
}

// requestKind is a request the allocation tests make of a session, built
// on a Manager.
type requestKind struct {
	name    string
	handler func(m *httpsession.Manager) http.Handler
}

// allocPerRequest serves the session id to each of hs in turn, warm
// times (the Manager's buffers grow to the session's size) and then n
// times, and returns what each of those n requests allocated, on average,
// and the size of the session's stored payload.
func (e *env) allocPerRequest(t *testing.T, id string, hs []http.Handler, warm, n int) (allocated float64, payload int) {
	t.Helper()
	req := httptest.NewRequest("GET", "http://example.com/", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: id})
	serve := func(n int) {
		for range n {
			for _, h := range hs {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		}
	}
	serve(warm)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	serve(n)
	runtime.ReadMemStats(&after)
	sess, err := e.st.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(n*len(hs)), len(sess.Data)
}

// requestKinds are one request that changes a key, one that only reads
// (the most common), and one in ReadOnly mode.
func requestKinds() []requestKind {
	return []requestKind{
		{"write", func(m *httpsession.Manager) http.Handler { return m.Handler(counter()) }},
		{"read", func(m *httpsession.Manager) http.Handler { return m.Handler(countReader()) }},
		{"read-only", func(m *httpsession.Manager) http.Handler { return m.Middleware(httpsession.ReadOnly)(countReader()) }},
	}
}

// countReader answers the session's counter "n" and changes nothing.
func countReader() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
	})
}
