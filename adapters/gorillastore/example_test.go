package gorillastore_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"

	"github.com/gorilla/securecookie"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// A gorilla/sessions application switches from FilesystemStore (or any
// other store) by creating its store with gorillastore.New, with the same
// key pairs; handlers do not change.
func Example() {
	// In production every app server opens the same NFS or EFS directory,
	// and the keys come from the app's secrets, the same on every server.
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
	hashKey, encryptionKey := securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32)

	store := gorillastore.New(st, hashKey, encryptionKey)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		session, err := store.Get(r, "app")
		if errors.Is(err, gorillastore.ErrNotLoaded) {
			// The store failed (did not answer in time, is closed):
			// answer rather than carry on with an empty session, which
			// Save would refuse; 503 in an outage. A forged cookie or a
			// damaged record leaves a new session to carry on with.
			http.Error(w, "session not loaded", httpsession.StatusCode(err))
			return
		}
		n, _ := session.Values["visits"].(int)
		session.Values["visits"] = n + 1
		if err := session.Save(r, w); err != nil {
			http.Error(w, "session not saved", httpsession.StatusCode(err))
			return
		}
		fmt.Fprintf(w, "visit %d", n+1)
	})

	// gorillastore's cookies are Secure by default: HTTPS only.
	srv := httptest.NewTLSServer(mux)
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
