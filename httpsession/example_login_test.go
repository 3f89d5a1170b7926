package httpsession_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// Log in and log out. At log in, Renew gives the session a fresh ID, so that
// an ID another party planted or saw before cannot be used afterwards
// (session fixation); at log out, Destroy deletes the session and expires
// the cookie. Both must come before the response starts.
func ExampleSession_Renew() {
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
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// Check r.FormValue("password") here.
		s := httpsession.FromContext(r.Context())
		if err := s.Renew(); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if err := s.Put("user", r.FormValue("user")); err != nil {
			http.Error(w, "try again", httpsession.StatusCode(err))
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Destroy(); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if user := httpsession.FromContext(r.Context()).GetString("user"); user != "" {
			fmt.Fprintf(w, "hello, %s", user)
			return
		}
		fmt.Fprint(w, "not logged in")
	})

	// The default cookie is Secure: the browser sends it over HTTPS only.
	srv := httptest.NewTLSServer(httpsession.New(st).Handler(mux))
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	show := func(resp *http.Response, err error) {
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	show(browser.Get(srv.URL))
	show(browser.PostForm(srv.URL+"/login", url.Values{"user": {"ada"}}))
	show(browser.PostForm(srv.URL+"/logout", nil))
	// Output:
	// not logged in
	// hello, ada
	// not logged in
}
