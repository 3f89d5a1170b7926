package httpsession_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

type env struct {
	st  *fsstore.Store
	m   *httpsession.Manager
	clk *fakeclock.Clock
	log *bytes.Buffer
}

func newEnv(t *testing.T, storeOpts []fsstore.Option, opts ...httpsession.Option) *env {
	t.Helper()
	clk := fakeclock.New()
	so := append([]fsstore.Option{fsstore.WithClock(clk.Now), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithIdleTimeout(10 * time.Minute)}, storeOpts...)
	st, err := fsstore.Open(t.TempDir(), so...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var logBuf bytes.Buffer
	mo := append([]httpsession.Option{httpsession.WithClock(clk.Now), httpsession.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: &logBuf}, nil)))}, opts...)
	return &env{st: st, m: httpsession.New(st, mo...), clk: clk, log: &logBuf}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// do runs one request through h with the given session cookie value ("" for
// none) and returns the response.
func do(t *testing.T, h http.Handler, cookie string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", "http://example.com/", nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// sessionCookie returns the response's session cookie, or nil.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	return nil
}

func mustCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	c := sessionCookie(resp)
	if c == nil {
		t.Fatalf("response has no session cookie; headers %v", resp.Header)
	}
	return c
}

// firstCookie makes a session in st through a first visit (n is 1) and
// returns its cookie's value. The visit goes through a Manager of its own
// with a lock timeout of an hour, and opts (the test's clock): it takes no
// lock, but the short lock timeout a test gives its own Manager, to end
// its wait for a lock the test holds, bounds the commit too, and a loaded
// machine could answer the first visit 503 under it, which was retried
// until a deadline.
func firstCookie(t *testing.T, st *fsstore.Store, opts ...httpsession.Option) string {
	t.Helper()
	m := httpsession.New(st, append([]httpsession.Option{httpsession.WithLockTimeout(time.Hour),
		httpsession.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	return mustCookie(t, do(t, m.Handler(counter()), "")).Value
}

// recordPath is where the store keeps id's record (shard depth 1): it
// mirrors fsstore's naming so the tests can watch the file itself.
func recordPath(st *fsstore.Store, id string) string { return recordPathIn(st.Dir(), id) }

func recordPathIn(dir, id string) string {
	sum := sha256.Sum256([]byte("sessfs-name\x00" + id))
	name := hex.EncodeToString(sum[:16])
	return filepath.Join(dir, fsstore.DataDir, name[:2], name)
}

func statRecord(t *testing.T, st *fsstore.Store, id string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(recordPath(st, id))
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	return fi
}

func recordExists(st *fsstore.Store, id string) bool {
	_, err := os.Stat(recordPath(st, id))
	return err == nil
}

// holdsSession reports whether id's record holds a session's values: after
// Renew the old ID's record holds only a marker, for a while.
func holdsSession(st *fsstore.Store, id string) bool {
	sess, err := st.Load(context.Background(), id)
	return err == nil && len(sess.Data) > 0 && sess.Data[0] == '{'
}

// counter increments "n" and writes it out.
func counter() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		n := s.GetInt("n") + 1
		if err := s.Put("n", n); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, n)
	})
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCookieAttributes(t *testing.T) {
	custom := httpsession.Cookie{Path: "/app", Domain: "example.com", Insecure: true, SameSite: http.SameSiteStrictMode, BrowserSession: true}
	tests := []struct {
		name    string
		cookie  *httpsession.Cookie
		want    http.Cookie
		persist bool
	}{
		{"defaults", nil, http.Cookie{Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}, true},
		{"custom", &custom, http.Cookie{Path: "/app", Domain: "example.com", HttpOnly: true, SameSite: http.SameSiteStrictMode}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []httpsession.Option
			if tt.cookie != nil {
				opts = append(opts, httpsession.WithCookie(*tt.cookie))
			}
			e := newEnv(t, []fsstore.Option{fsstore.WithLifetime(time.Hour)}, opts...)
			resp := do(t, e.m.Handler(counter()), "")
			c := mustCookie(t, resp)
			if err := fsstore.ValidID(c.Value); err != nil {
				t.Errorf("cookie value is not a valid ID: %v", err)
			}
			if c.Path != tt.want.Path || c.Domain != tt.want.Domain || c.Secure != tt.want.Secure ||
				c.HttpOnly != tt.want.HttpOnly || c.SameSite != tt.want.SameSite {
				t.Errorf("cookie = %+v, want attributes of %+v", c, tt.want)
			}
			if tt.persist && (c.MaxAge <= 0 || c.MaxAge > 3600) {
				t.Errorf("persistent cookie Max-Age = %d, want (0, 3600]", c.MaxAge)
			}
			if !tt.persist && (c.MaxAge != 0 || !c.Expires.IsZero()) {
				t.Errorf("browser-session cookie has Max-Age %d, Expires %v", c.MaxAge, c.Expires)
			}
			if v := resp.Header.Values("Vary"); len(v) == 0 || v[0] != "Cookie" {
				t.Errorf("Vary = %q, want Cookie", v)
			}
		})
	}
}

func TestUntouchedSessionIsNotCreated(t *testing.T) {
	e := newEnv(t, nil)
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		fmt.Fprint(w, s.GetString("user"), s.IsNew())
	}))
	resp := do(t, h, "")
	if c := sessionCookie(resp); c != nil {
		t.Errorf("a request that stored nothing got a cookie %v", c.Name)
	}
	if got := body(t, resp); got != "true" {
		t.Errorf("body %q", got)
	}
	n := 0
	filepath.WalkDir(filepath.Join(e.st.Dir(), fsstore.DataDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if n != 0 {
		t.Errorf("%d files in the data directory, want 0", n)
	}
}

func TestLazyWrite(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	handlers := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"read only", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
		}},
		{"put the same value", func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			s.Put("n", s.GetInt("n"))
		}},
		{"put and delete a key", func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			s.Put("tmp", "x")
			s.Delete("tmp")
			w.WriteHeader(http.StatusNoContent)
		}},
	}
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly} {
		for _, tt := range handlers {
			t.Run(mode.String()+"/"+tt.name, func(t *testing.T) {
				if mode == httpsession.ReadOnly && tt.name != "read only" {
					t.Skip("read-only routes cannot put")
				}
				before := statRecord(t, e.st, id)
				sess, err := e.st.Load(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				resp := do(t, e.m.Middleware(mode)(tt.h), id)
				if resp.StatusCode >= 400 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				if c := sessionCookie(resp); c != nil {
					t.Errorf("unchanged session re-sent its cookie")
				}
				after := statRecord(t, e.st, id)
				if !os.SameFile(after, before) || !after.ModTime().Equal(before.ModTime()) {
					t.Errorf("record rewritten or touched: mtime %v→%v", before.ModTime(), after.ModTime())
				}
				again, err := e.st.Load(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				if again.Version != sess.Version {
					t.Errorf("version %d→%d", sess.Version, again.Version)
				}
			})
		}
	}
	// A real change is written once.
	sess, _ := e.st.Load(t.Context(), id)
	if got := body(t, do(t, e.m.Handler(counter()), id)); got != "2" {
		t.Fatalf("counter = %s, want 2", got)
	}
	again, _ := e.st.Load(t.Context(), id)
	if again.Version != sess.Version+1 {
		t.Errorf("version %d→%d, want one save", sess.Version, again.Version)
	}
}

func TestTouch(t *testing.T) {
	tests := []struct {
		name      string
		idleAgo   time.Duration // how long ago the record was last written
		wantTouch bool
	}{
		{"recently active", time.Minute, false},
		{"less than half the idle time left", 6 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, httpsession.WithIdleTimeout(10*time.Minute))
			id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			old := e.clk.Now().Add(-tt.idleAgo).Truncate(time.Second)
			if err := os.Chtimes(recordPath(e.st, id), old, old); err != nil {
				t.Fatal(err)
			}
			orig := statRecord(t, e.st, id)
			read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
			})
			for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.ReadOnly} {
				if got := body(t, do(t, e.m.Middleware(mode)(read), id)); got != "1" {
					t.Fatalf("%v: body %q, want 1", mode, got)
				}
				st := statRecord(t, e.st, id)
				touched := st.ModTime().After(old)
				if touched != tt.wantTouch {
					t.Errorf("%v: touched = %v, want %v", mode, touched, tt.wantTouch)
				}
				if !os.SameFile(st, orig) {
					t.Errorf("%v: a touch rewrote the record", mode)
				}
				if err := os.Chtimes(recordPath(e.st, id), old, old); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestRenew(t *testing.T) {
	e := newEnv(t, nil)
	oldID := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	login := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		if err := s.Renew(); err != nil {
			t.Error(err)
		}
		s.Put("user", "alice")
	}))
	c := mustCookie(t, do(t, login, oldID))
	if c.Value == oldID {
		t.Fatal("Renew kept the ID")
	}
	if holdsSession(e.st, oldID) {
		t.Error("old record still holds the session after Renew")
	}
	if !recordExists(e.st, c.Value) {
		t.Fatal("no record under the new ID")
	}
	show := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		fmt.Fprintf(w, "%s %d", s.GetString("user"), s.GetInt("n"))
	}))
	if got := body(t, do(t, show, c.Value)); got != "alice 1" {
		t.Errorf("new ID holds %q, want data kept", got)
	}
	if got := body(t, do(t, show, oldID)); got != " 0" {
		t.Errorf("old ID still holds %q", got)
	}
}

func TestDestroy(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	logout := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Destroy(); err != nil {
			t.Error(err)
		}
		fmt.Fprint(w, "bye")
	}))
	resp := do(t, logout, id)
	c := mustCookie(t, resp)
	if c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout cookie = %q Max-Age %d, want empty with Max-Age<0", c.Value, c.MaxAge)
	}
	// A shared cache that stored the removal with the page would replay
	// it to other users and log them out.
	if !slices.Contains(resp.Header.Values("Cache-Control"), `no-cache="Set-Cookie"`) {
		t.Errorf("logout Cache-Control = %q, want no-cache=\"Set-Cookie\"", resp.Header.Values("Cache-Control"))
	}
	if recordExists(e.st, id) {
		t.Error("record still exists after Destroy")
	}
	// Destroy then put: a fresh session under a fresh ID.
	id = mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	relogin := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.Destroy()
		s.Put("guest", true)
	}))
	c = mustCookie(t, do(t, relogin, id))
	if c.Value == id || c.MaxAge <= 0 {
		t.Errorf("destroy+put: cookie Max-Age %d, same ID %v", c.MaxAge, c.Value == id)
	}
	if recordExists(e.st, id) || !recordExists(e.st, c.Value) {
		t.Error("destroy+put: wrong records on disk")
	}
}

func TestUnknownIDIsNotAdopted(t *testing.T) {
	e := newEnv(t, nil)
	planted, _ := fsstore.NewID()
	for _, cookie := range []string{planted, "../../etc/passwd", "short"} {
		resp := do(t, e.m.Handler(counter()), cookie)
		if got := body(t, resp); got != "1" {
			t.Errorf("body %q, want a fresh counter", got)
		}
		c := mustCookie(t, resp)
		if c.Value == cookie || fsstore.ValidID(c.Value) != nil {
			t.Errorf("cookie %q adopted or replaced by an invalid ID", cookie)
		}
	}
	if recordExists(e.st, planted) {
		t.Error("a record exists under the planted ID")
	}
	// A cookie whose record is gone, on a request that reads but stores
	// nothing, is left alone (see TestStaleCookieAfterRenewKeepsLogin).
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpsession.FromContext(r.Context()).GetString("user")
	})
	if c := sessionCookie(do(t, e.m.Handler(read), planted)); c != nil {
		t.Errorf("stale cookie answered with %v", c)
	}
}

func TestExpiredSessionStartsFresh(t *testing.T) {
	tests := []struct {
		name     string
		opts     []httpsession.Option
		advance  time.Duration
		wantNext string
	}{
		{"within idle timeout", nil, 9 * time.Minute, "2"},
		{"idle timeout passed", nil, 11 * time.Minute, "1"},
		{"absolute lifetime passed", []httpsession.Option{httpsession.WithLifetime(5 * time.Minute)}, 6 * time.Minute, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, tt.opts...)
			h := e.m.Handler(counter())
			id := mustCookie(t, do(t, h, "")).Value
			e.clk.Advance(tt.advance)
			resp := do(t, h, id)
			if got := body(t, resp); got != tt.wantNext {
				t.Errorf("counter = %s, want %s", got, tt.wantNext)
			}
			if tt.wantNext == "1" {
				if c := mustCookie(t, resp); c.Value == id {
					t.Error("expired ID reused")
				}
			}
		})
	}
}

func TestExclusiveSerializesConcurrentRequests(t *testing.T) {
	e := newEnv(t, nil)
	h := e.m.Handler(counter())
	id := mustCookie(t, do(t, h, "")).Value
	const n = 200
	var wg sync.WaitGroup
	for range n - 1 {
		wg.Go(func() {
			if resp := do(t, h, id); resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	read := e.m.Middleware(httpsession.ReadOnly)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
	}))
	if got := body(t, do(t, read, id)); got != strconv.Itoa(n) {
		t.Errorf("counter = %s after %d increments", got, n)
	}
}

func TestOptimisticConflict(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	loaded, proceed := make(chan struct{}), make(chan struct{})
	slow := e.m.Middleware(httpsession.Optimistic)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		n := s.GetInt("n")
		close(loaded)
		<-proceed
		s.Put("n", n+100)
		w.Header().Set("Content-Length", "4")
		fmt.Fprint(w, "done")
	}))
	done := make(chan *http.Response)
	go func() { done <- do(t, slow, id) }()
	<-loaded
	if got := body(t, do(t, e.m.Middleware(httpsession.Optimistic)(counter()), id)); got != "2" {
		t.Fatalf("fast request counter = %s", got)
	}
	close(proceed)
	resp := <-done
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("losing request status %d, want 409", resp.StatusCode)
	}
	if b := body(t, resp); bytes.Contains([]byte(b), []byte("done")) {
		t.Errorf("losing request's body was sent: %q", b)
	}
	// A lost race is Optimistic mode doing its job, not a server fault:
	// an ERROR line for each would page whoever alerts on them.
	if log := e.log.String(); strings.Contains(log, "level=ERROR") || !strings.Contains(log, "level=WARN") {
		t.Errorf("the conflict was logged as %q, want one WARN line", log)
	}
	sess, err := e.st.Load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if compact(sess.Data) != `{"n":2}` {
		t.Errorf("stored %s, want the winner's update", sess.Data)
	}
}

func TestReadOnly(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	before, err := e.st.Load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var putErr, renewErr, destroyErr error
	h := e.m.Middleware(httpsession.ReadOnly)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		putErr, renewErr, destroyErr = s.Put("x", 1), s.Renew(), s.Destroy()
		s.Delete("n")
		fmt.Fprint(w, "handler body")
	}))
	resp := do(t, h, id)
	// The errors name the remedy, which "session locked read-only" alone
	// does not: a route meant to change the session runs in another mode.
	for _, err := range []error{putErr, renewErr, destroyErr} {
		if !errors.Is(err, fsstore.ErrReadOnly) || !strings.Contains(fmt.Sprint(err), "Exclusive or Optimistic mode") {
			t.Errorf("got %v, want ErrReadOnly naming the modes that can change the session", err)
		}
	}
	if resp.StatusCode != 500 {
		t.Errorf("a read-only route that deleted a key: status %d, want 500", resp.StatusCode)
	}
	// The commit's error, in the log, names the calls that changed the
	// session (a flash popped on a read-only page, most often) and the fix.
	for _, want := range []string{"Delete, PopString or Clear", "Exclusive or Optimistic mode", "GetString"} {
		if log := e.log.String(); !strings.Contains(log, want) {
			t.Errorf("the commit's error lacks %q; log:\n%s", want, log)
		}
	}
	sess, _ := e.st.Load(t.Context(), id)
	if sess.Version != before.Version {
		t.Errorf("record written by a read-only route")
	}
}

func TestCommitTiming(t *testing.T) {
	e := newEnv(t, nil)
	var renewErr error
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		s.Put("before", 1)
		w.(http.Flusher).Flush()
		fmt.Fprint(w, "streaming")
		// After the headers: the data can still be saved, the ID can no
		// longer change.
		s.Put("after", 2)
	}))
	resp := do(t, h, "")
	c := mustCookie(t, resp)
	sess, err := e.st.Load(t.Context(), c.Value)
	if err != nil {
		t.Fatal(err)
	}
	if compact(sess.Data) != `{"after":2,"before":1}` {
		t.Errorf("stored %s", sess.Data)
	}

	// A Renew then fails, and ends the session rather than leave what
	// was put (a log in's identity, perhaps) under the ID it had.
	h = e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		fmt.Fprint(w, "streaming")
		s.Put("after", 3)
		renewErr = s.Renew()
	}))
	body(t, do(t, h, c.Value))
	if !errors.Is(renewErr, httpsession.ErrNeedsCookie) {
		t.Errorf("Renew after the response started: %v, want ErrNeedsCookie", renewErr)
	}
	if _, err := e.st.Load(t.Context(), c.Value); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("the session after a refused Renew: %v, want ErrNotFound", err)
	}
}

func TestCommitFailureReplacesResponse(t *testing.T) {
	e := newEnv(t, []fsstore.Option{fsstore.WithMaxSize(64)})
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpsession.FromContext(r.Context()).Put("big", bytes.Repeat([]byte("x"), 100))
		w.Header().Set("Location", "/next")
		w.WriteHeader(http.StatusFound)
		fmt.Fprint(w, "handler body")
	}))
	resp := do(t, h, "")
	if resp.StatusCode != 500 || resp.Header.Get("Location") != "" || sessionCookie(resp) != nil {
		t.Errorf("status %d, Location %q, cookie %v: want a bare 500", resp.StatusCode, resp.Header.Get("Location"), sessionCookie(resp))
	}
	if b := body(t, resp); bytes.Contains([]byte(b), []byte("handler body")) {
		t.Errorf("handler body sent: %q", b)
	}
}

func TestNoIDInLogs(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	// Damage the record: the middleware logs and starts afresh.
	if err := os.WriteFile(recordPath(e.st, id), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	late := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		fmt.Fprint(w, "x")
		s.Put("late", 1) // new session after the headers: logged error
	}))
	do(t, late, id)
	if e.log.Len() == 0 {
		t.Fatal("nothing logged")
	}
	if bytes.Contains(e.log.Bytes(), []byte(id)) {
		t.Errorf("log contains the session ID: %s", e.log)
	}
}

func TestTypedGetters(t *testing.T) {
	e := newEnv(t, nil)
	when := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	set := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		for k, v := range map[string]any{"s": "str", "i": 42, "big": int64(1<<62 + 1), "f": 1.5, "b": true, "t": when, "flash": "hi"} {
			if err := s.Put(k, v); err != nil {
				t.Error(err)
			}
		}
		if err := s.Put("bad", make(chan int)); err == nil {
			t.Error("Put of a channel succeeded")
		}
	}))
	id := mustCookie(t, do(t, set, "")).Value
	tests := []struct {
		name string
		get  func(*httpsession.Session) any
		want any
	}{
		{"string", func(s *httpsession.Session) any { return s.GetString("s") }, "str"},
		{"int", func(s *httpsession.Session) any { return s.GetInt("i") }, 42},
		{"int64 exact", func(s *httpsession.Session) any { return s.GetInt64("big") }, int64(1<<62 + 1)},
		{"float", func(s *httpsession.Session) any { return s.GetFloat64("f") }, 1.5},
		{"bool", func(s *httpsession.Session) any { return s.GetBool("b") }, true},
		{"time", func(s *httpsession.Session) any { return s.GetTime("t").Equal(when) }, true},
		{"wrong type", func(s *httpsession.Session) any { return s.GetInt("s") }, 0},
		{"missing", func(s *httpsession.Session) any { return s.GetString("nope") }, ""},
		{"exists", func(s *httpsession.Session) any { return s.Exists("b") }, true},
		{"keys", func(s *httpsession.Session) any { return fmt.Sprint(s.Keys()) }, "[b big f flash i s t]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			h := e.m.Middleware(httpsession.ReadOnly)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = tt.get(httpsession.FromContext(r.Context()))
			}))
			do(t, h, id)
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	pop := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, httpsession.FromContext(r.Context()).PopString("flash"))
	}))
	if got := body(t, do(t, pop, id)); got != "hi" {
		t.Errorf("first pop %q", got)
	}
	if got := body(t, do(t, pop, id)); got != "" {
		t.Errorf("second pop %q", got)
	}
}

// A request that left with the cookie of before a log in (a poll, another
// tab, a request queued on the session's lock) and is answered after the
// log in's Renew finds no record under its ID. It used to answer with a
// removal cookie, which the browser applied after the log in's new
// cookie: the user was logged out right after logging in.
func TestStaleCookieAfterRenewKeepsLogin(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	login := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		if err := s.Put("user", "ada"); err != nil {
			t.Error(err)
		}
		if err := s.Renew(); err != nil {
			t.Error(err)
		}
	}))
	read := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpsession.FromContext(r.Context()).GetString("user")
	}))
	respLogin := do(t, login, id)
	respPoll := do(t, read, id)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://example.com/")
	jar.SetCookies(u, respLogin.Cookies())
	jar.SetCookies(u, respPoll.Cookies())
	for _, c := range jar.Cookies(u) {
		if c.Name == "session" {
			if c.Value == id {
				t.Fatalf("the browser holds the pre-login ID")
			}
			return
		}
	}
	t.Errorf("the browser holds no session cookie after logging in: the stale request's Set-Cookie %q", respPoll.Header.Values("Set-Cookie"))
}

type noFlushWriter struct{ http.ResponseWriter }

// http.ResponseController's Flush through the middleware reports what
// happened, as it does without it: the underlying writer's refusal, or
// the error answer that replaced the response.
func TestFlushErrorThroughMiddleware(t *testing.T) {
	e := newEnv(t, nil)
	var got error
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = http.NewResponseController(w).Flush()
	}))
	h.ServeHTTP(noFlushWriter{httptest.NewRecorder()}, httptest.NewRequest("GET", "/", nil))
	if !errors.Is(got, http.ErrNotSupported) {
		t.Errorf("Flush through the middleware on a writer that cannot flush: %v, want http.ErrNotSupported", got)
	}
	e.st.Close() // every commit fails from now on
	h = e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Put("k", 1); err != nil {
			t.Error(err)
		}
		got = http.NewResponseController(w).Flush()
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got == nil || rec.Code < 500 {
		t.Errorf("Flush after a failed commit: %v (status %d), want an error", got, rec.Code)
	}
}

// In Optimistic mode a commit whose record another request saved since
// it was read fails with ErrConflict (409) rather than lose that save;
// with Renew too, which used to copy the stale values to a fresh ID and
// delete the record under the other request's change unchecked.
func TestOptimisticRenewKeepsConcurrentSave(t *testing.T) {
	for _, renew := range []bool{false, true} {
		t.Run(map[bool]string{false: "put", true: "put+renew"}[renew], func(t *testing.T) {
			e := newEnv(t, nil)
			id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			addCart := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := httpsession.FromContext(r.Context()).Put("cart", "book"); err != nil {
					t.Error(err)
				}
			}))
			h := e.m.Middleware(httpsession.Optimistic)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				s.GetInt("n")
				if resp := do(t, addCart, id); resp.StatusCode != http.StatusOK {
					t.Fatalf("concurrent request: %d", resp.StatusCode)
				}
				if err := s.Put("user", "ada"); err != nil {
					t.Error(err)
				}
				if renew {
					if err := s.Renew(); err != nil {
						t.Error(err)
					}
				}
			}))
			resp := do(t, h, id)
			if resp.StatusCode != http.StatusConflict {
				t.Errorf("status %d, want 409", resp.StatusCode)
			}
			rec, err := e.st.Load(t.Context(), id)
			if err != nil {
				t.Fatalf("the record the other request saved: %v", err)
			}
			if !strings.Contains(string(rec.Data), "cart") {
				t.Errorf("the concurrent save is lost: record %q", rec.Data)
			}
		})
	}
}

// Browsers send every cookie of the name that matches the request, the
// longest path first: one left by an earlier Cookie.Path, or by a sibling
// subdomain, comes before the session's. It used to hide the session (only
// the first was read), and every request under that path started a new
// one. A malformed cookie beside a valid one is not cleared either: the
// removal would clear the valid one.
func TestDuplicateCookieNames(t *testing.T) {
	e := newEnv(t, nil)
	valid := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	stale, _ := fsstore.NewID()
	for _, first := range []string{stale, "x"} {
		req := httptest.NewRequest("GET", "http://example.com/app/", nil)
		req.Header.Set("Cookie", "session="+first+"; session="+valid)
		rec := httptest.NewRecorder()
		e.m.Handler(counter()).ServeHTTP(rec, req)
		resp := rec.Result()
		if b := body(t, resp); b != "2" && b != "3" {
			t.Errorf("first cookie %q: body %q, want the valid session's counter; Set-Cookie %q", first, b, resp.Header.Values("Set-Cookie"))
		}
		if c := sessionCookie(resp); c != nil && (c.Value == "" || c.Value != valid) {
			t.Errorf("first cookie %q: Set-Cookie %v, want none or the valid session's", first, c)
		}
	}
}

// The removal cookie would clear every cookie of the name: it is not sent
// when any of the request's cookies names a record that is merely gone
// (renewed away a moment ago, perhaps), whatever the others name.
func TestGoneCookieBesideExpiredIsNotCleared(t *testing.T) {
	e := newEnv(t, nil)
	expired := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	e.clk.Advance(11 * time.Minute)
	gone, _ := fsstore.NewID()
	read := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpsession.FromContext(r.Context()).GetString("user")
	}))
	for _, cookies := range [][2]string{{gone, expired}, {expired, gone}} {
		req := httptest.NewRequest("GET", "http://example.com/", nil)
		req.Header.Set("Cookie", "session="+cookies[0]+"; session="+cookies[1])
		rec := httptest.NewRecorder()
		read.ServeHTTP(rec, req)
		if c := sessionCookie(rec.Result()); c != nil {
			t.Errorf("cookies %q: Set-Cookie %v, want none", cookies, c)
		}
	}
	// Alone, the expired one is cleared.
	if c := sessionCookie(do(t, read, expired)); c == nil || c.MaxAge >= 0 {
		t.Errorf("an expired session's cookie: Set-Cookie %v, want its removal", c)
	}
}
