package httpsession_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// A visit counter kept in the session. The browser's cookie carries only the
// session ID; the middleware loads (and locks) the session when the handler
// first uses it and saves it, when the handler has changed it, as the
// response starts.
func ExampleManager_Handler() {
	// In production every app server opens the same NFS or EFS directory.
	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// Without WithLogger the store logs nothing: a record it refuses
	// (damaged, unreadable to this user) is a silent log out.
	st, err := fsstore.Open(dir, fsstore.WithLogger(slog.Default()))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	sessions := httpsession.New(st)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		n := s.GetInt("visits") + 1
		if err := s.Put("visits", n); err != nil {
			http.Error(w, "session unavailable", httpsession.StatusCode(err))
			return
		}
		fmt.Fprintf(w, "visit %d", n)
	})

	// The default cookie is Secure, so the browser sends it over HTTPS only.
	srv := httptest.NewTLSServer(sessions.Handler(mux))
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	for range 3 {
		resp, err := browser.Get(srv.URL)
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
	// visit 3
}

// A readiness endpoint for the load balancer (an ALB target group's health
// check, a Kubernetes readinessProbe): 200 while the session store answers,
// 503 with Retry-After within 800 ms while its file server does not, so that
// the instance is taken out of rotation until the store is back.
func ExampleHealthHandler() {
	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := fsstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /readyz", httpsession.HealthHandler(st, 0)) // 0: DefaultHealthTimeout
	// A load balancer judges an instance by probes in a row (an ALB's
	// healthy and unhealthy threshold counts, a readinessProbe's
	// successThreshold and failureThreshold): a probe that a busy machine
	// answers late, a 503, is made up for by the next. Probe, as it does,
	// until one answers 200.
	var probe *httptest.ResponseRecorder
	for deadline := time.Now().Add(time.Minute); ; {
		probe = httptest.NewRecorder()
		mux.ServeHTTP(probe, httptest.NewRequest("GET", "/readyz", nil))
		if probe.Code == http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	fmt.Print(probe.Code, " ", probe.Body.String())

	// A closed store stands in for a file server that stopped answering.
	st.Close()
	probe = httptest.NewRecorder()
	mux.ServeHTTP(probe, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Println(probe.Code, "Retry-After:", probe.Header().Get("Retry-After"))
	// Output:
	// 200 ok
	// 503 Retry-After: 1
}
