package scsstore

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/httpsession"
)

// ErrorFunc returns a handler for scs.SessionManager.ErrorFunc that
// answers as httpsession does (httpsession.StatusCode): 503 Service
// Unavailable with Retry-After when the store's file server did not answer
// in time or its circuit breaker is open (fsstore.ErrUnavailable), so that
// clients and load balancers retry rather than see scs's default 500 in an
// outage; 504 Gateway Timeout when a commit may have been saved; 499,
// logged at Info rather than Error, when the client went away; 500
// otherwise. It logs each error to logger (nil, or one without a handler:
// slog.Default()), with the request's method and path; the error never
// contains the session token.
//
//	sessionManager.ErrorFunc = scsstore.ErrorFunc(logger)
//
// When a commit fails as the handler starts its response, scs calls
// ErrorFunc and then goes on writing the handler's response (with any
// store). The answer declares its Content-Length, so that net/http refuses
// those writes (http.ErrContentLength) and the client gets the error page
// alone, not followed by the page it stands for. A compressing middleware
// around scs's drops that Content-Length, which its output does not
// match, and lets the page through after the error answer: put it inside
// (after LoadAndSave in chi's r.Use). ErrorFunc logs a warning saying so,
// once, when a writer dropped the length of an answer to a failed commit,
// at WriteHeader or at the answer's first write (a compressor that
// decides once it has bytes to look at); never for an answer to HEAD,
// which has no body, nor has the page after it. ErrorFunc flushes the
// answer (http.ResponseController): a writer that holds the response
// back to choose whether to compress and decides at a flush (gzhttp's)
// decides then on the answer alone, and sends it with its length, so
// that the page is refused after it, or drops the length, and ErrorFunc
// warns. One that ignores the flush and holds everything until the
// handler returns shows nothing while ErrorFunc runs: the page goes out
// after the answer, or the client reads a body shorter than declared,
// with no warning. http.TimeoutHandler's writer, around scs's, holds
// everything and cannot be flushed: the client reads a body cut short.
// ErrorFunc logs a warning, once, when the flush is refused as not
// supported, by such a writer or by one that passes writes on at once
// but hides the server's, having no Unwrap method.
//
// An answer whose header declares a Content-Encoding has no body, unless
// the session's Find failed (before the handler ran): the field may be
// the handler's (a page it compressed itself) or a compressing
// middleware's inside scs's, whose encoding ErrorFunc's answer bypasses,
// or that of one around scs's, which encodes the answer; the error's text
// under the wrong one is what the client fails to decode, and an empty
// body decodes under either. net/http's HTTP/2 server does not hold a
// handler to a declared length of 0, so over HTTP/2 ErrorFunc resets the
// stream's writes (http.ResponseController.SetWriteDeadline) once that
// empty answer is out: the client reads the status and a reset stream,
// not the page after it.
//
// The answer drops the headers the handler may have set for that page,
// which describe a page not sent (Content-Disposition, Content-Range,
// Content-Language, Content-Location, Location, ETag, Last-Modified, the
// digests of its bytes, a Retry-After), have the proxy in front send a file in its place
// (X-Accel-Redirect, X-Sendfile), or let caches keep it (Expires,
// CDN-Cache-Control fields, Surrogate-Control, Akamai's Edge-Control,
// X-Accel-Expires), and its
// Cache-Control is no-store: a report's download saved the error page as
// the report, or the proxy sent the report though nothing was saved, and a
// page's caching let a shared cache hand out the outage's answer once the
// store was back. Other headers stay, as
// http.Error leaves them (an outer middleware's CORS headers, without
// which a browser could not read the error, and cookies, which ErrorFunc
// cannot tell from the handler's); httpsession's error answer drops
// everything the handler set.
func ErrorFunc(logger *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	var warned atomic.Bool     // the warning about a dropped Content-Length was logged
	var heldWarned atomic.Bool // the warning about a writer that cannot be flushed was logged
	return func(w http.ResponseWriter, r *http.Request, err error) {
		l := logger
		if l == nil || l.Handler() == nil {
			// A zero slog.Logger has no handler and would panic here,
			// in the error path of an outage, instead of answering.
			l = slog.Default()
		}
		code := httpsession.StatusCode(err)
		level := slog.LevelError
		if code == httpsession.StatusClientClosedRequest {
			level = slog.LevelInfo // the client went away: not the server's failure
		}
		l.Log(r.Context(), level, "scsstore: session request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
		// http.Error's answer, with its length declared.
		body := http.StatusText(code) + "\n"
		h := w.Header()
		find := errors.As(err, new(*findError))
		if encoded(h) && !find {
			// The Content-Encoding may be the handler's or a
			// middleware's inside scs's, whose encoding this answer
			// bypasses, or a compressing middleware's around scs's,
			// which encodes it: nothing says which, and only an
			// empty body decodes either way. A failed Find comes
			// before the handler: the field is an outer one's.
			body = ""
		}
		dropPageHeaders(h)
		if code == http.StatusServiceUnavailable {
			h.Set("Retry-After", "1")
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		length := strconv.Itoa(len(body))
		h.Set("Content-Length", length)
		w.WriteHeader(code)
		dropped := h.Get("Content-Length") != length
		io.WriteString(w, body)
		unflushable, flushed := false, false
		rc := http.NewResponseController(w)
		if !find {
			// scs writes the handler's page after this answer. A
			// writer around scs's that holds the answer back (a
			// compressor deciding whether to compress once it holds
			// enough bytes, or at the end) would add the page to it:
			// a flush is its cue to decide on what it holds, this
			// answer alone, and send it. One that cannot be flushed
			// may hold it all the same (http.TimeoutHandler's does).
			err := rc.Flush()
			unflushable = errors.Is(err, http.ErrNotSupported)
			flushed = err == nil
		}
		// A writer between scs's and the server that dropped the length
		// (a compressor around scs's) lets through what scs writes
		// after a failed commit: the handler's page, under this status.
		// Only the header tells, as the answer goes out: at WriteHeader,
		// at the first write for a writer that decides only once it has
		// bytes to look at, or at the flush for one that buffers. An
		// answer to HEAD has no body, nor has the page: nothing follows
		// it.
		dropped = dropped || h.Get("Content-Length") != length
		if flushed && !dropped && body == "" && r.ProtoMajor >= 2 && r.Method != http.MethodHead {
			// net/http's HTTP/2 server refuses writes past a declared
			// Content-Length only when it is not 0: the page would go
			// out after this empty answer. A deadline already passed
			// ends the stream's writes, the answer's header being out;
			// the client reads the 503 and none of the page.
			rc.SetWriteDeadline(time.Now())
		}
		if !find && dropped && r.Method != http.MethodHead && !warned.Load() && warned.CompareAndSwap(false, true) {
			l.WarnContext(r.Context(), "scsstore: a middleware around scs's LoadAndSave (a compressing one) dropped the error answer's Content-Length, so what the handler writes after a failed commit goes out after the error answer, under its status; register that middleware inside LoadAndSave (after it in chi's r.Use). Logged once.",
				"method", r.Method, "path", r.URL.Path)
		}
		// A writer around scs's that cannot be flushed and holds the
		// response back sends the answer and the page together: net/http
		// refuses the whole write past the declared length, and the
		// client reads a body cut short (unexpected EOF). Nothing tells
		// one that holds from one that passes writes on, which net/http
		// cuts at the length as it should; either breaks the handlers'
		// own flushes (streaming, server-sent events).
		if !find && !dropped && unflushable && r.Method != http.MethodHead && !heldWarned.Load() && heldWarned.CompareAndSwap(false, true) {
			l.WarnContext(r.Context(), "scsstore: a writer around scs's LoadAndSave cannot be flushed (http.TimeoutHandler's, or a middleware's with neither Flush nor Unwrap); if it holds the response back, as http.TimeoutHandler does, the error answer to a failed commit goes out with the handler's page after it, past its Content-Length, and the client reads a truncated body. Register that middleware inside LoadAndSave, and bound requests with a context deadline rather than http.TimeoutHandler. Logged once.",
				"method", r.Method, "path", r.URL.Path)
		}
	}
}

// pageHeaders are the fields of a handler's page that an error answer in
// its place must not carry: they describe that page, or let caches keep it
// (see ErrorFunc).
var pageHeaders = []string{
	"Content-Disposition", "Content-Range", "Content-Language", "Content-Location",
	"Location", "Etag", "Last-Modified", "Content-Digest", "Repr-Digest", "Content-Md5",
	"X-Accel-Redirect", "X-Sendfile", "X-Lighttpd-Send-File", "Retry-After",
	"Expires", "Surrogate-Control", "Edge-Control", "X-Accel-Expires",
}

// encoded reports whether h declares a content coding other than
// identity, under any key that is Content-Encoding in canonical form.
func encoded(h http.Header) bool {
	for k, lines := range h {
		if http.CanonicalHeaderKey(k) != "Content-Encoding" {
			continue
		}
		for _, l := range lines {
			for c := range strings.SplitSeq(l, ",") {
				if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
					return true
				}
			}
		}
	}
	return false
}

// dropPageHeaders removes pageHeaders and CDN-Cache-Control fields (RFC
// 9213, and vendors' such as Cloudflare-CDN-Cache-Control) from h, and
// makes its Cache-Control no-store. Keys are compared in canonical form: a
// field set under another (h["cache-control"]) is the same field to
// net/http, which sends it, and to caches and proxies.
func dropPageHeaders(h http.Header) {
	for k := range h {
		c := http.CanonicalHeaderKey(k)
		if c == "Cache-Control" || strings.HasSuffix(c, "Cdn-Cache-Control") || slices.Contains(pageHeaders, c) {
			delete(h, k)
		}
	}
	h.Set("Cache-Control", "no-store")
}
