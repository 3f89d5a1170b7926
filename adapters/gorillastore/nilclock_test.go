package gorillastore_test

import (
	"net/http/httptest"
	"testing"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestNilClockIsSystemClock: SetClock(nil) is time.Now, as not calling it
// is, the rule of every clock option of the module: a session with a
// MaxAge saves. The save panicked on the nil clock.
func TestNilClockIsSystemClock(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := gorillastore.New(st, key)
	s.SetClock(nil)
	err = testenv.NoPanic(t, func() error {
		session, err := s.New(request(nil), "hello")
		if err != nil {
			return err
		}
		session.Values["x"] = 1
		return session.Save(request(nil), httptest.NewRecorder())
	})
	if err != nil {
		t.Fatalf("save: %v", err)
	}
}
