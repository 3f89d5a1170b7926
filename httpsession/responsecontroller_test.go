package httpsession_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The middleware's writer keeps what the server's offers: io.ReaderFrom
// (sendfile), io.StringWriter, http.Flusher, http.Hijacker and the
// deprecated http.CloseNotifier directly, for handlers that test for them
// (or assert them unchecked, as gin's Context.Stream does CloseNotifier),
// and the rest (deadlines, full duplex) through http.ResponseController,
// which unwraps it.
func TestWriterKeepsServerFeatures(t *testing.T) {
	e := newEnv(t, nil)
	errs := make(chan error, 3)
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name, ok := range map[string]bool{
			"io.ReaderFrom":      is[io.ReaderFrom](w),
			"io.StringWriter":    is[io.StringWriter](w),
			"http.Flusher":       is[http.Flusher](w),
			"http.Hijacker":      is[http.Hijacker](w),
			"http.CloseNotifier": is[closeNotifier](w),
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

// closeNotifier is http.CloseNotifier, deprecated but still asserted.
type closeNotifier interface{ CloseNotify() <-chan bool }

// CloseNotify through the middleware's writer tells that the client went
// away, as the server's does: a handler streaming events until then
// (gin's Context.Stream) ends when its client leaves. Over a writer that
// has no CloseNotify (a test's recorder), the request context's end
// tells it.
func TestCloseNotifyThroughMiddleware(t *testing.T) {
	e := newEnv(t, nil)
	notified := make(chan struct{})
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gone := w.(closeNotifier).CloseNotify()
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-gone
		close(notified)
	}))
	t.Run("server", func(t *testing.T) {
		notified = make(chan struct{})
		srv := serve(t, h)
		resp := call(t, client(t, srv), "GET", srv.URL, "", nil)
		resp.Body.Close() // the client leaves
		<-notified
	})
	t.Run("recorder", func(t *testing.T) {
		notified = make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequestWithContext(ctx, "GET", "https://example.com/", nil)
		served := make(chan struct{})
		go func() {
			defer close(served)
			h.ServeHTTP(httptest.NewRecorder(), req)
		}()
		cancel() // the client leaves
		<-notified
		<-served
	})
}
