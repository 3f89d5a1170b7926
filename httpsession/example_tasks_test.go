package httpsession_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// exampleStore opens a store in a new temporary directory; remove it with
// the returned function. In production every app server opens the same NFS
// or EFS directory; in a test, open the store in t.TempDir().
func exampleStore() (*fsstore.Store, func()) {
	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	st, err := fsstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	return st, func() {
		st.Close()
		os.RemoveAll(dir)
	}
}

// exampleBrowser returns a client with a cookie jar for srv, and a function
// that prints the body of each response it is given.
func exampleBrowser(srv *httptest.Server) (*http.Client, func(*http.Response, error)) {
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	return browser, func(resp *http.Response, err error) {
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
}

// A flash message: a value shown once, on the page after a redirect.
// PopString reads the value and deletes it, so the commit saves the
// session without it. Show flashes on routes that can write the session
// (Exclusive or Optimistic): in a ReadOnly route, popping one that is there
// makes the request fail with fsstore.ErrReadOnly.
func ExampleSession_PopString() {
	st, cleanup := exampleStore()
	defer cleanup()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		// ... store the item ...
		s := httpsession.FromContext(r.Context())
		if err := s.Put("flash", "item "+r.FormValue("name")+" saved"); err != nil {
			http.Error(w, "try again", httpsession.StatusCode(err))
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if msg := httpsession.FromContext(r.Context()).PopString("flash"); msg != "" {
			fmt.Fprintf(w, "[%s] ", msg)
		}
		fmt.Fprint(w, "the item list")
	})

	srv := httptest.NewTLSServer(httpsession.New(st).Handler(mux)) // the default cookie is Secure
	defer srv.Close()
	browser, show := exampleBrowser(srv)
	show(browser.PostForm(srv.URL+"/items", url.Values{"name": {"pen"}})) // follows the redirect
	show(browser.Get(srv.URL))
	// Output:
	// [item pen saved] the item list
	// the item list
}

// Cart is a value kept in the session as a JSON document.
type Cart struct {
	Items []string `json:"items"`
	Total int      `json:"total_cents"`
}

// A struct in the session: Put encodes any value with encoding/json, and Get
// decodes it into a pointer, as json.Unmarshal does (so only exported
// fields, under their json tags, are kept). Get reports whether the key
// exists; its error says that the session could not be loaded (the error
// handler then answers in place of the handler) or that the stored value
// does not fit dst.
func ExampleSession_Get() {
	st, cleanup := exampleStore()
	defer cleanup()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		var cart Cart // stays the zero Cart when the session has none
		if _, err := s.Get("cart", &cart); err != nil {
			http.Error(w, "try again", httpsession.StatusCode(err))
			return
		}
		cart.Items = append(cart.Items, r.FormValue("item"))
		cart.Total += 250
		if err := s.Put("cart", cart); err != nil {
			http.Error(w, "try again", httpsession.StatusCode(err))
			return
		}
		fmt.Fprintf(w, "%d items, %d cents", len(cart.Items), cart.Total)
	})

	srv := httptest.NewTLSServer(httpsession.New(st).Handler(mux))
	defer srv.Close()
	browser, show := exampleBrowser(srv)
	show(browser.PostForm(srv.URL+"/cart", url.Values{"item": {"pen"}}))
	show(browser.PostForm(srv.URL+"/cart", url.Values{"item": {"ink"}}))
	// Output:
	// 1 items, 250 cents
	// 2 items, 500 cents
}

// A cookie of your own: the fields left zero keep the safe defaults
// (HttpOnly, Secure, SameSite=Lax, Path=/, host-only), so each field set
// changes one thing. Here a __Host- name, which browsers accept only
// from a Secure, host-only cookie on Path=/ (New refuses a Cookie that
// breaks that rule), a stricter SameSite, and a cookie the browser forgets
// when it closes. Manager.Err reports a setting New refused.
func ExampleWithCookie() {
	st, cleanup := exampleStore()
	defer cleanup()

	sessions := httpsession.New(st, httpsession.WithCookie(httpsession.Cookie{
		Name:           "__Host-sid",
		SameSite:       http.SameSiteStrictMode,
		BrowserSession: true,
	}))
	if err := sessions.Err(); err != nil {
		log.Fatal(err) // a Cookie browsers would drop: fail at start, not on every request
	}
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Put("user", "ada"); err != nil {
			http.Error(w, "try again", httpsession.StatusCode(err))
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example.com/", nil))
	for _, c := range rec.Result().Cookies() {
		fmt.Printf("%s Path=%s HttpOnly=%t Secure=%t SameSite=Strict:%t persistent=%t\n",
			c.Name, c.Path, c.HttpOnly, c.Secure, c.SameSite == http.SameSiteStrictMode, c.MaxAge > 0)
	}
	// Output:
	// __Host-sid Path=/ HttpOnly=true Secure=true SameSite=Strict:true persistent=false
}

// Testing the application's own handlers: open a store in a temporary
// directory (t.TempDir() in a test), wrap the handlers as in production,
// and send each request with the cookie of the one before, as a browser
// would. Give httptest.NewRequest an https:// target: the request then
// counts as one that came over TLS, as the Secure cookie requires
// (a plain http:// one to a host that is not a loopback makes the Manager
// log, once, that browsers would drop the cookie).
func Example_testing() {
	st, cleanup := exampleStore() // in a test: fsstore.Open(t.TempDir())
	defer cleanup()

	// The application's handler, as main builds it.
	app := httpsession.New(st).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		n := s.GetInt("visits") + 1
		if err := s.Put("visits", n); err != nil {
			http.Error(w, "try again", httpsession.StatusCode(err))
			return
		}
		fmt.Fprintf(w, "visit %d", n)
	}))

	var cookies []*http.Cookie
	for range 2 {
		req := httptest.NewRequest("GET", "https://app.example.com/", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		if set := rec.Result().Cookies(); len(set) > 0 {
			cookies = set // the session's cookie, sent when it is created or renewed
		}
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 visit 1
	// 200 visit 2
}

// A graceful stop: on SIGTERM (here, when ctx ends), http.Server.Shutdown
// lets the requests in flight finish and save their sessions, and only once
// it has returned is the store closed. ListenAndServe (or Serve) returns
// http.ErrServerClosed as soon as Shutdown begins, before those requests
// end: closing the store when it returns would fail their saves with
// fsstore.ErrClosed. Give Shutdown a timeout longer than the requests'
// deadline, and shorter than the time the supervisor allows before it kills
// the process (docs/operator-guide.md, "When the file server goes away").
func Example_gracefulShutdown() {
	st, cleanup := exampleStore()
	defer cleanup()

	// In main: ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	inFlight, finish := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		close(inFlight)
		<-finish // a slow upstream call, during which the process is told to stop
		if err := s.Put("done", true); err != nil {
			http.Error(w, "try again", httpsession.StatusCode(err))
			return
		}
		fmt.Fprint(w, "saved")
	})
	srv := &http.Server{Handler: httpsession.New(st).Handler(mux)}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // in main: srv.ListenAndServe()
	if err != nil {
		log.Fatal(err)
	}

	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		timeout, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(timeout) // returns once the requests in flight have ended
	}()
	go func() {
		<-inFlight
		sigterm()
		close(finish)
	}()
	answer := make(chan string)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			answer <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- string(body)
	}()

	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	if err := <-stopped; err != nil { // not before: requests may still be saving
		log.Print(err)
	}
	if err := st.Close(); err != nil {
		log.Print(err)
	}
	fmt.Println(<-answer)
	// Output: saved
}

// An error page of the application's own for a session that cannot be
// loaded or saved (the file server does not answer, the user's lock wait
// timed out): StatusCode maps the error as the default handler does, and a
// 503 says when to retry. The handler's own response is discarded, so the
// user never sees a page built on a session that was not there. Here a
// closed store stands in for a file server that does not answer. (A request
// without a session cookie reads nothing: its session is new and empty.)
func ExampleWithErrorHandler() {
	st, cleanup := exampleStore()
	defer cleanup()

	sessions := httpsession.New(st, httpsession.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		code := httpsession.StatusCode(err)
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintf(w, "<p>Sorry, we could not open your session (%d). Please try again.</p>", code)
	}))
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		n := s.GetInt("visits") + 1
		if err := s.Put("visits", n); err != nil {
			return // the session could not be loaded: the error handler answers
		}
		fmt.Fprintf(w, "visit %d", n)
	}))

	var cookies []*http.Cookie
	for range 2 {
		req := httptest.NewRequest("GET", "https://app.example.com/", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		cookies = rec.Result().Cookies()
		fmt.Println(rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
		st.Close() // the second request's session cannot be read
	}
	// Output:
	// 200  visit 1
	// 503 5 <p>Sorry, we could not open your session (503). Please try again.</p>
}
