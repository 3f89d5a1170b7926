package plainhttp_test

import (
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/plainhttp"
)

func TestSecureCookieLost(t *testing.T) {
	cases := []struct {
		name   string
		target string
		header map[string]string
		tls    bool
		want   bool
	}{
		{"plain HTTP to a named host", "http://devbox:8080/", nil, false, true},
		{"plain HTTP to an address", "http://10.0.0.5/", nil, false, true},
		{"TLS", "http://devbox/", nil, true, false},
		{"https URL (a handler test)", "https://devbox/", nil, false, false},
		{"X-Forwarded-Proto", "http://devbox/", map[string]string{"X-Forwarded-Proto": "HTTPS"}, false, false},
		{"X-Forwarded-Proto http", "http://devbox/", map[string]string{"X-Forwarded-Proto": "http"}, false, true},
		// A chain of proxies that each add the scheme they were sent: the
		// first is the client's, the others are hops between proxies.
		{"X-Forwarded-Proto: client over HTTPS, then an HTTP hop", "http://devbox/", map[string]string{"X-Forwarded-Proto": "https, http"}, false, false},
		{"X-Forwarded-Proto: client over HTTP, then an HTTPS hop", "http://devbox/", map[string]string{"X-Forwarded-Proto": "http, https"}, false, true},
		{"X-Forwarded-Proto: an empty first element", "http://devbox/", map[string]string{"X-Forwarded-Proto": " , https"}, false, false},
		{"Forwarded", "http://devbox/", map[string]string{"Forwarded": `for=1.2.3.4;proto="https"`}, false, false},
		{"Forwarded http", "http://devbox/", map[string]string{"Forwarded": `for=1.2.3.4;proto=http`}, false, true},
		{"Forwarded: client over HTTPS, then an HTTP hop", "http://devbox/", map[string]string{"Forwarded": `for=1.2.3.4;proto=https, for=10.0.0.1;proto=http`}, false, false},
		{"Forwarded: client over HTTP, then an HTTPS hop", "http://devbox/", map[string]string{"Forwarded": `for=1.2.3.4;proto=http, for=10.0.0.1;proto=https`}, false, true},
		// A later element's proto is a hop between proxies: the client's
		// scheme is unknown (RFC 7239, section 4).
		{"Forwarded: the first proxy said no proto", "http://devbox/", map[string]string{"Forwarded": `for=1.2.3.4, for=10.0.0.1;proto=https`}, false, true},
		{"Forwarded: an empty first element", "http://devbox/", map[string]string{"Forwarded": ` , ;for=1.2.3.4;proto=https`}, false, false},
		{"Forwarded: proto after a quoted comma", "http://devbox/", map[string]string{"Forwarded": `for="a,b", for=x;proto=https`}, false, true},
		{"Forwarded: a quoted comma and semicolon", "http://devbox/", map[string]string{"Forwarded": `for="_a, b;c";Proto=HTTPS;by=x`}, false, false},
		{"Forwarded: proto in a quoted value", "http://devbox/", map[string]string{"Forwarded": `for="x;proto=https";proto=http`}, false, true},
		{"X-Forwarded-Ssl", "http://devbox/", map[string]string{"X-Forwarded-Ssl": "on"}, false, false},
		// CloudFront says what the viewer used; the load balancer behind
		// it sets X-Forwarded-Proto to what CloudFront used.
		{"CloudFront-Forwarded-Proto", "http://devbox/", map[string]string{"CloudFront-Forwarded-Proto": "https", "X-Forwarded-Proto": "http"}, false, false},
		{"CloudFront-Forwarded-Proto http", "http://devbox/", map[string]string{"CloudFront-Forwarded-Proto": "http"}, false, true},
		// Cloudflare's (Flexible TLS) and Fastly's account of the viewer's
		// scheme, with the load balancer behind them saying what they used.
		{"CF-Visitor", "http://devbox/", map[string]string{"CF-Visitor": `{"scheme":"https"}`, "X-Forwarded-Proto": "http"}, false, false},
		{"CF-Visitor with spaces", "http://devbox/", map[string]string{"CF-Visitor": `{ "scheme" : "HTTPS" }`}, false, false},
		{"CF-Visitor http", "http://devbox/", map[string]string{"CF-Visitor": `{"scheme":"http"}`}, false, true},
		{"CF-Visitor malformed", "http://devbox/", map[string]string{"CF-Visitor": `{"scheme":"https"`}, false, true},
		{"Fastly-SSL", "http://devbox/", map[string]string{"Fastly-SSL": "1", "X-Forwarded-Proto": "http"}, false, false},
		{"Fastly-SSL 0", "http://devbox/", map[string]string{"Fastly-SSL": "0"}, false, true},
		{"X-Forwarded-Scheme", "http://devbox/", map[string]string{"X-Forwarded-Scheme": "https"}, false, false},
		{"Front-End-Https", "http://devbox/", map[string]string{"Front-End-Https": "On"}, false, false},
		{"localhost", "http://localhost:8080/", nil, false, false},
		{"a .localhost name", "http://app.localhost/", nil, false, false},
		{"127.0.0.1", "http://127.0.0.1:8080/", nil, false, false},
		{"::1", "http://[::1]:8080/", nil, false, false},
		{"localhost.", "http://LOCALHOST./", nil, false, false},
		{"a name that only starts like localhost", "http://localhost.example.com/", nil, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", c.target, nil)
			if !c.tls {
				r.TLS = nil
			} else {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			if got := plainhttp.SecureCookieLost(r); got != c.want {
				t.Errorf("SecureCookieLost(%s %v) = %v, want %v", c.target, c.header, got, c.want)
			}
		})
	}
	// A list on two lines is one list (RFC 9110, section 5.3).
	r := httptest.NewRequest("GET", "http://devbox/", nil)
	r.Header.Add("X-Forwarded-Proto", "http")
	r.Header.Add("X-Forwarded-Proto", "https")
	if !plainhttp.SecureCookieLost(r) {
		t.Error("SecureCookieLost with X-Forwarded-Proto lines http and https = false, want true: the client used HTTP")
	}
	// So is Forwarded's: its first element is the first line's.
	r = httptest.NewRequest("GET", "http://devbox/", nil)
	r.Header.Add("Forwarded", "for=1.2.3.4")
	r.Header.Add("Forwarded", "for=10.0.0.1;proto=https")
	if !plainhttp.SecureCookieLost(r) {
		t.Error("SecureCookieLost with Forwarded lines for=1.2.3.4 and for=10.0.0.1;proto=https = false, want true: the second proto is a hop's")
	}
	if plainhttp.SecureCookieLost(nil) {
		t.Error("SecureCookieLost(nil) = true, want false (no request, nothing to judge)")
	}
}

// TestSentOverHTTPSHugeHeader: the check runs on every request that gets
// a Secure cookie until it warns, so on each request of a site served
// right; a header of a megabyte of empty list elements (a client's, up to
// net/http's MaxHeaderBytes) must not cost memory by the element.
func TestSentOverHTTPSHugeHeader(t *testing.T) {
	huge := strings.Repeat(",", 1<<20)
	for _, name := range []string{"Forwarded", "X-Forwarded-Proto", "CF-Visitor"} {
		r := httptest.NewRequest("GET", "http://devbox/", nil)
		r.Header.Set(name, huge+"proto=https")
		allocs := testing.AllocsPerRun(3, func() { plainhttp.SentOverHTTPS(r) })
		if allocs > 16 {
			t.Errorf("SentOverHTTPS with a %s of 1 MiB of commas: %v allocations a call, want at most 16", name, allocs)
		}
	}
}
