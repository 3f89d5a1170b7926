package ginsession_test

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/adapters/ginsession"
)

// A handler that takes over the connection through gin's writer (a
// websocket upgrade) saves the session first, as httpsession's Hijack
// does, and gin writes nothing on the connection afterwards: it knows the
// writer was hijacked, as without the middleware.
func TestHijackSavesTheSession(t *testing.T) {
	r := gin.New()
	r.Use(ginsession.Handler(plainManager(t)))
	r.GET("/login", func(c *gin.Context) {
		if err := ginsession.FromContext(c).Put("n", 1); err != nil {
			t.Error(err)
		}
		c.String(http.StatusOK, "ok")
	})
	var hijackErr error
	r.GET("/ws", func(c *gin.Context) {
		if err := ginsession.FromContext(c).Put("n", 2); err != nil {
			t.Error(err)
		}
		conn, brw, err := c.Writer.Hijack()
		if hijackErr = err; err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
		brw.Flush()
	})
	r.GET("/n", func(c *gin.Context) {
		c.String(http.StatusOK, "%d", ginsession.FromContext(c).GetInt("n"))
	})
	var serverLog bytes.Buffer
	srv := httptest.NewUnstartedServer(r)
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sid" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/ws", nil)
	req.AddCookie(cookie)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	ws, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	if ws.StatusCode != http.StatusSwitchingProtocols || hijackErr != nil {
		t.Fatalf("upgrade: status %d, Hijack: %v", ws.StatusCode, hijackErr)
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("after the hijacker's answer the connection carried %q", rest)
	}
	conn.Close()

	req, _ = http.NewRequest("GET", srv.URL+"/n", nil)
	req.AddCookie(cookie)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "2" {
		t.Errorf("after the hijacked request the session holds %q; want 2", body)
	}
	srv.Close()
	if serverLog.Len() != 0 {
		t.Errorf("server log: %q", serverLog.String())
	}
}

// A Hijack that cannot save the session (a new one needs a cookie, which
// the hijacker's answer cannot carry) is answered by the error handler
// without the headers the handler set for the answer it meant to give, as
// a failed commit at the first write is: a download's file name, a
// Cache-Control that lets a shared cache keep the error.
func TestFailedHijackAnswerDropsHandlersHeaders(t *testing.T) {
	r := gin.New()
	r.Use(ginsession.Handler(plainManager(t)))
	var hijackErr error
	r.GET("/ws", func(c *gin.Context) {
		if err := ginsession.FromContext(c).Put("n", 1); err != nil {
			t.Error(err)
		}
		c.Header("Content-Disposition", `attachment; filename="feed.csv"`)
		c.Header("Cache-Control", "public, max-age=3600")
		_, _, hijackErr = c.Writer.Hijack()
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hijackErr == nil || resp.StatusCode < 400 {
		t.Fatalf("Hijack: %v, status %d; want an error answer", hijackErr, resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Disposition"); got != "" {
		t.Errorf("the error answer carries the handler's Content-Disposition %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got == "public, max-age=3600" {
		t.Errorf("the error answer carries the handler's Cache-Control %q", got)
	}
}
