package httpsession_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/httpsession"
)

// TestChangeAfterRenewedResponseIsSaved: a change made after the response
// started is saved when the handler returns, also when the request moved
// the session to a fresh ID before (Renew at log in, Destroy and a new
// value at log out). The lock the request holds is the old ID's: the
// fresh record must not be saved through it.
func TestChangeAfterRenewedResponseIsSaved(t *testing.T) {
	tests := []struct {
		name    string
		mode    httpsession.Mode
		before  func(s *httpsession.Session) error // before the response starts
		release bool                               // Release after the late change
	}{
		{"renew", httpsession.Exclusive, (*httpsession.Session).Renew, false},
		{"renew, then Release", httpsession.Exclusive, (*httpsession.Session).Renew, true},
		{"renew, optimistic", httpsession.Optimistic, (*httpsession.Session).Renew, false},
		{"destroy and a new value", httpsession.Exclusive, func(s *httpsession.Session) error {
			if err := s.Destroy(); err != nil {
				return err
			}
			return s.Put("flash", "bye")
		}, false},
		{"destroy and a new value, then Release", httpsession.Exclusive, func(s *httpsession.Session) error {
			if err := s.Destroy(); err != nil {
				return err
			}
			return s.Put("flash", "bye")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			old := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			h := e.m.Middleware(tt.mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				if err := s.Put("user", "ada"); err != nil {
					t.Error(err)
				}
				if err := tt.before(s); err != nil {
					t.Error(err)
				}
				fmt.Fprint(w, "started")
				if err := s.Put("late", 1); err != nil {
					t.Errorf("Put after the response started: %v", err)
				}
				if tt.release {
					if err := s.Release(); err != nil {
						t.Errorf("Release: %v", err)
					}
				}
			}))
			fresh := mustCookie(t, do(t, h, old)).Value
			if fresh == old {
				t.Fatal("the session kept its ID")
			}
			if holdsSession(e.st, old) {
				t.Error("the old record still holds the session")
			}
			sess, err := e.st.Load(t.Context(), fresh)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(sess.Data), `"late"`) {
				t.Errorf("the change made after the response started was not saved: record %s; log: %s", sess.Data, e.log)
			}
			// The old ID's lock was released with the request: a request
			// with the old cookie is answered at once. After Destroy it
			// starts a fresh session; after Renew its change is refused
			// (it would log the user out; see TestRenewWithOtherTab).
			want, wantBody := http.StatusOK, "1"
			if strings.HasPrefix(tt.name, "renew") {
				want, wantBody = http.StatusConflict, "Conflict\n"
			}
			if resp := do(t, e.m.Handler(counter()), old); resp.StatusCode != want || body(t, resp) != wantBody {
				t.Errorf("a request with the old cookie answered %d, want %d %q", resp.StatusCode, want, wantBody)
			}
		})
	}
}

// TestReadAfterResponseStartTouches: a request that reads the session
// only after its response started (a streamed page, a template reading it
// lazily) extends it by the same rule as one that reads it before, when
// the handler returns or calls Release.
func TestReadAfterResponseStartTouches(t *testing.T) {
	tests := []struct {
		name    string
		mode    httpsession.Mode
		release bool
	}{
		{"exclusive", httpsession.Exclusive, false},
		{"read-only", httpsession.ReadOnly, false},
		{"optimistic", httpsession.Optimistic, false},
		{"exclusive, Release", httpsession.Exclusive, true},
		{"read-only, Release", httpsession.ReadOnly, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil) // idle timeout 10 minutes
			id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
			h := e.m.Middleware(tt.mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.(http.Flusher).Flush()
				s := httpsession.FromContext(r.Context())
				fmt.Fprint(w, s.GetInt("n"))
				if tt.release {
					if err := s.Release(); err != nil {
						t.Errorf("Release: %v", err)
					}
				}
			}))
			e.clk.Advance(8 * time.Minute) // 2 of 10 minutes left: touch
			if got := body(t, do(t, h, id)); got != "1" {
				t.Fatalf("body %q, want 1", got)
			}
			e.clk.Advance(4 * time.Minute)
			if _, err := e.st.Load(t.Context(), id); err != nil {
				t.Errorf("the session expired 4 minutes after the user's last request: %v (log %s)", err, e.log)
			}
		})
	}
}

// TestDestroyAfterResponseStart: a log out whose response already started
// still ends the session where it matters, on the server: Destroy
// succeeds and the record is deleted when the handler returns. The cookie
// can no longer be expired with the response; it names a session that no
// longer exists, is never adopted again, and the next request that uses
// the session expires it.
func TestDestroyAfterResponseStart(t *testing.T) {
	e := newEnv(t, nil)
	id := mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
	logout := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		fmt.Fprint(w, "bye ", s.GetInt("n"))
		if err := s.Destroy(); err != nil {
			t.Errorf("Destroy after the response started: %v", err)
		}
	}))
	resp := do(t, logout, id)
	if c := sessionCookie(resp); c != nil {
		t.Errorf("cookie %v set after the response started", c)
	}
	if recordExists(e.st, id) {
		t.Fatal("the record survived Destroy")
	}
	next := do(t, e.m.Handler(counter()), id)
	if got := body(t, next); got != "1" {
		t.Errorf("the old cookie's next request answered %q, want a fresh session", got)
	}
	if c := mustCookie(t, next); c.Value == id {
		t.Error("the destroyed ID was adopted again")
	}
}
