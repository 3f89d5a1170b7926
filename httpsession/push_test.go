package httpsession_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// pushRecorder is a ResponseWriter that can push, as net/http's HTTP/2
// writer can.
type pushRecorder struct {
	*httptest.ResponseRecorder
	pushed []string
}

func (p *pushRecorder) Push(target string, _ *http.PushOptions) error {
	p.pushed = append(p.pushed, target)
	return nil
}

// wrapping is an outer middleware's writer that unwraps to the server's.
type wrapping struct{ http.ResponseWriter }

func (w wrapping) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// An HTTP/2 server push (http.Pusher, which http.ResponseController does
// not reach) goes through the middleware to the server's writer, also
// one an outer middleware wraps; where nothing under it can push, the
// middleware's writer is no http.Pusher, as net/http's HTTP/1 one. A push
// sends no response header: the session is not committed for it, and a
// change made after it still sets the cookie.
func TestPushReachesServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(http.ResponseWriter) http.ResponseWriter
		can  bool
	}{
		{"server writer", func(w http.ResponseWriter) http.ResponseWriter { return w }, true},
		{"wrapped by an outer middleware", func(w http.ResponseWriter) http.ResponseWriter { return wrapping{w} }, true},
		{"cannot push", func(w http.ResponseWriter) http.ResponseWriter { return httptest.NewRecorder() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, ok := w.(http.Pusher)
				switch {
				case tc.can && !ok:
					t.Fatal("the middleware's writer is no http.Pusher")
				case !tc.can && ok:
					// As net/http's HTTP/1 writer: a handler that
					// pushes when it can, and logs a failed push,
					// would log on every request.
					t.Fatal("the middleware's writer is an http.Pusher where nothing under it can push")
				case ok:
					if err := p.Push("/app.css", nil); err != nil {
						t.Errorf("Push = %v", err)
					}
				}
				if err := httpsession.FromContext(r.Context()).Put("n", 1); err != nil {
					t.Errorf("Put after Push: %v", err)
				}
			}))
			rec := &pushRecorder{ResponseRecorder: httptest.NewRecorder()}
			w := tc.wrap(rec)
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if tc.can && !slices.Equal(rec.pushed, []string{"/app.css"}) {
				t.Errorf("pushed %q, want /app.css", rec.pushed)
			}
			if c := w.Header().Values("Set-Cookie"); len(c) != 1 {
				t.Errorf("Set-Cookie %q; want the session's cookie, set after the push", c)
			}
		})
	}
}
