package gorillastore_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// A session with a MaxAge lives MaxAge after its last Save whatever the
// store's lifetime (fsstore.WithLifetime), which bounds httpsession's
// sessions and those KeepZeroMaxAge keeps, not these: the package doc
// says so, and an operator who set the lifetime as a cap learns it there.
func TestStoreLifetimeDoesNotBoundMaxAge(t *testing.T) {
	clk := fakeclock.New()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithClock(clk.Now), fsstore.WithLifetime(time.Hour), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := gorillastore.New(st, key)
	s.SetClock(clk.Now)
	session, _ := s.New(request(nil), "app")
	session.Values["user"] = "ada"
	w := httptest.NewRecorder()
	if err := s.Save(request(nil), w, session); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	got, err := s.New(request(cookieOf(t, w, "app")), "app")
	if err != nil || got.IsNew || got.Values["user"] != "ada" {
		t.Errorf("2 h after its Save, past the store's 1 h lifetime: IsNew %v, values %v, err %v; want the session (MaxAge 30 days)", got.IsNew, got.Values, err)
	}
}
