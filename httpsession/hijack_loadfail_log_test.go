package httpsession_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// TestHijackAfterStartLoadFailureLoggedOnce: a session first read after
// the response started and not loaded (the store did not answer), then
// the connection hijacked, is logged by the Hijack, which reports its
// release's failure itself, and not a second time by the commit after the
// handler: each request of a streaming route logged the outage twice.
func TestHijackAfterStartLoadFailureLoggedOnce(t *testing.T) {
	e := newEnv(t, nil)
	id := firstCookie(t, e.st)
	e.log.Reset()
	done := make(chan struct{})
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		e.st.Close()
		s.GetInt("n")
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		fmt.Fprint(conn, "0\r\n\r\n")
		conn.Close()
	}))
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		h.ServeHTTP(w, r)
	}))
	resp := call(t, client(t, srv), "GET", srv.URL, id, nil)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	<-done
	if n := strings.Count(e.log.String(), "msg=\"httpsession: the session could not be loaded"); n != 1 {
		t.Errorf("the load's failure logged %d times, want once:\n%s", n, e.log.String())
	}
}
