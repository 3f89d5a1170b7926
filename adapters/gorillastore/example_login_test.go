package gorillastore_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"

	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// Log in and log out with gorilla's API. A log in deletes the session it
// finds (Options.MaxAge -1) and saves it again: gorillastore stores it
// under a new ID, so that an ID someone planted or saw before the log in
// names nothing after it. A log out deletes the session and expires its
// cookie. A flash message shows once.
func Example_logInLogOut() {
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
	store := gorillastore.New(st, []byte("0123456789abcdef0123456789abcdef")) // from your secret store

	// get answers Get's error when the store failed; after any other
	// error (a forged cookie) the new session is the one to use.
	get := func(w http.ResponseWriter, r *http.Request) (*sessions.Session, bool) {
		s, err := store.Get(r, "app")
		if errors.Is(err, gorillastore.ErrNotLoaded) {
			http.Error(w, "session not loaded", httpsession.StatusCode(err))
			return nil, false
		}
		return s, true
	}
	save := func(w http.ResponseWriter, r *http.Request, s *sessions.Session) bool {
		if err := s.Save(r, w); err != nil {
			http.Error(w, "session not saved", httpsession.StatusCode(err))
			return false
		}
		return true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, ok := get(w, r)
		if !ok {
			return
		}
		// (Check the password first.) A new ID: delete, then save again.
		s.Options.MaxAge = -1
		if !save(w, r, s) {
			return
		}
		s.Options.MaxAge = store.Options.MaxAge
		s.Values = map[any]any{"user": "alice"}
		s.AddFlash("welcome, alice")
		save(w, r, s)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, ok := get(w, r)
		if !ok {
			return
		}
		s.Options.MaxAge = -1
		save(w, r, s)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s, ok := get(w, r)
		if !ok {
			return
		}
		user, _ := s.Values["user"].(string)
		flashes := s.Flashes()           // taken out of the session: saved below
		n, _ := s.Values["visits"].(int) // a visitor's session, logged in or not
		s.Values["visits"] = n + 1
		if !save(w, r, s) {
			return
		}
		if user == "" {
			fmt.Fprint(w, "logged out")
			return
		}
		fmt.Fprint(w, "user ", user, ", flashes ", flashes)
	})

	srv := httptest.NewTLSServer(mux) // the default cookie is Secure
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	cookie := func() string {
		for _, c := range browser.Jar.Cookies(u) {
			return c.Value
		}
		return ""
	}
	do := func(method, path string) string {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := browser.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}

	fmt.Println(do("GET", "/"))
	anonymous := cookie()
	do("POST", "/login")
	loggedIn := cookie()
	fmt.Println("new ID at log in:", loggedIn != anonymous)
	fmt.Println(do("GET", "/"))
	fmt.Println(do("GET", "/"))
	do("POST", "/logout")
	fmt.Println("cookie after log out:", cookie() == "")
	fmt.Println(do("GET", "/"))
	// The cookie of before the log out names nothing any more.
	browser.Jar.SetCookies(u, []*http.Cookie{{Name: "app", Value: loggedIn, Path: "/"}})
	fmt.Println(do("GET", "/"))
	// Output:
	// logged out
	// new ID at log in: true
	// user alice, flashes [welcome, alice]
	// user alice, flashes []
	// cookie after log out: true
	// logged out
	// logged out
}
