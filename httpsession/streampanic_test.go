package httpsession_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// A handler streams a 200, changes the session, then panics under a
// recovery middleware inside the session's: the recovery's 500 (a
// superfluous WriteHeader, the response has started) still says the
// request failed, so the change is not saved at its end.
func TestStreamThenPanicUnderRecovery(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	resp := do(t, e.m.Handler(recovering(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "partial")
		w.(http.Flusher).Flush()
		httpsession.FromContext(r.Context()).Put("n", 99)
		panic("bug")
	}))), id)
	sess, err := e.st.Load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sess.Data), "99") {
		t.Errorf("status %d: the handler panicked, yet its change was saved: %s", resp.StatusCode, sess.Data)
	}
}
