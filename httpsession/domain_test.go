package httpsession_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// A cookie whose Domain the requested host is not in is dropped by the
// browser, so every request starts a new session, silently: the Manager
// says so in its log, once, with the remedy and the host, not the path. A
// host in the domain (the domain itself, a subdomain, in any case, with a
// port or a trailing dot), a proxy header naming such a host, and a host
// that may be a proxy's name for this server (an IP address, a loopback
// or dotless name, a name under a top-level name that no public DNS
// resolves, such as internal or svc) are no reason to.
func TestCookieDomainMismatchWarnsOnce(t *testing.T) {
	const warning = "Cookie.Domain does not match"
	for _, tc := range []struct {
		name   string
		domain string
		host   string
		header http.Header
		warn   bool
	}{
		{name: "other domain", domain: "example.com", host: "www.example.org", warn: true},
		{name: "suffix, not a subdomain", domain: "example.com", host: "notexample.com:8443", warn: true},
		{name: "parent of the domain", domain: "app.example.com", host: "example.com", warn: true},
		{name: "proxy to an address, other forwarded host", domain: "example.com", host: "10.0.0.5:8080", header: http.Header{"X-Forwarded-Host": {"www.example.org"}}, warn: true},
		// RFC 6265's domain-match compares the attribute as sent: Go's
		// net/http sends "Domain=example.com." as given, and no host a
		// browser asks for without the dot matches it.
		{name: "trailing dot on the domain", domain: "example.com.", host: "www.example.com", warn: true},
		{name: "trailing dot on the domain, the domain", domain: "example.com.", host: "example.com", warn: true},
		// A Domain that is a public suffix (co.uk, herokuapp.com), which
		// browsers refuse for any host but that name itself, is not
		// judged: that needs the Public Suffix List in every binary.
		{name: "public suffix, the host itself", domain: "github.io", host: "github.io"},
		{name: "under a public suffix", domain: "example.co.uk", host: "www.example.co.uk"},
		{name: "the domain", domain: "example.com", host: "example.com"},
		{name: "subdomain", domain: "example.com", host: "www.example.com"},
		{name: "deep subdomain with port", domain: "example.com", host: "a.b.example.com:8443"},
		{name: "case and trailing dot", domain: "Example.COM", host: "WWW.example.com."},
		{name: "leading dot", domain: ".example.com", host: "www.example.com"},
		{name: "address domain", domain: "192.0.2.7", host: "192.0.2.7:8080"},
		{name: "localhost", domain: "example.com", host: "localhost:8080"},
		{name: "sub.localhost", domain: "example.com", host: "app.localhost:8080"},
		{name: "127.0.0.1", domain: "example.com", host: "127.0.0.1:8080"},
		{name: "::1", domain: "example.com", host: "[::1]:8080"},
		{name: "proxy to an address", domain: "example.com", host: "10.0.0.5:8080"},
		{name: "proxy to a container name", domain: "example.com", host: "app:8080"},
		// A reverse proxy that rewrites Host to its upstream's name and
		// sends no X-Forwarded-Host: a private network's name, which no
		// browser asked for.
		{name: "proxy to an EC2 private name", domain: "example.com", host: "ip-10-0-1-5.ec2.internal:8080", header: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"192.0.2.60"}}},
		{name: "proxy to a Kubernetes service", domain: "example.com", host: "app.default.svc.cluster.local:8080"},
		{name: "proxy to a service without the cluster domain", domain: "example.com", host: "app.default.svc"},
		{name: "proxy to a home.arpa name", domain: "example.com", host: "app.home.arpa"},
		{name: "proxy to a corp name", domain: "example.com", host: "app.corp"},
		{name: "X-Forwarded-Host", domain: "example.com", host: "app.internal", header: http.Header{"X-Forwarded-Host": {"www.example.com"}}},
		{name: "X-Forwarded-Host list", domain: "example.com", host: "app.internal", header: http.Header{"X-Forwarded-Host": {"www.example.com:443, app.internal"}}},
		{name: "Forwarded", domain: "example.com", host: "app.internal", header: http.Header{"Forwarded": {`for=192.0.2.60;host="www.example.com";proto=https`}}},
		{name: "host-only cookie", host: "www.example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, httpsession.WithCookie(httpsession.Cookie{Domain: tc.domain}))
			h := e.m.Handler(counter())
			newReq := func() *http.Request {
				req := httptest.NewRequest("GET", "https://"+tc.host+"/reset/tok3n-in-path", nil)
				req.TLS = &tls.ConnectionState{}
				for k, v := range tc.header {
					req.Header[k] = v
				}
				return req
			}
			warnsOnce(t, e, h, newReq, warning, "the cookie's Domain", tc.warn, "level=WARN", "host="+tc.host, "cookie_domain="+tc.domain)
		})
	}
}

// The warning is logged once per host, not once per Manager: a host that
// a proxy gave this server under a name that looks public, warned about
// once, must not keep a real mismatch on another host from being
// reported. A client may send any Host, so the hosts warned about are
// bounded.
func TestCookieDomainWarningPerHost(t *testing.T) {
	const warning = "Cookie.Domain does not match"
	e := newEnv(t, nil, httpsession.WithCookie(httpsession.Cookie{Domain: "example.com"}))
	h := e.m.Handler(counter())
	serve := func(host string) {
		t.Helper()
		req := httptest.NewRequest("GET", "https://"+host+"/", nil)
		req.TLS = &tls.ConnectionState{}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || sessionCookie(rec.Result()) == nil {
			t.Fatalf("%s: status %d, cookie %q: %s", host, rec.Code, rec.Header().Values("Set-Cookie"), rec.Body)
		}
	}
	// A proxy's name for its upstream that no list of private names
	// knows, then a host a browser asked for, each twice.
	for _, host := range []string{"backend.example.net", "backend.example.net", "www.example.org", "www.example.org"} {
		serve(host)
	}
	log := e.log.String()
	if n := strings.Count(log, warning); n != 2 {
		t.Fatalf("%d warnings about the cookie's Domain for two hosts it does not cover, two requests each; want 2 (one per host); log:\n%s", n, log)
	}
	for _, want := range []string{"host=backend.example.net", "host=www.example.org"} {
		if !strings.Contains(log, want) {
			t.Errorf("no warning names %s:\n%s", want, log)
		}
	}
	for i := range 20 {
		serve(fmt.Sprintf("scan%d.example.org", i))
	}
	if n := strings.Count(e.log.String(), warning); n != httpsession.MaxDomainWarnings {
		t.Errorf("%d warnings about the cookie's Domain for 22 hosts it does not cover; want %d", n, httpsession.MaxDomainWarnings)
	}
}
