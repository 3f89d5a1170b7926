package httpsession_test

import (
	"compress/gzip"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sessfs/sessfs/httpsession"
)

// TestErrorAnswerDecodes: when the commit fails as the handler starts its
// response, the error handler's answer decodes under the Content-Encoding
// it goes out with, wherever a compressing middleware is: the middleware
// drops what the handler and the middlewares inside it set (a compressor
// inside, the handler's own gzip), so the answer's text goes out plain or,
// with a compressor around the middleware, compressed by it.
func TestErrorAnswerDecodes(t *testing.T) {
	type mw = func(http.Handler) http.Handler
	for _, tc := range []struct {
		name     string
		chain    func(sessions, compress mw) []mw
		selfGzip bool // the handler compresses its page itself
	}{
		{"chi's Compress inside", func(s, c mw) []mw { return []mw{s, c} }, false},
		{"chi's Compress around", func(s, c mw) []mw { return []mw{c, s} }, false},
		{"the handler's own gzip", func(s, c mw) []mw { return []mw{s} }, true},
		{"the handler's own gzip, chi's Compress around", func(s, c mw) []mw { return []mw{c, s} }, true},
		// A compressor that sets Content-Encoding before it calls the
		// next handler, as gorilla/handlers' CompressHandler does
		// (net/http's Error keeps the field for such a one): around, it
		// encodes the answer, whose header keeps its field; inside, the
		// answer bypasses it and drops its field.
		{"a compressor that sets the field first, around", func(s, c mw) []mw { return []mw{gzipFirst, s} }, false},
		{"a compressor that sets the field first, inside", func(s, c mw) []mw { return []mw{s, gzipFirst} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := chi.NewRouter()
			r.Use(tc.chain(e.m.Handler, middleware.Compress(5))...)
			r.Get("/", func(w http.ResponseWriter, r *http.Request) {
				if err := httpsession.FromContext(r.Context()).Put("user", "alice"); err != nil {
					t.Error(err)
				}
				e.st.Close() // the commit, made as the response starts, fails
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				if !tc.selfGzip {
					io.WriteString(w, "<p>the user's page</p>")
					return
				}
				w.Header().Set("Content-Encoding", "gzip")
				gz := gzip.NewWriter(w)
				io.WriteString(gz, "<p>the user's page</p>")
				gz.Close()
			})
			srv := httptest.NewUnstartedServer(r)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.Start()
			defer srv.Close()
			// The client asks for gzip and decodes it, as browsers do.
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := http.StatusText(http.StatusServiceUnavailable) + "\n"
			if resp.StatusCode != http.StatusServiceUnavailable || err != nil || string(body) != want {
				t.Errorf("status %d, body %q, read error %v; want 503, body %q", resp.StatusCode, body, err, want)
			}
			if resp.Header.Get("Retry-After") == "" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Retry-After %q, Cache-Control %q; want the 503's Retry-After and no-store", resp.Header.Get("Retry-After"), resp.Header.Get("Cache-Control"))
			}
		})
	}
}

// gzipFirst compresses everything written through it and sets
// Content-Encoding before it calls next, as gorilla/handlers'
// CompressHandler does.
func gzipFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		next.ServeHTTP(gzipFirstWriter{w, gz}, r)
	})
}

type gzipFirstWriter struct {
	http.ResponseWriter
	gz *gzip.Writer
}

func (w gzipFirstWriter) WriteHeader(code int) {
	w.Header().Del("Content-Length") // it does not hold for the compressed bytes
	w.ResponseWriter.WriteHeader(code)
}

func (w gzipFirstWriter) Write(b []byte) (int, error) { return w.gz.Write(b) }
