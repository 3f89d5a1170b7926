package scsstore_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// gzipAll compresses everything written through it and sets
// Content-Encoding before it calls next, as gorilla/handlers'
// CompressHandler does.
func gzipAll(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		next.ServeHTTP(gzipWriter{w, gz}, r)
	})
}

type gzipWriter struct {
	http.ResponseWriter
	gz *gzip.Writer
}

func (w gzipWriter) WriteHeader(code int) {
	w.Header().Del("Content-Length") // it does not hold for the compressed bytes
	w.ResponseWriter.WriteHeader(code)
}

func (w gzipWriter) Write(b []byte) (int, error) { return w.gz.Write(b) }

// TestErrorFuncAnswerDecodes: when the commit fails as the handler starts
// its response, ErrorFunc's answer decodes under the Content-Encoding it
// goes out with. Its text went out as it was, under a Content-Encoding
// that a compressing middleware inside scs's (chi's Compress after
// LoadAndSave in r.Use) or the handler, compressing its own page, had
// set: the client failed to decode it (gzip: invalid header). A
// compressing middleware around scs's still compresses it.
func TestErrorFuncAnswerDecodes(t *testing.T) {
	text := http.StatusText(http.StatusServiceUnavailable) + "\n"
	type mw = func(http.Handler) http.Handler
	for _, tc := range []struct {
		name     string
		chain    func(sessions, compress mw) []mw
		selfGzip bool // the handler compresses its page itself
		want     string
		// around: a compressor around scs's drops the answer's
		// Content-Length, and the handler's page, which scs writes after
		// ErrorFunc's answer, follows want (see ErrorFunc).
		around bool
	}{
		{"chi's Compress inside LoadAndSave", func(s, c mw) []mw { return []mw{s, c} }, false, "", false},
		{"the handler's own gzip", func(s, c mw) []mw { return []mw{s} }, true, "", false},
		{"chi's Compress around LoadAndSave", func(s, c mw) []mw { return []mw{c, s} }, false, text, true},
		{"the handler's own gzip, chi's Compress around", func(s, c mw) []mw { return []mw{c, s} }, true, "", false},
		// A compressor that set the field before scs ran, which ErrorFunc
		// cannot tell from the handler's after a failed commit.
		{"a compressor that sets the field first, around", func(s, c mw) []mw { return []mw{gzipAll, s} }, false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, sm := failingCommitManager(t)
			r := chi.NewRouter()
			r.Use(tc.chain(sm.LoadAndSave, middleware.Compress(5))...)
			r.Get("/", func(w http.ResponseWriter, r *http.Request) {
				sm.Put(r.Context(), "user", "alice")
				st.Close() // the commit, made as the response starts, fails
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
			resp, body, err := getDecoded(t, r, nil)
			if tc.around && strings.HasPrefix(body, tc.want) {
				body = tc.want
			}
			if resp.StatusCode != http.StatusServiceUnavailable || err != nil || body != tc.want {
				t.Errorf("status %d, Content-Encoding %q, body %q, read error %v; want 503, body %q", resp.StatusCode, resp.Header.Values("Content-Encoding"), body, err, tc.want)
			}
		})
	}
}

// TestErrorFuncLoadErrorCompressed: a Find that fails (an outage) is
// answered before the handler runs, so a Content-Encoding in the header
// is a compressing middleware's around scs's, which compresses the answer:
// its text stays.
func TestErrorFuncLoadErrorCompressed(t *testing.T) {
	st, sm := failingCommitManager(t)
	r := chi.NewRouter()
	r.Use(gzipAll, sm.LoadAndSave)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user", "alice")
		io.WriteString(w, "ok")
	})
	resp, _, err := getDecoded(t, r, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		t.Fatal("no session cookie")
	}
	st.Close() // the next request's Find fails
	resp, body, err := getDecoded(t, r, cookies[0])
	want := http.StatusText(http.StatusServiceUnavailable) + "\n"
	if resp.StatusCode != http.StatusServiceUnavailable || err != nil || body != want {
		t.Errorf("status %d, Content-Encoding %q, body %q, read error %v; want 503, body %q", resp.StatusCode, resp.Header.Values("Content-Encoding"), body, err, want)
	}
}

// getDecoded serves one GET with h, with cookie (nil: none), from a
// client that asks for gzip and decodes it, as browsers do, and returns
// the response, its decoded body and the error reading it.
func getDecoded(t *testing.T, h http.Handler, cookie *http.Cookie) (*http.Response, string, error) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	// scs's writes after the error answer's are logged as superfluous.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// TestErrorFuncBodyUnderContentEncoding: the answer has its text unless
// the header declares a coding other than identity, under any key that
// is Content-Encoding to net/http, or the error is a failed Find's.
func TestErrorFuncBodyUnderContentEncoding(t *testing.T) {
	text := http.StatusText(http.StatusServiceUnavailable) + "\n"
	for _, tc := range []struct {
		name   string
		header http.Header
		find   bool // the error is Find's
		want   string
	}{
		{"none", http.Header{}, false, text},
		{"identity", http.Header{"Content-Encoding": {"identity"}}, false, text},
		{"gzip", http.Header{"Content-Encoding": {"gzip"}}, false, ""},
		{"br, not canonical", http.Header{"content-encoding": {"br"}}, false, ""},
		{"gzip, Find's error", http.Header{"Content-Encoding": {"gzip"}}, true, text},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := failingCommitManager(t)
			st.Close()
			err := fmt.Errorf("commit: %w", fsstore.ErrUnavailable)
			if tc.find {
				if _, _, err = scsstore.New(st).FindCtx(context.Background(), "some-token"); err == nil {
					t.Fatal("Find on a closed store: no error")
				}
			}
			rec := httptest.NewRecorder()
			maps.Copy(rec.Header(), tc.header)
			scsstore.ErrorFunc(slog.New(slog.DiscardHandler))(rec, httptest.NewRequest("GET", "/", nil), err)
			if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != tc.want || rec.Header().Get("Content-Length") != strconv.Itoa(len(tc.want)) {
				t.Errorf("status %d, body %q, Content-Length %q; want 503, body %q (error %v)", rec.Code, rec.Body, rec.Header().Get("Content-Length"), tc.want, err)
			}
		})
	}
}

// TestErrorFuncWarnsOfPageAfterAnswer: a compressing middleware around
// scs's drops the Content-Length of ErrorFunc's answer to a failed
// commit, and the handler's page, which scs writes after it, goes out
// after the answer under its status, as ErrorFunc's documentation says:
// ErrorFunc logs a warning saying so, once, where nothing told the
// developer; not where the compressor is inside, or there is none. So
// also for a compressor that drops the field at the answer's first write
// rather than at WriteHeader, where the page went out and nothing was
// logged.
func TestErrorFuncWarnsOfPageAfterAnswer(t *testing.T) {
	const warning = "dropped the error answer's Content-Length"
	type mw = func(http.Handler) http.Handler
	for _, tc := range []struct {
		name  string
		chain func(sessions mw) []mw
		warn  bool
	}{
		{"chi's Compress around", func(s mw) []mw { return []mw{middleware.Compress(5), s} }, true},
		{"a compressor that sets the field first, around", func(s mw) []mw { return []mw{gzipAll, s} }, true},
		{"a compressor that decides at the first write, around", func(s mw) []mw { return []mw{gzipAtFirstWrite, s} }, true},
		{"a compressor that decides at the first write, inside", func(s mw) []mw { return []mw{s, gzipAtFirstWrite} }, false},
		{"chi's Compress inside", func(s mw) []mw { return []mw{s, middleware.Compress(5)} }, false},
		{"a compressor that sets the field first, inside", func(s mw) []mw { return []mw{s, gzipAll} }, false},
		{"no compressor", func(s mw) []mw { return []mw{s} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged strings.Builder
			errorFunc := scsstore.ErrorFunc(slog.New(slog.NewTextHandler(&logged, nil)))
			for range 2 { // two failed commits, one warning
				st, sm := failingCommitManager(t)
				sm.ErrorFunc = errorFunc
				r := chi.NewRouter()
				r.Use(tc.chain(sm.LoadAndSave)...)
				r.Get("/", func(w http.ResponseWriter, r *http.Request) {
					sm.Put(r.Context(), "user", "alice")
					st.Close() // the commit, made as the response starts, fails
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					io.WriteString(w, "<p>the user's page</p>")
				})
				resp, got, err := getDecoded(t, r, nil)
				if resp.StatusCode != http.StatusServiceUnavailable || err != nil {
					t.Fatalf("status %d, read error %v; want 503", resp.StatusCode, err)
				}
				if leaked := strings.Contains(got, "the user's page"); leaked != tc.warn {
					t.Fatalf("the page went out after the error answer: %v, want %v (body %q)", leaked, tc.warn, got)
				}
			}
			want := 0
			if tc.warn {
				want = 1
			}
			if n := strings.Count(logged.String(), warning); n != want {
				t.Errorf("the warning logged %d times, want %d; log:\n%s", n, want, logged.String())
			}
		})
	}
}

// gzipAtFirstWrite compresses what is written through it, deciding at the
// response's first write rather than at WriteHeader (as compressors do
// that look at the first bytes or wait for enough of them): it drops the
// Content-Length and sets Content-Encoding then.
func gzipAtFirstWrite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fw := &firstWriteGzip{ResponseWriter: w}
		defer fw.close()
		next.ServeHTTP(fw, r)
	})
}

type firstWriteGzip struct {
	http.ResponseWriter
	code int
	gz   *gzip.Writer
}

func (w *firstWriteGzip) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *firstWriteGzip) Write(b []byte) (int, error) {
	if w.gz == nil {
		h := w.Header()
		h.Del("Content-Length") // it does not hold for the compressed bytes
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		if w.code == 0 {
			w.code = http.StatusOK
		}
		w.ResponseWriter.WriteHeader(w.code)
		w.gz = gzip.NewWriter(w.ResponseWriter)
	}
	return w.gz.Write(b)
}

func (w *firstWriteGzip) close() {
	if w.gz != nil {
		w.gz.Close()
	}
}
