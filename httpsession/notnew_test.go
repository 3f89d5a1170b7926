package httpsession_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestWiringMistakes: a Manager New did not make (nil, or a Manager{}
// used directly) says so from Err, where Err returned nil or panicked;
// wiring it, or a nil next handler, or a nil HealthChecker, panics where
// the program wires its handlers, naming the mistake, as http.Handle does
// for a nil handler, where every request panicked with a bare nil
// dereference.
func TestWiringMistakes(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	var nilManager *httpsession.Manager
	zero := &httpsession.Manager{}
	for _, tt := range []struct {
		name string
		m    *httpsession.Manager
		want string
	}{
		{"nil Manager", nilManager, "nil *httpsession.Manager (use New)"},
		{"zero Manager", zero, "httpsession.Manager not made by New"},
	} {
		t.Run(tt.name+"/Err", func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Err panicked: %v", r)
					}
				}()
				err = tt.m.Err()
			}()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Err() = %v, want an error saying %q", err, tt.want)
			}
		})
		for name, wire := range map[string]func(){
			"Handler":    func() { tt.m.Handler(ok) },
			"Middleware": func() { tt.m.Middleware(httpsession.Exclusive)(ok) },
		} {
			t.Run(tt.name+"/"+name, func(t *testing.T) { wantWiringPanic(t, wire, tt.want) })
		}
	}
	m := httpsession.New(st)
	if err := m.Err(); err != nil {
		t.Fatal(err)
	}
	t.Run("nil next/Handler", func(t *testing.T) {
		wantWiringPanic(t, func() { m.Handler(nil) }, "nil http.Handler")
	})
	t.Run("nil next/Middleware", func(t *testing.T) {
		wantWiringPanic(t, func() { m.Middleware(httpsession.Exclusive)(nil) }, "nil http.Handler")
	})
	t.Run("nil HealthChecker", func(t *testing.T) {
		wantWiringPanic(t, func() { httpsession.HealthHandler(nil, 0) }, "nil HealthChecker")
	})
	// A typed nil store is a HealthChecker that answers: not ready.
	t.Run("nil store's health", func(t *testing.T) {
		var nilStore *fsstore.Store
		rec := httptest.NewRecorder()
		httpsession.HealthHandler(nilStore, 0).ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil).WithContext(context.Background()))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", rec.Code)
		}
	})
}

// wantWiringPanic runs wire, which must panic with a message holding want
// before any request is served.
func wantWiringPanic(t *testing.T, wire func(), want string) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, want) {
			t.Fatalf("wiring: recovered %v, want a panic saying %q", r, want)
		}
	}()
	wire()
}
