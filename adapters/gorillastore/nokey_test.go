package gorillastore_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
)

// TestSaveWithoutKeySaysWhy: New given an empty authentication key (the
// package example's os.Getenv("SESSION_KEY") with the variable unset)
// makes every Save fail; the error says that the key was empty and what
// one should be, not only securecookie's "hash key is not set".
func TestSaveWithoutKeySaysWhy(t *testing.T) {
	for _, tt := range []struct {
		name string
		keys [][]byte
	}{
		{"empty key", [][]byte{[]byte("")}},
		{"no key", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := fsstore.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			s := gorillastore.New(st, tt.keys...)
			r := httptest.NewRequest("GET", "https://example.com/", nil)
			sess, err := s.New(r, "s")
			if err != nil {
				t.Fatalf("New without a cookie: %v", err)
			}
			sess.Values["n"] = 1
			err = s.Save(r, httptest.NewRecorder(), sess)
			if err == nil {
				t.Fatal("Save without a key succeeded")
			}
			for _, want := range []string{"empty authentication key", "32 or 64 random bytes"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Save: %v; want it to say %q", err, want)
				}
			}
		})
	}
}
