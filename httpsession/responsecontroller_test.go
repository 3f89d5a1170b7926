package httpsession_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The middleware's writer keeps what the server's offers: io.ReaderFrom
// (sendfile), io.StringWriter, http.Flusher and http.Hijacker directly,
// for handlers that test for them, and the rest (deadlines, full duplex)
// through http.ResponseController, which unwraps it.
func TestWriterKeepsServerFeatures(t *testing.T) {
	e := newEnv(t, nil)
	errs := make(chan error, 3)
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name, ok := range map[string]bool{
			"io.ReaderFrom":   is[io.ReaderFrom](w),
			"io.StringWriter": is[io.StringWriter](w),
			"http.Flusher":    is[http.Flusher](w),
			"http.Hijacker":   is[http.Hijacker](w),
		} {
			if !ok {
				t.Errorf("the middleware's writer %T is no %s", w, name)
			}
		}
		rc := http.NewResponseController(w)
		errs <- rc.SetReadDeadline(time.Now().Add(time.Hour))
		errs <- rc.SetWriteDeadline(time.Now().Add(time.Hour))
		errs <- rc.EnableFullDuplex()
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("through http.ResponseController: %v", err)
		}
	}
}

func is[T any](w http.ResponseWriter) bool { _, ok := w.(T); return ok }
