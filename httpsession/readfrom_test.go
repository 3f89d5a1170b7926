package httpsession_test

import (
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
