package httpsession_test

// Tests over real HTTP: an httptest server, a net/http client, cookies
// and headers as a browser sees them.

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/lock"
)

// serve starts an HTTP server for h, closed when the test ends.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// client returns an HTTP client that opens as many connections as asked
// (the tests hold many requests open at once) and never hangs a test: its
// timeout is a hang detector, far above any expected latency.
func client(t *testing.T, srv *httptest.Server) *http.Client {
	t.Helper()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 200
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// call sends one request with the session cookie value ("" for none).
func call(t *testing.T, c *http.Client, method, url, cookie string, reqBody io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, reqBody)
	if err != nil {
		t.Fatal(err)
	}
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readAll returns the response body; for use in goroutines (no Fatal).
func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b)
}

// setCookieHeader returns the raw Set-Cookie header for the named cookie.
func setCookieHeader(resp *http.Response, name string) string {
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return v
		}
	}
	return ""
}

func TestCookieZeroFieldsAreSafeOverHTTP(t *testing.T) {
	tests := []struct {
		name     string
		cookie   httpsession.Cookie
		wantName string
	}{
		{"zero value", httpsession.Cookie{}, "session"},
		{"only a name", httpsession.Cookie{Name: "sid"}, "sid"},
		{"only a domain", httpsession.Cookie{Domain: "example.com"}, "session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, []fsstore.Option{fsstore.WithLifetime(time.Hour)}, httpsession.WithCookie(tt.cookie))
			srv := serve(t, e.m.Handler(counter()))
			resp := call(t, client(t, srv), "GET", srv.URL, "", nil)
			raw := setCookieHeader(resp, tt.wantName)
			if raw == "" {
				t.Fatalf("no %s cookie in %q", tt.wantName, resp.Header.Values("Set-Cookie"))
			}
			for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age="} {
				if !strings.Contains(raw, "; "+attr) {
					t.Errorf("Set-Cookie %q lacks %s", raw, attr)
				}
			}
		})
	}
}

func TestCookieWeakeningsAreExplicitOverHTTP(t *testing.T) {
	tests := []struct {
		name        string
		cookie      httpsession.Cookie
		present     []string
		absent      []string
		wantFailure bool
	}{
		{"insecure for http://localhost", httpsession.Cookie{Insecure: true},
			[]string{"HttpOnly", "SameSite=Lax"}, []string{"Secure"}, false},
		{"script access", httpsession.Cookie{ScriptAccess: true},
			[]string{"Secure", "SameSite=Lax"}, []string{"HttpOnly"}, false},
		{"browser session", httpsession.Cookie{BrowserSession: true},
			[]string{"Secure", "HttpOnly"}, []string{"Max-Age", "Expires"}, false},
		{"strict", httpsession.Cookie{SameSite: http.SameSiteStrictMode},
			[]string{"SameSite=Strict", "Secure"}, nil, false},
		{"no SameSite attribute", httpsession.Cookie{SameSite: http.SameSiteDefaultMode},
			[]string{"Secure"}, []string{"SameSite"}, false},
		{"__Host- prefix", httpsession.Cookie{Name: "__Host-sid"},
			[]string{"Secure", "Path=/"}, []string{"Domain"}, false},
		{"__Secure- prefix", httpsession.Cookie{Name: "__Secure-sid", Domain: "127.0.0.1"},
			[]string{"Secure"}, nil, false},
		{"SameSite=None needs Secure", httpsession.Cookie{SameSite: http.SameSiteNoneMode, Insecure: true}, nil, nil, true},
		{"invalid name", httpsession.Cookie{Name: "a b"}, nil, nil, true},
		{"partitioned, for an embedded app", httpsession.Cookie{Name: "__Host-sid", Partitioned: true, SameSite: http.SameSiteNoneMode},
			[]string{"Partitioned", "Secure", "SameSite=None"}, nil, false},
		{"Partitioned needs Secure", httpsession.Cookie{Partitioned: true, Insecure: true}, nil, nil, true},
		// Name prefixes whose promise the attributes break: browsers drop
		// such cookies (the prefix matches regardless of case).
		{"__Host- with a Domain", httpsession.Cookie{Name: "__Host-sid", Domain: "example.com"}, nil, nil, true},
		{"__Host- with a Path", httpsession.Cookie{Name: "__Host-sid", Path: "/app"}, nil, nil, true},
		{"__Host- insecure", httpsession.Cookie{Name: "__host-sid", Insecure: true}, nil, nil, true},
		{"__Secure- insecure", httpsession.Cookie{Name: "__Secure-sid", Insecure: true}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, []fsstore.Option{fsstore.WithLifetime(time.Hour)}, httpsession.WithCookie(tt.cookie))
			srv := serve(t, e.m.Handler(counter()))
			resp := call(t, client(t, srv), "GET", srv.URL, "", nil)
			if tt.wantFailure {
				// A cookie browsers would drop must not fail silently.
				if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(e.log.String(), "invalid configuration") {
					t.Errorf("status %d, log %q: want 500 and the configuration error logged", resp.StatusCode, e.log)
				}
				return
			}
			raw := setCookieHeader(resp, cmp.Or(tt.cookie.Name, "session"))
			if raw == "" {
				t.Fatalf("no session cookie in %q", resp.Header.Values("Set-Cookie"))
			}
			for _, attr := range tt.present {
				if !strings.Contains(raw, "; "+attr) {
					t.Errorf("Set-Cookie %q lacks %s", raw, attr)
				}
			}
			for _, attr := range tt.absent {
				if strings.Contains(raw, "; "+attr) {
					t.Errorf("Set-Cookie %q has %s", raw, attr)
				}
			}
		})
	}
}

// TestOperatorGuideNestedModes runs docs/operator-guide.md's example as
// written: Handler around the mux, Middleware(ReadOnly) around one route.
func TestOperatorGuideNestedModes(t *testing.T) {
	e := newEnv(t, nil)
	st := e.st
	var putErr error
	var mode httpsession.Mode
	reportHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		mode = s.Mode()
		putErr = s.Put("report", "seen")
		fmt.Fprint(w, s.GetInt("n"))
	})

	// From the guide (ListenAndServe replaced by a test server).
	sessions := httpsession.New(st, httpsession.WithIdleTimeout(30*time.Minute))
	mux := http.NewServeMux()
	mux.Handle("GET /report", sessions.Middleware(httpsession.ReadOnly)(reportHandler))

	mux.Handle("GET /count", counter())
	held, hold := make(chan struct{}), make(chan struct{})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		httpsession.FromContext(r.Context()).Put("slow", true) // takes the lock
		close(held)
		<-hold
	})
	srv := serve(t, sessions.Handler(mux)) // Exclusive by default
	c := client(t, srv)
	id := mustCookie(t, call(t, c, "GET", srv.URL+"/count", "", nil)).Value

	if got := body(t, call(t, c, "GET", srv.URL+"/report", id, nil)); got != "1" {
		t.Errorf("report = %q, want 1", got)
	}
	if mode != httpsession.ReadOnly || !errors.Is(putErr, fsstore.ErrReadOnly) {
		t.Errorf("report ran in mode %v, Put error %v: want read-only", mode, putErr)
	}
	// A read-only route does not queue behind the user's slow request.
	slow := make(chan *http.Response)
	go func() {
		resp, err := c.Do(mustRequest(t, "GET", srv.URL+"/slow", id))
		if err != nil {
			t.Error(err)
		}
		slow <- resp
	}()
	<-held
	if resp := call(t, c, "GET", srv.URL+"/report", id, nil); resp.StatusCode != 200 {
		t.Errorf("report while the session is locked: status %d", resp.StatusCode)
	}
	close(hold)
	if resp := <-slow; resp != nil {
		resp.Body.Close()
	}
}

func mustRequest(t *testing.T, method, url, cookie string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Error(err)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	return req
}

func TestNestedModes(t *testing.T) {
	// readUser is an outer middleware that reads the session before
	// routing (a logger, say).
	readUser := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpsession.FromContext(r.Context()).GetString("user")
			next.ServeHTTP(w, r)
		})
	}
	putOuter := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpsession.FromContext(r.Context()).Put("outer", 1)
			next.ServeHTTP(w, r)
		})
	}
	none := func(next http.Handler) http.Handler { return next }
	tests := []struct {
		name       string
		outer      httpsession.Mode
		between    func(http.Handler) http.Handler
		inner      httpsession.Mode
		wantStatus int
		wantN      string // counter after the request ("" to skip)
	}{
		{"exclusive around read-only", httpsession.Exclusive, none, httpsession.ReadOnly, 500, "1"},
		{"exclusive around read-only, outer reads first", httpsession.Exclusive, readUser, httpsession.ReadOnly, 500, "1"},
		{"read-only around exclusive", httpsession.ReadOnly, none, httpsession.Exclusive, 200, "2"},
		{"read-only around exclusive, outer reads first", httpsession.ReadOnly, readUser, httpsession.Exclusive, 200, "2"},
		{"optimistic around exclusive", httpsession.Optimistic, readUser, httpsession.Exclusive, 200, "2"},
		{"exclusive around optimistic", httpsession.Exclusive, readUser, httpsession.Optimistic, 200, "2"},
		{"outer changed the session", httpsession.Exclusive, putOuter, httpsession.ReadOnly, 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			mux := http.NewServeMux()
			mux.Handle("GET /count", counter())
			mux.Handle("GET /route", e.m.Middleware(tt.inner)(counter()))
			mux.Handle("GET /read", e.m.Middleware(httpsession.ReadOnly)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
			})))
			srv := serve(t, e.m.Middleware(tt.outer)(tt.between(mux)))
			c := client(t, srv)
			// Create the session through an exclusive route of another
			// server on the same store.
			seed := serve(t, e.m.Handler(counter()))
			id := mustCookie(t, call(t, client(t, seed), "GET", seed.URL, "", nil)).Value
			resp := call(t, c, "GET", srv.URL+"/route", id, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, body(t, resp))
			}
			if tt.wantN != "" {
				if got := body(t, call(t, c, "GET", srv.URL+"/read", id, nil)); got != tt.wantN {
					t.Errorf("counter = %s, want %s", got, tt.wantN)
				}
			}
		})
	}
}

func TestOversizedSessionOverHTTP(t *testing.T) {
	tests := []struct {
		name       string
		handler    func(http.ResponseWriter, *http.Request, error)
		wantStatus int
		wantLog    []string
	}{
		{"default", nil, 500, []string{"fsstore.WithMaxSize", "limit 64"}},
		{"mapped by the app", func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, fsstore.ErrTooLarge) {
				http.Error(w, "too much in your cart", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "oops", 500)
		}, 413, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []httpsession.Option
			if tt.handler != nil {
				opts = append(opts, httpsession.WithErrorHandler(tt.handler))
			}
			e := newEnv(t, []fsstore.Option{fsstore.WithMaxSize(64)}, opts...)
			srv := serve(t, e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				httpsession.FromContext(r.Context()).Put("cart", strings.Repeat("x", 100))
				fmt.Fprint(w, "added")
			})))
			resp := call(t, client(t, srv), "GET", srv.URL, "", nil)
			if resp.StatusCode != tt.wantStatus || sessionCookie(resp) != nil {
				t.Errorf("status %d, cookie %v: want %d and no cookie", resp.StatusCode, sessionCookie(resp), tt.wantStatus)
			}
			if b := body(t, resp); strings.Contains(b, "added") {
				t.Errorf("the handler's body was sent: %q", b)
			}
			for _, s := range tt.wantLog {
				if !strings.Contains(e.log.String(), s) {
					t.Errorf("log %q lacks %q", e.log, s)
				}
			}
		})
	}
}

// TestCookieNeverOutlivesSession uses the real clock: the store fixes the
// deadline a little after the middleware reads the time, and the cookie
// must still not outlast it.
func TestCookieNeverOutlivesSession(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name      string
		storeOpts []fsstore.Option
		opts      []httpsession.Option
	}{
		{"store lifetime", []fsstore.Option{fsstore.WithLifetime(day)}, nil},
		{"middleware lifetime", nil, []httpsession.Option{httpsession.WithLifetime(day)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := fsstore.Open(t.TempDir(), append([]fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone)}, tt.storeOpts...)...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			m := httpsession.New(st, append([]httpsession.Option{httpsession.WithLogger(slog.New(slog.DiscardHandler))}, tt.opts...)...)
			srv := serve(t, m.Handler(counter()))
			c := mustCookie(t, call(t, client(t, srv), "GET", srv.URL, "", nil))
			sess, err := st.Load(t.Context(), c.Value)
			if err != nil {
				t.Fatal(err)
			}
			if c.MaxAge <= 0 || c.MaxAge > int(day/time.Second) {
				t.Errorf("Max-Age = %d, want (0, %d]", c.MaxAge, int(day/time.Second))
			}
			if c.Expires.After(sess.Deadline) {
				t.Errorf("cookie Expires %v after the session's deadline %v", c.Expires, sess.Deadline)
			}
		})
	}
}

func TestRetiredKeyStartsFreshSessionOverHTTP(t *testing.T) {
	oldKey, _ := fsstore.NewKey(1)
	newKey, _ := fsstore.NewKey(2)
	dir := t.TempDir()
	open := func(t *testing.T, obs fsstore.Observer, keys ...fsstore.Key) *fsstore.Store {
		opts := []fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithKeys(keys...)}
		if obs != nil {
			opts = append(opts, fsstore.WithObserver(obs))
		}
		st, err := fsstore.Open(dir, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	before := serve(t, httpsession.New(open(t, nil, oldKey)).Handler(counter()))
	id := mustCookie(t, call(t, client(t, before), "GET", before.URL, "", nil)).Value

	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.ReadOnly, httpsession.Optimistic} {
		t.Run(mode.String(), func(t *testing.T) {
			// The old key was dropped before every record was rekeyed.
			obs := &outcomes{}
			var logBuf bytes.Buffer
			m := httpsession.New(open(t, obs, newKey), httpsession.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: &logBuf}, nil))))
			srv := serve(t, m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				fmt.Fprint(w, s.GetInt("n"), s.IsNew())
			})))
			resp := call(t, client(t, srv), "GET", srv.URL, id, nil)
			if got := body(t, resp); resp.StatusCode != 200 || got != "0 true" {
				t.Errorf("status %d, body %q: want 200 and a fresh session", resp.StatusCode, got)
			}
			if c := sessionCookie(resp); c == nil || c.MaxAge >= 0 {
				t.Errorf("cookie %v: want the dead cookie expired", c)
			}
			if _, err := os.Stat(recordPathIn(dir, id)); err != nil {
				t.Error("the undecryptable record was removed; it is the sweep's to remove")
			}
			if !strings.Contains(logBuf.String(), "key") || strings.Contains(logBuf.String(), id) {
				t.Errorf("log %q: want a line about the key, without the session ID", logBuf.String())
			}
			if obs.count(fsstore.OpLoad, fsstore.OutcomeUnknownKey) == 0 {
				t.Errorf("observer saw %v, want a load with outcome unknown_key", obs.seen())
			}
		})
	}
}

type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) Observe(ev fsstore.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[ev.Op.String()+"/"+ev.Outcome.String()]++
}

func (o *outcomes) count(op fsstore.Op, out fsstore.Outcome) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[op.String()+"/"+out.String()]
}

func (o *outcomes) seen() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

func TestConcurrentIncrementsOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	srv := serve(t, e.m.Handler(counter()))
	c := client(t, srv)
	id := mustCookie(t, call(t, c, "GET", srv.URL, "", nil)).Value
	const n = 100
	var wg sync.WaitGroup
	for range n - 1 {
		wg.Go(func() {
			resp, err := c.Do(mustRequest(t, "GET", srv.URL, id))
			if err != nil {
				t.Error(err)
				return
			}
			if b := readAll(resp); resp.StatusCode != 200 {
				t.Errorf("status %d %s", resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	if got := body(t, call(t, c, "GET", srv.URL, id, nil)); got != strconv.Itoa(n+1) {
		t.Errorf("counter = %s after %d increments, want %d: lost updates", got, n+1, n+1)
	}
}

// seedSessions creates n sessions directly in the store and returns their
// IDs, to be sent as cookies.
func seedSessions(t *testing.T, st *fsstore.Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Save(t.Context(), &fsstore.Session{ID: id, Data: []byte(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// TestSlowBodiesHoldNoLock: 80 users post forms one byte at a time (the
// bytes come from pipes the test holds) while the process may hold at most
// 64 locks. The session is locked only when the handler first uses it,
// after it has read the form, so an unrelated user is served at once.
func TestSlowBodiesHoldNoLock(t *testing.T) {
	const slow = 80
	e := newEnv(t, []fsstore.Option{fsstore.WithMaxHeldLocks(64)})
	ids := seedSessions(t, e.st, slow+1)
	entered := make(chan struct{}, slow)
	mux := http.NewServeMux()
	mux.Handle("GET /", counter())
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s := httpsession.FromContext(r.Context())
		if err := s.Put("comment", r.PostForm.Get("comment")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "saved")
	})
	form := e.m.Handler(mux)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			entered <- struct{}{}
		}
		form.ServeHTTP(w, r)
	}))
	c := client(t, srv)
	type post struct {
		w    *io.PipeWriter
		done chan string
	}
	posts := make([]post, slow)
	for i := range posts {
		pr, pw := io.Pipe()
		posts[i] = post{pw, make(chan string, 1)}
		t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) })
		go func() {
			req, err := http.NewRequest("POST", srv.URL, pr)
			if err != nil {
				posts[i].done <- err.Error()
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: "session", Value: ids[i]})
			resp, err := c.Do(req)
			if err != nil {
				posts[i].done <- err.Error()
				return
			}
			posts[i].done <- strconv.Itoa(resp.StatusCode) + " " + readAll(resp)
		}()
		// The first byte of the body; the rest waits for the test.
		if _, err := pw.Write([]byte("c")); err != nil {
			t.Fatal(err)
		}
	}
	for range slow {
		<-entered // counted before the middleware: no lock is needed to get here
	}
	resp := call(t, c, "GET", srv.URL, ids[slow], nil)
	if got := body(t, resp); resp.StatusCode != 200 || got != "2" {
		t.Errorf("unrelated user while %d bodies trickle in: status %d, body %q", slow, resp.StatusCode, got)
	}
	for _, p := range posts {
		io.WriteString(p.w, "omment=hi")
		p.w.Close()
	}
	for i, p := range posts {
		if got := <-p.done; got != "200 saved" {
			t.Errorf("slow post %d: %s", i, got)
		}
	}
	if sess, err := e.st.Load(t.Context(), ids[0]); err != nil || compact(sess.Data) != `{"comment":"hi","n":1}` {
		t.Errorf("slow post's session: %v %s", err, sess.Data)
	}
}

// TestLongHandlersHoldNoLock: 80 users sit in long handlers (held by a
// channel) while the process may hold at most 64 locks. A handler that has
// not used the session yet holds no lock, nor one that called Release, so
// an unrelated user is served at once.
func TestLongHandlersHoldNoLock(t *testing.T) {
	const long = 80
	tests := []struct {
		name    string
		handler func(s *httpsession.Session, hold <-chan struct{}, entered chan<- struct{}) error
	}{
		{"long work before the first use", func(s *httpsession.Session, hold <-chan struct{}, entered chan<- struct{}) error {
			entered <- struct{}{}
			<-hold // a slow upstream call, say
			return s.Put("n", s.GetInt("n")+1)
		}},
		{"long work after Release", func(s *httpsession.Session, hold <-chan struct{}, entered chan<- struct{}) error {
			if err := s.Put("n", s.GetInt("n")+1); err != nil {
				return err
			}
			if err := s.Release(); err != nil {
				return err
			}
			entered <- struct{}{}
			<-hold // a long report, a streamed download
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, []fsstore.Option{fsstore.WithMaxHeldLocks(64)})
			ids := seedSessions(t, e.st, long+1)
			entered, hold := make(chan struct{}, long), make(chan struct{})
			mux := http.NewServeMux()
			mux.Handle("GET /count", counter())
			mux.HandleFunc("GET /long", func(w http.ResponseWriter, r *http.Request) {
				if err := tt.handler(httpsession.FromContext(r.Context()), hold, entered); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				fmt.Fprint(w, "done")
			})
			srv := serve(t, e.m.Handler(mux))
			var release sync.Once
			// Before the server closes, or a failed test hangs in Close.
			t.Cleanup(func() { release.Do(func() { close(hold) }) })
			c := client(t, srv)
			done := make(chan string, long)
			for i := range long {
				go func() {
					resp, err := c.Do(mustRequest(t, "GET", srv.URL+"/long", ids[i]))
					if err != nil {
						done <- err.Error()
						return
					}
					done <- strconv.Itoa(resp.StatusCode) + " " + readAll(resp)
				}()
			}
			for range long {
				select {
				case <-entered:
				case got := <-done:
					t.Fatalf("a long request ended before its handler ran: %s", got)
				}
			}
			resp := call(t, c, "GET", srv.URL+"/count", ids[long], nil)
			if got := body(t, resp); resp.StatusCode != 200 || got != "2" {
				t.Errorf("unrelated user while %d handlers run: status %d, body %q", long, resp.StatusCode, got)
			}
			// Let them go one at a time: all at once, more than the 64
			// OS locks the store may hold would be wanted together, and
			// those past the cap fail at once with ErrTooManyLocks (503),
			// as WithMaxHeldLocks says; what is tested here is that none
			// is held during the long work.
			for range long {
				hold <- struct{}{}
				if got := <-done; got != "200 done" {
					t.Errorf("long request: %s", got)
				}
			}
			for _, id := range ids[:long] {
				if sess, err := e.st.Load(t.Context(), id); err != nil || compact(sess.Data) != `{"n":2}` {
					t.Errorf("long request's session: %v %s", err, sess.Data)
					break
				}
			}
		})
	}
}

// stripeOf mirrors the store's choice of lock stripe for an ID, so that a
// test can pick sessions that need distinct OS locks.
func stripeOf(id string, stripes int) uint32 {
	sum := sha256.Sum256([]byte("sessfs-name\x00" + id))
	return binary.BigEndian.Uint32(sum[12:16]) % uint32(stripes)
}

// seedDistinctStripes is seedSessions with every session on its own lock
// stripe, so that each one held takes one OS lock of its own.
func seedDistinctStripes(t *testing.T, st *fsstore.Store, n int) []string {
	t.Helper()
	_, stripes, _, err := fsstore.ReadLayout(st.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	used := map[uint32]bool{}
	for len(ids) < n {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		if s := stripeOf(id, stripes); !used[s] {
			used[s] = true
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		if err := st.Save(t.Context(), &fsstore.Session{ID: id, Data: []byte(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestLockCapAnswers503: with the process at its cap of held locks, a
// user needing one more lock is answered 503 with Retry-After at once,
// however long the lock timeout: never a hang.
func TestLockCapAnswers503(t *testing.T) {
	const held = 2
	e := newEnv(t, []fsstore.Option{fsstore.WithMaxHeldLocks(held)}, httpsession.WithLockTimeout(time.Hour))
	// held+1 sessions on distinct stripes: each needs its own OS lock.
	ids := seedDistinctStripes(t, e.st, held+1)
	entered, hold := make(chan struct{}, held), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("GET /count", counter())
	mux.HandleFunc("GET /long", func(w http.ResponseWriter, r *http.Request) {
		httpsession.FromContext(r.Context()).Put("long", true) // locks, and keeps the lock
		entered <- struct{}{}
		<-hold
	})
	srv := serve(t, e.m.Handler(mux))
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(hold) }) })
	c := client(t, srv)
	done := make(chan string, held)
	for _, id := range ids[:held] {
		go func() {
			resp, err := c.Do(mustRequest(t, "GET", srv.URL+"/long", id))
			if err != nil {
				done <- err.Error()
				return
			}
			done <- strconv.Itoa(resp.StatusCode) + " " + readAll(resp)
		}()
	}
	for range held {
		select {
		case <-entered:
		case got := <-done:
			t.Fatalf("a long request ended before its handler ran: %s", got)
		}
	}
	resp := call(t, c, "GET", srv.URL+"/count", ids[held], nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("user over the lock cap: status %d, Retry-After %q: want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(e.log.String(), "MaxHeld") {
		t.Errorf("log %q does not name the cap", e.log)
	}
	release.Do(func() { close(hold) })
	for range held {
		if got := <-done; got != "200 " {
			t.Errorf("long request: %q", got)
		}
	}
	// The slots are free again.
	if got := body(t, call(t, c, "GET", srv.URL+"/count", ids[held], nil)); got != "2" {
		t.Errorf("after the long requests: counter %q, want 2", got)
	}
}

// TestUnavailableAnswers503: failures that pass (a lock lost to another
// holder, a store that is gone) answer 503 with Retry-After, not 500, and
// save nothing.
func TestUnavailableAnswers503(t *testing.T) {
	tests := []struct {
		name      string
		storeOpts []fsstore.Option
		// mid runs in the handler, between a read and a Put.
		mid     func(t *testing.T, st *fsstore.Store)
		wantLog string
	}{
		{"lock lost", []fsstore.Option{fsstore.WithLockStrategy(lock.Lease)}, func(t *testing.T, st *fsstore.Store) {
			// Another host broke the lease (it expired while this one
			// was cut off): the lease file is gone.
			n := 0
			filepath.WalkDir(st.Dir(), func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(p, ".lease") {
					if os.Remove(p) == nil {
						n++
					}
				}
				return nil
			})
			if n == 0 {
				t.Error("no lease file to remove")
			}
		}, "lock lost"},
		{"store closed", nil, func(t *testing.T, st *fsstore.Store) { st.Close() }, "store closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.storeOpts)
			id := seedSessions(t, e.st, 1)[0]
			srv := serve(t, e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				n := s.GetInt("n")
				tt.mid(t, e.st)
				s.Put("n", n+1)
				fmt.Fprint(w, n+1)
			})))
			resp := call(t, client(t, srv), "GET", srv.URL, id, nil)
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Errorf("status %d, Retry-After %q: want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if b := body(t, resp); strings.Contains(b, "2") {
				t.Errorf("the handler's answer was sent: %q", b)
			}
			if !strings.Contains(e.log.String(), tt.wantLog) {
				t.Errorf("log %q lacks %q", e.log, tt.wantLog)
			}
		})
	}
}

// TestTouchFollowsRecordIdle: a record saved with its own idle timeout
// (by an adapter, or a process configured differently) is touched by the
// rule of its own timeout, not the middleware's.
func TestTouchFollowsRecordIdle(t *testing.T) {
	e := newEnv(t, nil, httpsession.WithIdleTimeout(10*time.Minute))
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Save(t.Context(), &fsstore.Session{ID: id, Data: []byte(`{"n":1}`), Idle: time.Hour}); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, e.m.Middleware(httpsession.ReadOnly)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
	})))
	e.clk.Advance(40 * time.Minute) // 20 of the record's 60 minutes left
	if got := body(t, call(t, client(t, srv), "GET", srv.URL, id, nil)); got != "1" {
		t.Fatalf("body %q", got)
	}
	e.clk.Advance(30 * time.Minute) // past the record's idle unless touched
	sess, err := e.st.Load(t.Context(), id)
	if err != nil {
		t.Fatalf("session expired: the read did not touch it: %v (log %s)", err, e.log)
	}
	if sess.Idle != time.Hour {
		t.Errorf("record idle %v after the touch", sess.Idle)
	}
}

// TestRelease: Release saves at once, frees the lock for the user's next
// request while the handler goes on, and refuses later changes.
func TestRelease(t *testing.T) {
	e := newEnv(t, []fsstore.Option{fsstore.WithMaxSize(64)})
	released, proceed := make(chan error, 1), make(chan struct{})
	var putAfter error
	mux := http.NewServeMux()
	mux.Handle("GET /count", counter())
	mux.HandleFunc("GET /long", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.Put("n", s.GetInt("n")+1)
		released <- s.Release()
		<-proceed
		putAfter = s.Put("late", 1)
		fmt.Fprint(w, s.GetInt("n"))
	})
	mux.HandleFunc("GET /delete-after", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.Put("x", 1)
		s.Release()
		s.Delete("x")
		fmt.Fprint(w, "changed after release")
	})
	mux.HandleFunc("GET /too-big", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.Put("big", strings.Repeat("x", 100))
		released <- s.Release()
		fmt.Fprint(w, "big")
	})
	srv := serve(t, e.m.Handler(mux))
	c := client(t, srv)

	t.Run("new session gets its cookie; the lock is free at once", func(t *testing.T) {
		done := make(chan *http.Response, 1)
		go func() {
			resp, err := c.Do(mustRequest(t, "GET", srv.URL+"/long", ""))
			if err != nil {
				t.Error(err)
			}
			done <- resp
		}()
		if err := <-released; err != nil {
			t.Fatalf("Release: %v", err)
		}
		close(proceed)
		resp := <-done
		if resp == nil {
			t.FailNow()
		}
		id := mustCookie(t, resp).Value
		if got := readAll(resp); got != "1" {
			t.Errorf("body %q", got)
		}
		if !errors.Is(putAfter, httpsession.ErrReleased) {
			t.Errorf("Put after Release: %v, want ErrReleased", putAfter)
		}
		if got := body(t, call(t, c, "GET", srv.URL+"/count", id, nil)); got != "2" {
			t.Errorf("next request: counter %q, want 2 (the late Put must not be saved)", got)
		}
	})
	t.Run("existing session: the user's next request runs while the handler goes on", func(t *testing.T) {
		id := seedSessions(t, e.st, 1)[0]
		proceed = make(chan struct{})
		done := make(chan *http.Response, 1)
		go func() {
			resp, err := c.Do(mustRequest(t, "GET", srv.URL+"/long", id))
			if err != nil {
				t.Error(err)
			}
			done <- resp
		}()
		if err := <-released; err != nil {
			t.Fatalf("Release: %v", err)
		}
		// The long handler is still running: this would wait for its lock.
		if got := body(t, call(t, c, "GET", srv.URL+"/count", id, nil)); got != "3" {
			t.Errorf("concurrent request: counter %q, want 3", got)
		}
		close(proceed)
		if resp := <-done; resp != nil {
			readAll(resp)
		}
	})
	t.Run("a change after Release fails the request", func(t *testing.T) {
		resp := call(t, c, "GET", srv.URL+"/delete-after", "", nil)
		if resp.StatusCode != 500 || strings.Contains(body(t, resp), "changed") {
			t.Errorf("status %d: want 500 and not the handler's body", resp.StatusCode)
		}
	})
	t.Run("a failed save is returned and answered", func(t *testing.T) {
		done := make(chan *http.Response, 1)
		go func() {
			resp, err := c.Do(mustRequest(t, "GET", srv.URL+"/too-big", ""))
			if err != nil {
				t.Error(err)
			}
			done <- resp
		}()
		if err := <-released; !errors.Is(err, fsstore.ErrTooLarge) {
			t.Errorf("Release: %v, want ErrTooLarge", err)
		}
		if resp := <-done; resp == nil || resp.StatusCode != 500 || sessionCookie(resp) != nil {
			t.Errorf("response %v: want a 500 without cookie", resp)
		}
	})
}

// TestPartitionedCookieRemoval checks that the cookie removing a
// partitioned session carries the attribute too: browsers keep
// partitioned cookies apart, so a removal without it would leave the
// user logged in.
func TestPartitionedCookieRemoval(t *testing.T) {
	e := newEnv(t, nil, httpsession.WithCookie(httpsession.Cookie{Partitioned: true, SameSite: http.SameSiteNoneMode}))
	mux := http.NewServeMux()
	mux.Handle("GET /count", counter())
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Destroy(); err != nil {
			t.Error(err)
		}
	})
	srv := serve(t, e.m.Handler(mux))
	c := client(t, srv)
	var id string
	for _, ck := range call(t, c, "GET", srv.URL+"/count", "", nil).Cookies() {
		if ck.Name == "session" {
			id = ck.Value
		}
	}
	if id == "" {
		t.Fatal("no session cookie")
	}
	raw := setCookieHeader(call(t, c, "GET", srv.URL+"/logout", id, nil), "session")
	if !strings.Contains(raw, "Max-Age=0") || !strings.Contains(raw, "; Partitioned") {
		t.Errorf("logout's Set-Cookie %q: want the cookie removed with the Partitioned attribute", raw)
	}
}
