package scsstore_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sessfs/sessfs/adapters/scsstore"
)

// TestErrorFuncBufferingCompressorAround: a compressor around scs's that
// holds the response back to decide, once it holds enough bytes or is
// flushed or closed, whether to compress (as gzhttp does)
// shows nothing while ErrorFunc runs: the answer's Content-Length is
// still in the header. ErrorFunc flushes its answer, which such a writer
// takes as the moment to decide: one that sends what it holds as it is
// sends the answer whole, with its length, and net/http refuses the
// handler's page after it; one that compresses there drops the length,
// and ErrorFunc warns once. Before, the handler's page went out after the
// answer, compressed under its status, or the client read the declared
// length of which nothing had been sent (unexpected EOF), and nothing was
// logged.
func TestErrorFuncBufferingCompressorAround(t *testing.T) {
	const warning = "dropped the error answer's Content-Length"
	answer := http.StatusText(http.StatusServiceUnavailable) + "\n"
	for _, tc := range []struct {
		name string
		// minSize: the bytes the compressor holds before it compresses;
		// flushGzip: a flush compresses what it holds, however little.
		minSize   int
		flushGzip bool
		warn      bool
	}{
		// The answer and the page together pass minSize: it compressed
		// them both.
		{"decides at a write past its minimum size", 32, false, false},
		// It held both to the end and sent them as they were: more than
		// the declared length, which net/http refused.
		{"decides at Close", 1400, false, false},
		{"compresses at a flush", 1400, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged strings.Builder
			errorFunc := scsstore.ErrorFunc(slog.New(slog.NewTextHandler(&logged, nil)))
			for range 2 { // two failed commits, at most one warning
				st, sm := failingCommitManager(t)
				sm.ErrorFunc = errorFunc
				r := chi.NewRouter()
				r.Use(bufferingGzip(tc.minSize, tc.flushGzip), sm.LoadAndSave)
				r.Get("/", func(w http.ResponseWriter, r *http.Request) {
					sm.Put(r.Context(), "user", "alice")
					st.Close() // the commit, made as the response starts, fails
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					io.WriteString(w, "<p>the user's page</p>")
				})
				resp, body, err := getDecoded(t, r, nil)
				if resp.StatusCode != http.StatusServiceUnavailable || err != nil {
					t.Fatalf("status %d, body %q, read error %v; want 503", resp.StatusCode, body, err)
				}
				if tc.warn {
					body = strings.TrimSuffix(body, "<p>the user's page</p>")
				}
				if body != answer {
					t.Fatalf("body %q, want %q", body, answer)
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

// bufferingGzip holds what is written through it until it holds
// minSize bytes, is flushed or closed, and then decides by how much it
// holds whether to compress, as gzhttp does but for the Content-Length
// it also reads; with flushGzip, a flush compresses whatever it holds. The
// status waits with the bytes.
func bufferingGzip(minSize int, flushGzip bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bw := &bufferedGzip{ResponseWriter: w, minSize: minSize, flushGzip: flushGzip}
			defer bw.close()
			next.ServeHTTP(bw, r)
		})
	}
}

type bufferedGzip struct {
	http.ResponseWriter
	minSize   int
	flushGzip bool
	code      int
	buf       bytes.Buffer
	decided   bool
	gz        *gzip.Writer // nil once decided: sent as it is
}

func (w *bufferedGzip) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *bufferedGzip) Write(b []byte) (int, error) {
	if w.decided {
		if w.gz != nil {
			return w.gz.Write(b)
		}
		return w.ResponseWriter.Write(b)
	}
	w.buf.Write(b)
	if w.buf.Len() >= w.minSize {
		w.decide(true)
	}
	return len(b), nil
}

// Flush decides, as gzhttp's does: what it holds goes out.
func (w *bufferedGzip) Flush() {
	if !w.decided && w.buf.Len() > 0 {
		w.decide(w.flushGzip || w.buf.Len() >= w.minSize)
	}
	if w.gz != nil {
		w.gz.Flush()
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *bufferedGzip) decide(compress bool) {
	w.decided = true
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if compress {
		h := w.Header()
		h.Del("Content-Length") // it does not hold for the compressed bytes
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		w.ResponseWriter.WriteHeader(w.code)
		w.gz = gzip.NewWriter(w.ResponseWriter)
		w.gz.Write(w.buf.Bytes())
		return
	}
	w.ResponseWriter.WriteHeader(w.code)
	w.ResponseWriter.Write(w.buf.Bytes())
}

func (w *bufferedGzip) close() {
	if !w.decided {
		w.decide(false)
	}
	if w.gz != nil {
		w.gz.Close()
	}
}

// TestErrorFuncNoWarningForHEAD: an answer to HEAD has no body, nor has
// the page after it, whatever a compressor around scs's does with the
// Content-Length: ErrorFunc logs no warning, where it warned of a page
// that could not go out.
func TestErrorFuncNoWarningForHEAD(t *testing.T) {
	const warning = "dropped the error answer's Content-Length"
	type mw = func(http.Handler) http.Handler
	for _, tc := range []struct {
		name     string
		compress mw
	}{
		{"chi's Compress", middleware.Compress(5)},
		{"a compressor that sets the field first", gzipAll},
		{"a compressor that decides at the first write", gzipAtFirstWrite},
		{"a compressor that compresses at a flush", bufferingGzip(1400, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged strings.Builder
			st, sm := failingCommitManager(t)
			sm.ErrorFunc = scsstore.ErrorFunc(slog.New(slog.NewTextHandler(&logged, nil)))
			r := chi.NewRouter()
			r.Use(tc.compress, sm.LoadAndSave)
			r.Head("/", func(w http.ResponseWriter, r *http.Request) {
				sm.Put(r.Context(), "user", "alice")
				st.Close() // the commit, made as the response starts, fails
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(w, "<p>the user's page</p>")
			})
			srv := httptest.NewUnstartedServer(r)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.Start()
			defer srv.Close()
			req, err := http.NewRequest("HEAD", srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept-Encoding", "gzip") // the client sends none for HEAD of itself
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503", resp.StatusCode)
			}
			if strings.Contains(logged.String(), warning) {
				t.Errorf("a warning for HEAD; log:\n%s", logged.String())
			}
		})
	}
}

// TestErrorFuncWarnsOfWriterThatCannotFlush: http.TimeoutHandler around
// scs's holds the whole response and cannot be flushed: after a failed
// commit it sends the answer with the page after it, past the declared
// length, which net/http refuses, and the client reads a body cut short.
// ErrorFunc warns of it once, where nothing was logged; not for HEAD,
// nor where the writer around can be flushed.
func TestErrorFuncWarnsOfWriterThatCannotFlush(t *testing.T) {
	const warning = "cannot be flushed"
	for _, tc := range []struct {
		name    string
		method  string
		timeout bool
		warn    bool
	}{
		{"http.TimeoutHandler around", "GET", true, true},
		{"http.TimeoutHandler around, HEAD", "HEAD", true, false},
		{"the server's writer", "GET", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged strings.Builder
			errorFunc := scsstore.ErrorFunc(slog.New(slog.NewTextHandler(&logged, nil)))
			for range 2 { // two failed commits, at most one warning
				st, sm := failingCommitManager(t)
				sm.ErrorFunc = errorFunc
				var h http.Handler = sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					sm.Put(r.Context(), "user", "alice")
					st.Close() // the commit, made as the response starts, fails
					io.WriteString(w, "<p>the user's page</p>")
				}))
				if tc.timeout {
					h = http.TimeoutHandler(h, time.Hour, "timed out")
				}
				srv := httptest.NewUnstartedServer(h)
				srv.Config.ErrorLog = log.New(io.Discard, "", 0)
				srv.Start()
				req, err := http.NewRequest(tc.method, srv.URL, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				srv.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("status %d, want 503", resp.StatusCode)
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
