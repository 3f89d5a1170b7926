// Package plainhttp tells whether a Secure cookie sent in answer to a
// request will come back: browsers refuse to store one sent over plain
// HTTP, or never send it back over HTTP, except from a loopback host. So
// an application reached over plain HTTP at another address (a
// development VM, a staging site without TLS) starts a new session on
// every request, and nothing else says why. httpsession and gorillastore
// warn of it with this package's answer.
package plainhttp

import (
	"net"
	"net/http"
	"strings"
)

// SecureCookieLost reports whether a browser would not send back a Secure
// cookie set in answer to r: r came over plain HTTP, no proxy header says
// the client used HTTPS, and its Host is not a loopback name or address.
// The proxy headers are anyone's to forge: the answer may decide whether
// to warn, never anything a cookie or a session depends on.
func SecureCookieLost(r *http.Request) bool {
	return r != nil && !SentOverHTTPS(r) && !Loopback(r.Host)
}

// SentOverHTTPS reports whether r came over TLS, or through a proxy whose
// headers say the client used HTTPS (X-Forwarded-Proto, RFC 7239's
// Forwarded, X-Forwarded-Ssl).
func SentOverHTTPS(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.URL.Scheme, "https") {
		return true
	}
	for _, v := range r.Header.Values("X-Forwarded-Proto") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "https") {
				return true
			}
		}
	}
	for _, v := range r.Header.Values("Forwarded") {
		for p := range strings.FieldsFuncSeq(v, func(c rune) bool { return c == ',' || c == ';' }) {
			k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "proto") && strings.EqualFold(strings.Trim(val, `"`), "https") {
				return true
			}
		}
	}
	return strings.EqualFold(r.Header.Get("X-Forwarded-Ssl"), "on")
}

// Loopback reports whether host (a Host header, with or without a port)
// is a loopback name or address, from which browsers take a Secure cookie
// over plain HTTP.
func Loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
