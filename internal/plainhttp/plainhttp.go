// Package plainhttp tells whether a Secure cookie sent in answer to a
// request will come back: browsers refuse to store one sent over plain
// HTTP, or never send it back over HTTP, except from a loopback host. So
// an application reached over plain HTTP at another address (a
// development VM, a staging site without TLS) starts a new session on
// every request, and nothing else says why. httpsession and gorillastore
// warn of it with this package's answer.
package plainhttp

import (
	"encoding/json"
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
// headers say the client used HTTPS: X-Forwarded-Proto, RFC 7239's
// Forwarded (proto=), CloudFront-Forwarded-Proto, Cloudflare's CF-Visitor
// ({"scheme":"https"}), Fastly-SSL: 1, X-Forwarded-Scheme, X-Forwarded-Ssl:
// on, Front-End-Https: on.
//
// X-Forwarded-Proto and Forwarded list one scheme per hop when the proxies
// of a chain each add the one they were sent ("https, http"): only the
// first counts, what the proxy nearest the client was sent, the browser's.
// The others are hops between proxies; an "https" among them says nothing
// of the browser's ("http, https": the browser used HTTP, and drops or
// never sends back the cookie). In Forwarded, that is the first
// element's proto (RFC 7239, section 4); a first element without one says
// nothing of the browser's scheme, and a later element's is a hop's. Headers of different names are different proxies'
// accounts, in no order one can know, so any that says HTTPS counts: an
// edge's CloudFront-Forwarded-Proto: https, CF-Visitor or Fastly-SSL
// comes with the X-Forwarded-Proto: http of the load balancer behind it,
// set to what the edge used.
func SentOverHTTPS(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.URL.Scheme, "https") {
		return true
	}
	h := r.Header
	return strings.EqualFold(firstElement(h.Values("X-Forwarded-Proto")), "https") ||
		strings.EqualFold(forwardedProto(h.Values("Forwarded")), "https") ||
		strings.EqualFold(firstElement(h.Values("Cloudfront-Forwarded-Proto")), "https") ||
		strings.EqualFold(firstElement(h.Values("X-Forwarded-Scheme")), "https") ||
		strings.EqualFold(firstElement(h.Values("X-Forwarded-Ssl")), "on") ||
		strings.EqualFold(firstElement(h.Values("Front-End-Https")), "on") ||
		strings.EqualFold(cfVisitorScheme(h.Get("Cf-Visitor")), "https") ||
		firstElement(h.Values("Fastly-Ssl")) == "1"
}

// firstElement returns the first non-empty element of a comma-separated
// list field, whose lines make one list (RFC 9110, section 5.3), and which
// may hold empty elements (section 5.6.1).
func firstElement(lines []string) string {
	for _, l := range lines {
		for e := range strings.SplitSeq(l, ",") {
			if e = strings.TrimSpace(e); e != "" {
				return e
			}
		}
	}
	return ""
}

// forwardedProto returns the proto of the first element of a Forwarded
// field (RFC 7239), unquoted, or "" when it has none. Elements are
// separated by commas, their pairs by semicolons; a quoted value may hold
// either. The field's lines make one list, which may hold empty elements
// (RFC 9110, section 5.6.1): the first element is the first non-empty
// one. The field is read pair by pair, up to the first element's end,
// with no copy of the rest (the field is the client's, up to net/http's
// MaxHeaderBytes, and read on every request that gets a Secure cookie
// while all is well).
func forwardedProto(lines []string) string {
	for _, l := range lines {
		quoted, escaped, start := false, false, 0
		inElement := false // the element read holds a non-empty pair
		for i := 0; i <= len(l); i++ {
			if i < len(l) {
				switch c := l[i]; {
				case escaped:
					escaped = false
					continue
				case quoted && c == '\\':
					escaped = true
					continue
				case c == '"':
					quoted = !quoted
					continue
				case quoted || (c != ',' && c != ';'):
					continue
				}
			}
			pair := strings.TrimSpace(l[start:i])
			k, v, _ := strings.Cut(pair, "=")
			if strings.EqualFold(strings.TrimSpace(k), "proto") {
				return strings.Trim(strings.TrimSpace(v), `"`)
			}
			inElement = inElement || pair != ""
			if inElement && (i == len(l) || l[i] == ',') {
				// The first element ended without a proto.
				return ""
			}
			start = i + 1
		}
	}
	return ""
}

// cfVisitorScheme returns the scheme of Cloudflare's CF-Visitor field, a
// JSON object ({"scheme":"https"}), or "" for a field that is not one.
func cfVisitorScheme(v string) string {
	if v == "" {
		return ""
	}
	var o struct {
		Scheme string `json:"scheme"`
	}
	if json.Unmarshal([]byte(v), &o) != nil {
		return ""
	}
	return o.Scheme
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
