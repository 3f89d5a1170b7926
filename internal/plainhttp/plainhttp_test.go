package plainhttp_test

import (
	"crypto/tls"
	"net/http/httptest"
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
		{"X-Forwarded-Proto", "http://devbox/", map[string]string{"X-Forwarded-Proto": "http, HTTPS"}, false, false},
		{"X-Forwarded-Proto http", "http://devbox/", map[string]string{"X-Forwarded-Proto": "http"}, false, true},
		{"Forwarded", "http://devbox/", map[string]string{"Forwarded": `for=1.2.3.4;proto="https"`}, false, false},
		{"X-Forwarded-Ssl", "http://devbox/", map[string]string{"X-Forwarded-Ssl": "on"}, false, false},
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
	if plainhttp.SecureCookieLost(nil) {
		t.Error("SecureCookieLost(nil) = true, want false (no request, nothing to judge)")
	}
}
