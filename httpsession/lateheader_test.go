package httpsession_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestHeaderWritesAfterErrorAnswer: once a commit failed and the error
// handler answered in the handler's place, a status the handler writes
// after that is not the response's: the middleware drops it, whatever it
// is. A 1xx (103 Early Hints, 100 Continue) went through to net/http,
// which had sent the error answer's header already and logged
// "superfluous response.WriteHeader call" on the server's ErrorLog for a
// handler that had done nothing wrong; a later 200 or 500 was dropped
// without a word. Before the commit, an informational status still goes
// out ahead of the answer.
func TestHeaderWritesAfterErrorAnswer(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 100) // above the store's 64-byte limit: the commit fails
	for _, tc := range []struct {
		name string
		// fail makes the commit fail, answered by the error handler.
		fail func(w http.ResponseWriter)
		then []int // the statuses the handler writes after that
	}{
		{"103 after Write", func(w http.ResponseWriter) { fmt.Fprint(w, "body") }, []int{http.StatusEarlyHints}},
		{"100 after WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }, []int{http.StatusContinue}},
		{"103 after Flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, []int{http.StatusEarlyHints}},
		{"103 after Hijack", func(w http.ResponseWriter) { http.NewResponseController(w).Hijack() }, []int{http.StatusEarlyHints}},
		{"103 after ReadFrom", func(w http.ResponseWriter) { io.Copy(w, io.LimitReader(strings.NewReader("file"), 4)) }, []int{http.StatusEarlyHints}},
		{"every kind after Write", func(w http.ResponseWriter) { fmt.Fprint(w, "body") },
			[]int{http.StatusEarlyHints, http.StatusContinue, http.StatusSwitchingProtocols, http.StatusOK, http.StatusFound, http.StatusInternalServerError}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, []fsstore.Option{fsstore.WithMaxSize(64)})
			done := make(chan struct{})
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				if err := httpsession.FromContext(r.Context()).Put("big", big); err != nil {
					t.Error(err)
				}
				tc.fail(w)
				for _, code := range tc.then {
					w.WriteHeader(code)
				}
			}))
			srv, errLog := serveLogged(t, h)
			resp, _ := get(t, srv.URL)
			waitDone(t, done)
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("status %d, want the error answer's 500", resp.StatusCode)
			}
			if s := errLog.String(); s != "" {
				t.Errorf("the server's ErrorLog has: %s", s)
			}
		})
	}

	t.Run("103 before the commit goes out", func(t *testing.T) {
		e := newEnv(t, nil)
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</app.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			if err := httpsession.FromContext(r.Context()).Put("n", 1); err != nil {
				t.Error(err)
			}
			fmt.Fprint(w, "page")
		}))
		srv, errLog := serveLogged(t, h)
		resp, interim := get(t, srv.URL)
		if resp.StatusCode != http.StatusOK || sessionCookie(resp) == nil {
			t.Errorf("status %d, cookie %v: want 200 with the session's cookie", resp.StatusCode, sessionCookie(resp))
		}
		if len(interim) != 1 || interim[0] != http.StatusEarlyHints {
			t.Errorf("informational responses %v, want [103]", interim)
		}
		if s := errLog.String(); s != "" {
			t.Errorf("the server's ErrorLog has: %s", s)
		}
	})
}

// serveLogged starts a real HTTP server for h whose ErrorLog, where
// net/http reports a handler's misuse of its writer, is returned.
func serveLogged(t *testing.T, h http.Handler) (*httptest.Server, *testenv.Buffer) {
	t.Helper()
	var errLog testenv.Buffer
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(&errLog, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &errLog
}

// get sends a GET to url and returns the response, its body read, and the
// informational statuses that came before it.
func get(t *testing.T, url string) (*http.Response, []int) {
	t.Helper()
	var (
		mu      sync.Mutex
		interim []int
	)
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		interim = append(interim, code)
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	return resp, interim
}

// waitDone waits for the handler to return: net/http logs a superfluous
// call while the handler runs, which may be after the client has the
// response.
func waitDone(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(2 * time.Minute): // a hang detector, not a timing threshold
		t.Fatal("the handler did not return")
	}
}
