package httpsession_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// A Secure cookie set in answer to a plain HTTP request is dropped by
// the browser (or never sent back), so every request starts a new
// session, silently: the Manager says so in its log, once, with the
// remedy. A request the client sent over HTTPS (TLS here, or a proxy's
// headers saying it terminated TLS), one from a loopback address a
// browser treats as secure, and an Insecure cookie are no reason to.
func TestSecureCookieOverPlainHTTPWarnsOnce(t *testing.T) {
	const warning = "Secure session cookie"
	for _, tc := range []struct {
		name   string
		cookie httpsession.Cookie
		url    string
		header http.Header
		tls    bool
		warn   bool
	}{
		{name: "plain HTTP", url: "http://app.internal/reset/tok3n-in-path", warn: true},
		{name: "plain HTTP to an address", url: "http://192.0.2.7:8080/", warn: true},
		{name: "httptest.NewRequest with a path", url: "/", warn: true},
		{name: "proxy says http", url: "http://app.internal/", header: http.Header{"X-Forwarded-Proto": {"http"}}, warn: true},
		{name: "TLS", url: "https://app.internal/", tls: true},
		{name: "X-Forwarded-Proto", url: "http://app.internal/", header: http.Header{"X-Forwarded-Proto": {"https"}}},
		{name: "X-Forwarded-Proto list", url: "http://app.internal/", header: http.Header{"X-Forwarded-Proto": {"HTTPS, http"}}},
		{name: "Forwarded", url: "http://app.internal/", header: http.Header{"Forwarded": {`for=192.0.2.60;proto=https;by=203.0.113.43`}}},
		{name: "Forwarded quoted", url: "http://app.internal/", header: http.Header{"Forwarded": {`for="[2001:db8::1]";Proto="https"`}}},
		{name: "Forwarded: a hop's proto, not the client's", url: "http://app.internal/", header: http.Header{"Forwarded": {`for=192.0.2.60, for=10.0.0.1;proto=https`}}, warn: true},
		{name: "X-Forwarded-Ssl", url: "http://app.internal/", header: http.Header{"X-Forwarded-Ssl": {"on"}}},
		{name: "behind CloudFront and a load balancer", url: "http://app.internal/", header: http.Header{"Cloudfront-Forwarded-Proto": {"https"}, "X-Forwarded-Proto": {"http"}}},
		{name: "X-Forwarded-Proto list, client over HTTP", url: "http://app.internal/", header: http.Header{"X-Forwarded-Proto": {"http, https"}}, warn: true},
		{name: "localhost", url: "http://localhost:8080/"},
		{name: "sub.localhost", url: "http://app.localhost:8080/"},
		{name: "127.0.0.1", url: "http://127.0.0.1:8080/"},
		{name: "::1", url: "http://[::1]:8080/"},
		{name: "Insecure cookie", cookie: httpsession.Cookie{Insecure: true}, url: "http://app.internal/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, httpsession.WithCookie(tc.cookie))
			h := e.m.Handler(counter())
			newReq := func() *http.Request {
				req := httptest.NewRequest("GET", tc.url, nil)
				if !tc.tls {
					req.TLS = nil
				} else if req.TLS == nil {
					req.TLS = &tls.ConnectionState{}
				}
				for k, v := range tc.header {
					req.Header[k] = v
				}
				return req
			}
			// A handler test's request made with httptest.NewRequest
			// and a path alone is one: the remedy there is a URL.
			warnsOnce(t, e, h, newReq, warning, "the Secure cookie over plain HTTP", tc.warn,
				"level=WARN", "Cookie.Insecure", "X-Forwarded-Proto", "httptest.NewRequest an https:// URL")
		})
	}
}

// A request that sets no cookie (the handler never used the session) is
// no reason to warn: nothing was dropped.
func TestNoPlainHTTPWarningWithoutCookie(t *testing.T) {
	e := newEnv(t, nil)
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	if resp := do(t, h, ""); len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("cookie set: %q", resp.Header.Values("Set-Cookie"))
	}
	if strings.Contains(e.log.String(), "Secure session cookie") {
		t.Fatalf("warned with no cookie set:\n%s", e.log)
	}
}

// warnsOnce serves three requests made by newReq to h, each answered
// with the session's cookie, and fails t unless e's log then holds the
// line with warning once (warn; about names it in the failure) or never.
// Once, the line says each of want and not the request's path (tok3n): a
// path may carry a secret (a password reset link's token), and the host
// is enough to find the app.
func warnsOnce(t *testing.T, e *env, h http.Handler, newReq func() *http.Request, warning, about string, warn bool, want ...string) {
	t.Helper()
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq())
		if rec.Code != http.StatusOK || sessionCookie(rec.Result()) == nil {
			t.Fatalf("status %d, cookie %q: %s", rec.Code, rec.Header().Values("Set-Cookie"), rec.Body)
		}
	}
	log := e.log.String()
	n := strings.Count(log, warning)
	switch {
	case warn && n != 1:
		t.Fatalf("%d warnings about %s in 3 requests, want 1; log:\n%s", n, about, log)
	case !warn && n != 0:
		t.Fatalf("warned about %s; log:\n%s", about, log)
	case !warn:
		return
	}
	for _, w := range want {
		if !strings.Contains(log, w) {
			t.Errorf("the warning lacks %q:\n%s", w, log)
		}
	}
	if strings.Contains(log, "tok3n") {
		t.Errorf("the warning logs the request's path:\n%s", log)
	}
}
