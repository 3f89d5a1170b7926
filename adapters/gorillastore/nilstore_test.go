package gorillastore_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/adapters/gorillastore"
)

// TestNilStore: a Store made from the nil *fsstore.Store of a failed Open
// whose error was dropped fails every request with an error that says so,
// instead of panicking in the middle of a handler.
func TestNilStore(t *testing.T) {
	for _, tt := range []struct {
		name  string
		store sessions.Store
	}{
		{"New(nil)", gorillastore.New(nil, key)},
		{"zero Store", &gorillastore.Store{Codecs: securecookie.CodecsFromPairs(key), Options: &sessions.Options{MaxAge: 60}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			sess, err := tt.store.New(r, "s")
			if err != nil {
				t.Fatalf("New without a cookie: %v", err)
			}
			sess.Values["n"] = 1
			err = tt.store.Save(r, w, sess)
			if err == nil || !strings.Contains(err.Error(), "nil *fsstore.Store") {
				t.Fatalf("Save: %v, want an error naming the nil store", err)
			}
			// A request with a cookie signed by the same keys loads.
			enc, err := securecookie.EncodeMulti("s", "0123456789abcdefghijklmnopqrstuv", securecookie.CodecsFromPairs(key)...)
			if err != nil {
				t.Fatal(err)
			}
			r.AddCookie(&http.Cookie{Name: "s", Value: enc})
			if _, err := tt.store.New(r, "s"); err == nil || !strings.Contains(err.Error(), "nil *fsstore.Store") {
				t.Fatalf("New with a cookie: %v, want an error naming the nil store", err)
			}
		})
	}
}
