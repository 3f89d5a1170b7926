package ginsession_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestLogInRenewAfterResponseOverHTTP: a gin log in that answers first
// (c.String, c.JSON) and then renews gets ErrNeedsCookie from Renew, and
// a handler that drops it must not have the user's identity it puts next
// saved under the ID the browser came with, which may have been planted
// (session fixation): the Put fails too, through the adapter as with
// httpsession alone.
func TestLogInRenewAfterResponseOverHTTP(t *testing.T) {
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := httpsession.New(st)
	var putErr error
	r := gin.New()
	r.Use(ginsession.Handler(m))
	r.GET("/visit", func(c *gin.Context) {
		if err := ginsession.FromContext(c).Put("visits", 1); err != nil {
			c.String(http.StatusInternalServerError, "%v", err)
			return
		}
		c.String(http.StatusOK, "hello")
	})
	r.POST("/login", func(c *gin.Context) {
		s := ginsession.FromContext(c)
		c.String(http.StatusOK, "welcome")
		_ = s.Renew() // dropped: the answer went out already
		putErr = s.Put("user", "alice")
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	get := func(method, path, cookie string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	var planted string
	for _, c := range get("GET", "/visit", "").Cookies() {
		if c.Name == "session" {
			planted = c.Value
		}
	}
	if planted == "" {
		t.Fatal("the first visit set no session cookie")
	}
	get("POST", "/login", planted)
	if !errors.Is(putErr, httpsession.ErrNeedsCookie) {
		t.Errorf("Put after the refused Renew: error %v, want ErrNeedsCookie", putErr)
	}
	sess, err := st.Load(context.Background(), planted)
	if !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("the planted ID after the refused Renew: %v, %v; want ErrNotFound (the session ended)", sess, err)
	}
	if sess != nil && strings.Contains(string(sess.Data), "alice") {
		t.Errorf("the log in's identity was saved under the planted ID: %s", sess.Data)
	}
}
