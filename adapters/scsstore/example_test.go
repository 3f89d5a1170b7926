package scsstore_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// An scs application switches to a shared directory by replacing its
// session manager's Store; nothing else changes.
func Example() {
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

	sessionManager := scs.New()
	// With the manager, a session its codec cannot decode is no session
	// rather than a 500 on each of its user's requests.
	sessionManager.Store = scsstore.New(st, scsstore.WithCodecOf(sessionManager))
	// 503 with Retry-After rather than 500 while the file server is away.
	sessionManager.ErrorFunc = scsstore.ErrorFunc(nil)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		n := sessionManager.GetInt(r.Context(), "visits") + 1
		sessionManager.Put(r.Context(), "visits", n)
		fmt.Fprintf(w, "visit %d", n)
	})

	srv := httptest.NewServer(sessionManager.LoadAndSave(mux))
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
