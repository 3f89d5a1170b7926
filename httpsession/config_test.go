package httpsession_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestIdleTimeoutOption checks that WithIdleTimeout sets the idle timeout
// of the sessions the middleware creates and renews, as WithLifetime does
// their lifetime: a record carries its own idle timeout, so an option that
// only stood in for records without one changed nothing.
func TestIdleTimeoutOption(t *testing.T) {
	e := newEnv(t, nil, httpsession.WithIdleTimeout(2*time.Hour)) // the store's: 10 minutes
	renew := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Renew(); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	h := e.m.Handler(counter())
	id := mustCookie(t, do(t, h, "")).Value
	e.clk.Advance(30 * time.Minute)
	if got := body(t, do(t, h, id)); got != "2" {
		t.Fatalf("after 30 minutes idle the counter reads %q, want 2: the session did not get the 2 h idle timeout", got)
	}
	renewed := mustCookie(t, do(t, e.m.Handler(renew), id)).Value
	if sess, err := e.st.Load(t.Context(), renewed); err != nil || sess.Idle != 2*time.Hour {
		t.Errorf("renewed record: idle %v (%v), want 2h", sess.Idle, err)
	}
}

// TestInvalidManagerConfig checks the settings New cannot return an error
// for: each makes every request fail with a 500 and a log line naming it,
// rather than run with something the caller did not ask for (or panic on
// the first request, for a nil store from an ignored Open error), and
// Manager.Err returns it, so that a program can refuse to start.
func TestInvalidManagerConfig(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tt := range []struct {
		name string
		st   *fsstore.Store
		opts []httpsession.Option
		want string
	}{
		{"nil store", nil, nil, "nil store"},
		{"nil option", st, []httpsession.Option{nil}, "option 2 of 2 passed to New is nil"}, // after the test's WithLogger,
		{"nil option among others", st, []httpsession.Option{httpsession.WithLockTimeout(time.Second), nil, httpsession.WithLockTimeout(0)}, "option 3 of 4 passed to New is nil"},
		// Each option refused for its value is named as the caller wrote
		// it, where the message described the setting ("idle timeout",
		// "lock timeout", "unknown mode", "cookie") instead.
		{"idle below a second", st, []httpsession.Option{httpsession.WithIdleTimeout(500 * time.Millisecond)}, "WithIdleTimeout 500ms"},
		{"negative idle", st, []httpsession.Option{httpsession.WithIdleTimeout(-time.Minute)}, "WithIdleTimeout -1m0s"},
		{"idle above the store's limit", st, []httpsession.Option{httpsession.WithIdleTimeout(fsstore.MaxIdleTimeout + time.Hour)}, "WithIdleTimeout 9601h"},
		{"zero lock timeout", st, []httpsession.Option{httpsession.WithLockTimeout(0)}, "WithLockTimeout 0s"},
		{"negative lifetime", st, []httpsession.Option{httpsession.WithLifetime(-time.Hour)}, "WithLifetime -1h"},
		{"lifetime below a second", st, []httpsession.Option{httpsession.WithLifetime(1)}, "WithLifetime 1ns"},
		{"unknown mode", st, []httpsession.Option{httpsession.WithMode(httpsession.Mode(42))}, "WithMode Mode(42)"},
		{"cookie browsers drop", st, []httpsession.Option{httpsession.WithCookie(httpsession.Cookie{Name: "__Host-sid", Domain: "example.com"})}, "WithCookie: cookie"},
		{"__Secure- cookie sent insecure", st, []httpsession.Option{httpsession.WithCookie(httpsession.Cookie{Name: "__Secure-sid", Insecure: true})}, "WithCookie: cookie"},
		{"unknown SameSite", st, []httpsession.Option{httpsession.WithCookie(httpsession.Cookie{SameSite: 9})}, "WithCookie: unknown SameSite value 9"},
		{"SameSite=None sent insecure", st, []httpsession.Option{httpsession.WithCookie(httpsession.Cookie{SameSite: http.SameSiteNoneMode, Insecure: true})}, "WithCookie: SameSite=None requires Secure"},
		{"partitioned cookie sent insecure", st, []httpsession.Option{httpsession.WithCookie(httpsession.Cookie{Partitioned: true, Insecure: true})}, "WithCookie: a Partitioned cookie requires Secure"},
		{"cookie name net/http cannot send", st, []httpsession.Option{httpsession.WithCookie(httpsession.Cookie{Name: "s id"})}, "WithCookie: cookie: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			m := httpsession.New(tt.st, append([]httpsession.Option{httpsession.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: &log}, nil)))}, tt.opts...)...)
			if !strings.Contains(log.String(), "invalid configuration") || !strings.Contains(log.String(), tt.want) {
				t.Errorf("New logged %q, want the invalid configuration named (%q)", log.String(), tt.want)
			}
			if err := m.Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Err() = %v, want the invalid configuration named (%q)", err, tt.want)
			}
			for _, h := range []http.Handler{m.Handler(counter()), m.Middleware(httpsession.ReadOnly)(counter())} {
				if resp := do(t, h, ""); resp.StatusCode != http.StatusInternalServerError {
					t.Errorf("status %d, want 500", resp.StatusCode)
				}
			}
		})
	}
	if err := httpsession.New(st, httpsession.WithCookie(httpsession.Cookie{Name: "sid"})).Err(); err != nil {
		t.Errorf("a valid configuration: Err() = %v, want nil", err)
	}
}
