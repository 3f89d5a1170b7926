package httpsession_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// chi routers take net/http middleware: Handler for the whole router
// (r.Use), Middleware for a group or a route (r.With).
func ExampleManager_Middleware_chi() {
	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := fsstore.Open(dir) // every app server opens the same NFS or EFS directory
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	sessions := httpsession.New(st)
	r := chi.NewRouter()
	r.Use(sessions.Handler)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		n := s.GetInt("visits") + 1
		if err := s.Put("visits", n); err != nil {
			http.Error(w, "session unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "visit %d", n)
	})
	// Pages that only read take no lock and never write.
	r.With(sessions.Middleware(httpsession.ReadOnly)).Get("/visits", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d visits", httpsession.FromContext(r.Context()).GetInt("visits"))
	})

	srv := httptest.NewTLSServer(r) // the default cookie is Secure
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	for _, path := range []string{"/", "/", "/visits"} {
		resp, err := browser.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
	// 2 visits
}

// chiCounterApp serves the webtest counter protocol on a chi router.
func chiCounterApp(m *httpsession.Manager) http.Handler {
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Post("/inc", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		n := s.GetInt("n") + 1
		if err := s.Put("n", n); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, strconv.Itoa(n))
	})
	r.With(m.Middleware(httpsession.ReadOnly)).Get("/n", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strconv.Itoa(httpsession.FromContext(r.Context()).GetInt("n")))
	})
	return r
}

// TestChiInstance is one app process of TestChiConcurrentIncrements.
func TestChiInstance(t *testing.T) {
	webtest.Instance(t, func(dir string) (http.Handler, func() error, error) {
		st, err := fsstore.Open(dir)
		if err != nil {
			return nil, nil, err
		}
		return chiCounterApp(httpsession.New(st)), st.Close, nil
	})
}

// TestChiConcurrentIncrements: two chi app processes on one session
// directory, one user's increments sent to both at once; none is lost.
func TestChiConcurrentIncrements(t *testing.T) {
	webtest.CheckNoneLost(t, webtest.Start(t, "TestChiInstance", t.TempDir(), 2))
}
