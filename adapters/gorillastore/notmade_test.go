package gorillastore_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/adapters/ginstore"
	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestStoreNotMadeByNew: a nil *Store (a package variable read before
// main assigned it, which a sessions.Store interface holding it does not
// show: echo-contrib's middleware takes it), a ginstore.Store{} not made
// by NewStore, and a Store{} whose Options
// are nil, fail Get with an error naming the mistake and matching
// ErrNotLoaded, and Save with an error naming it, which handlers answer
// (a 500), rather than panicking with a nil dereference inside gorilla's
// registry on every request. A session whose Options the application set
// to nil fails its Save the same way. Each error says "gorillastore: "
// once: Save's read "gorillastore: save: gorillastore: nil ...".
func TestStoreNotMadeByNew(t *testing.T) {
	var nilStore *gorillastore.Store
	made, _ := open(t, t.TempDir(), fakeclock.New())
	for _, tt := range []struct {
		name  string
		store sessions.Store
		prep  func(*sessions.Session)
		want  string
	}{
		{"nil *Store", nilStore, nil, "nil *gorillastore.Store"},
		{"zero ginstore.Store", ginstore.Store{}, nil, "nil *gorillastore.Store"},
		{"Store without Options", &gorillastore.Store{Codecs: securecookie.CodecsFromPairs(key)}, nil, "nil Options"},
		{"session without Options", made, func(s *sessions.Session) { s.Options = nil }, "nil Options"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
			enc, err := securecookie.EncodeMulti("s", "0123456789abcdefghijklmnopqrstuv", securecookie.CodecsFromPairs(key)...)
			if err != nil {
				t.Fatal(err)
			}
			r.AddCookie(&http.Cookie{Name: "s", Value: enc})
			if gs, ok := tt.store.(ginstore.Store); ok {
				// Called as the app starts: it has nothing to set, and
				// Get and Save below say why.
				testenv.NoPanic(t, func() error { gs.Options(ginsessions.Options{Path: "/", MaxAge: 60}); return nil })
			}
			var sess *sessions.Session
			err = testenv.NoPanic(t, func() (err error) { sess, err = tt.store.Get(r, "s"); return err })
			if tt.prep == nil && (!errors.Is(err, gorillastore.ErrNotLoaded) || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Get: %v; want an error matching ErrNotLoaded that names %q", err, tt.want)
			}
			if n := strings.Count(fmt.Sprint(err), "gorillastore: "); tt.prep == nil && n != 1 {
				t.Errorf("Get: %v; want the package named once", err)
			}
			if sess == nil {
				t.Fatal("Get returned no session")
			}
			if tt.prep != nil {
				tt.prep(sess)
			}
			sess.Values["n"] = 1
			w := httptest.NewRecorder()
			err = testenv.NoPanic(t, func() error { return tt.store.Save(r, w, sess) })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Save: %v; want an error naming %q", err, tt.want)
			}
			if n := strings.Count(fmt.Sprint(err), "gorillastore: "); n != 1 {
				t.Errorf("Save: %v; want the package named once", err)
			}
			if c := w.Result().Cookies(); len(c) != 0 {
				t.Errorf("Save set %d cookies; want none", len(c))
			}
		})
	}
}
