package httpsession_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
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

// TestChangeNeedingCookieAfterResponseStart: after the response started,
// a change that needs a new cookie (the first value of a session with no
// record, new or destroyed; Renew) fails at once with ErrNeedsCookie and
// keeps nothing, rather than succeed and be dropped, with a log line,
// when the handler returns; its error says to make it before the response
// starts. A change to a session that has a record needs
// no cookie and is saved.
func TestChangeNeedingCookieAfterResponseStart(t *testing.T) {
	type state int
	const (
		fresh     state = iota // no cookie: a new session
		existing               // the cookie of a saved session
		destroyed              // a saved session, destroyed in the request
		renewed                // a saved session, renewed too late: ended (see Renew)
	)
	tests := []struct {
		name    string
		state   state
		before  func(s *httpsession.Session) error // before the response starts
		after   func(s *httpsession.Session) error // after it started
		wantErr error
	}{
		{"put into a new session", fresh, nil, putLate, httpsession.ErrNeedsCookie},
		{"put into a new session read before", fresh, readN, putLate, httpsession.ErrNeedsCookie},
		{"put into an existing session", existing, nil, putLate, nil},
		{"put into an existing session read before", existing, readN, putLate, nil},
		{"destroy, then put, after the start", destroyed, nil, func(s *httpsession.Session) error {
			if err := s.Destroy(); err != nil {
				return fmt.Errorf("Destroy: %w", err)
			}
			return putLate(s)
		}, httpsession.ErrNeedsCookie},
		{"destroy before the start, put after", destroyed, (*httpsession.Session).Destroy, putLate, httpsession.ErrNeedsCookie},
		{"renew an existing session", renewed, nil, (*httpsession.Session).Renew, httpsession.ErrNeedsCookie},
		{"renew a new session", fresh, nil, (*httpsession.Session).Renew, httpsession.ErrNeedsCookie},
	}
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%v/%s", mode, tt.name), func(t *testing.T) {
				e := newEnv(t, nil)
				id := ""
				if tt.state != fresh {
					id = mustCookie(t, do(t, e.m.Handler(counter()), "")).Value
				}
				h := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := httpsession.FromContext(r.Context())
					if tt.before != nil {
						if err := tt.before(s); err != nil {
							t.Errorf("before the response started: %v", err)
						}
					}
					fmt.Fprint(w, "started")
					err := tt.after(s)
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("after the response started: error %v, want %v", err, tt.wantErr)
					}
					// It says when the change could have been made.
					if tt.wantErr != nil && !strings.Contains(fmt.Sprint(err), "before the handler's first Write, WriteHeader or Flush") {
						t.Errorf("after the response started: error %q does not say to make the change before the response starts", err)
					}
					if err != nil && s.Exists("late") {
						t.Error("the refused value is in the session")
					}
				}))
				resp := do(t, h, id)
				body(t, resp)
				if c := sessionCookie(resp); c != nil && c.Value != "" {
					t.Errorf("cookie %v set", c)
				}
				if tt.wantErr != nil && strings.Contains(e.log.String(), "level=ERROR") {
					t.Errorf("a change refused at once was logged too: %s", e.log)
				}
				switch tt.state {
				case fresh:
					if n := countRecords(t, e.st); n != 0 {
						t.Errorf("%d records in the store, want none", n)
					}
				case existing:
					sess, err := e.st.Load(t.Context(), id)
					if err != nil {
						t.Fatal(err)
					}
					if saved := strings.Contains(string(sess.Data), `"late"`); saved != (tt.wantErr == nil) {
						t.Errorf("record %s: the late value saved %v, want %v (log %s)", sess.Data, saved, tt.wantErr == nil, e.log)
					}
				case destroyed, renewed:
					if n := countRecords(t, e.st); n != 0 {
						t.Errorf("%d records in the store after Destroy or a refused Renew, want none", n)
					}
				}
			})
		}
	}
}

func putLate(s *httpsession.Session) error { return s.Put("late", 1) }

func readN(s *httpsession.Session) error {
	s.GetInt("n")
	return nil
}

// countRecords counts the record files in st's data directory.
func countRecords(t *testing.T, st *fsstore.Store) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(st.Dir(), fsstore.DataDir), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
