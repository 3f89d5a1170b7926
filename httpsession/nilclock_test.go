package httpsession_test

import (
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestNilClockIsSystemClock: WithClock(nil) is time.Now, as leaving the
// option out is, the rule of every clock option of the module
// (fsstore.WithClock, scsstore.WithClock, gorillastore's SetClock): a
// session made on one request is found on the next.
func TestNilClockIsSystemClock(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := httpsession.New(st, httpsession.WithClock(nil))
	if err := m.Err(); err != nil {
		t.Fatalf("New: %v", err)
	}
	h := m.Handler(counter())
	id := mustCookie(t, do(t, h, "")).Value
	if got := body(t, do(t, h, id)); got != "2" {
		t.Fatalf("second request's counter reads %q, want 2", got)
	}
}
