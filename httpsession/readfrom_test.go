package httpsession_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// readFromRecorder is a ResponseWriter with a ReadFrom of its own, as
// net/http's is (sendfile), which notes the headers it saw when called.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	calls     int
	setCookie []string
}

func (w *readFromRecorder) ReadFrom(r io.Reader) (int64, error) {
	w.calls++
	w.setCookie = w.Header().Values("Set-Cookie")
	return io.Copy(w.ResponseRecorder, r)
}

// A handler copying a file into the response (io.Copy, http.ServeContent)
// reaches the server's ReadFrom, which sends it without copying it through
// user space, and the session is committed before the first byte.
func TestReadFromReachesServer(t *testing.T) {
	e := newEnv(t, nil)
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Put("seen", true); err != nil {
			t.Error(err)
		}
		// As http.ServeContent copies: a LimitReader, which has no WriteTo
		// for io.Copy to prefer.
		if _, err := io.CopyN(w, strings.NewReader("file contents"), 13); err != nil {
			t.Error(err)
		}
	}))
	rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.calls != 1 {
		t.Errorf("the server's ReadFrom was called %d times, want once", rec.calls)
	}
	if len(rec.setCookie) != 1 || !strings.HasPrefix(rec.setCookie[0], "session=") {
		t.Errorf("Set-Cookie when the copy began: %q, want the session's cookie", rec.setCookie)
	}
	if got := rec.Body.String(); got != "file contents" {
		t.Errorf("body %q", got)
	}
}

// stringRecorder is a ResponseWriter with a WriteString of its own, as
// net/http's is, which notes the headers it saw when first called.
type stringRecorder struct {
	*httptest.ResponseRecorder
	calls     int
	setCookie []string
}

func (w *stringRecorder) WriteString(s string) (int, error) {
	if w.calls++; w.calls == 1 {
		w.setCookie = w.Header().Values("Set-Cookie")
	}
	return w.ResponseRecorder.WriteString(s)
}

// A handler writing strings (io.WriteString, fmt's and templates' writes
// go through Write, but many frameworks' renderers test for
// io.StringWriter) reaches the server's WriteString, which spares the
// conversion to []byte, and the session is committed before the first
// byte; after a failed commit it writes nothing.
func TestWriteStringReachesServer(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(map[bool]string{false: "committed", true: "commit failed"}[fail], func(t *testing.T) {
			e := newEnv(t, nil)
			var writeErr error
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := w.(io.StringWriter); !ok {
					t.Fatalf("the middleware's writer %T is no io.StringWriter", w)
				}
				s := httpsession.FromContext(r.Context())
				if err := s.Put("seen", true); err != nil {
					t.Error(err)
				}
				if fail {
					e.st.Close() // the commit fails
				}
				_, writeErr = io.WriteString(w, "hello")
			}))
			rec := &stringRecorder{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if fail {
				if writeErr == nil || rec.Code == http.StatusOK || strings.Contains(rec.Body.String(), "hello") {
					t.Errorf("commit failed: write error %v, status %d, body %q; want the error answer alone", writeErr, rec.Code, rec.Body)
				}
				return
			}
			if rec.calls != 1 {
				t.Errorf("the server's WriteString was called %d times, want once", rec.calls)
			}
			if len(rec.setCookie) != 1 || !strings.HasPrefix(rec.setCookie[0], "session=") {
				t.Errorf("Set-Cookie when the string was written: %q, want the session's cookie", rec.setCookie)
			}
			if got := rec.Body.String(); got != "hello" || writeErr != nil {
				t.Errorf("body %q, write error %v", got, writeErr)
			}
		})
	}
}

// failingReader fails its first read, as an upstream body or a file on an
// unreachable mount may: it has no WriteTo, so io.Copy calls ReadFrom.
type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// A copy into the response whose source fails before giving a byte
// starts nothing, as net/http's own ReadFrom sends no header then: the
// handler answers the failure (a 502), and that server error saves
// nothing the request changed. An empty source starts nothing either: the
// handler may still set the status. A source that gives bytes commits
// before the first of them.
func TestReadFromStartsWithTheFirstByte(t *testing.T) {
	tests := []struct {
		name     string
		src      io.Reader
		wantCode int
		wantBody string
		wantN    string // the counter after the request
	}{
		{"source fails at once", failingReader{errors.New("upstream reset")}, http.StatusBadGateway, "copy failed\n", "1"},
		{"empty source", strings.NewReader(""), http.StatusNoContent, "", "2"},
		{"source gives bytes", io.LimitReader(strings.NewReader("file contents"), 13), http.StatusOK, "file contents", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			id := seedSession(t, e.m, map[string]any{"n": 1})
			srv := serve(t, e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := httpsession.FromContext(r.Context()).Put("n", 2); err != nil {
					t.Error(err)
				}
				n, err := io.Copy(w, tt.src)
				switch {
				case err != nil:
					http.Error(w, "copy failed", http.StatusBadGateway)
				case n == 0:
					w.WriteHeader(http.StatusNoContent)
				}
			})))
			resp := call(t, client(t, srv), "GET", srv.URL, id, nil)
			if got := body(t, resp); resp.StatusCode != tt.wantCode || got != tt.wantBody {
				t.Errorf("answer %d %q, want %d %q", resp.StatusCode, got, tt.wantCode, tt.wantBody)
			}
			read := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
			}))
			if got := body(t, do(t, read, id)); got != tt.wantN {
				t.Errorf("the session's counter is %s after the request, want %s", got, tt.wantN)
			}
		})
	}
}
