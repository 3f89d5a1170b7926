package echosession_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/httpsession"
)

// TestManagerNotMadeByNew: Handler and Middleware of a Manager New did
// not make (nil, or a Manager{}) panic where the program wires them,
// naming the mistake, where every request panicked with a nil
// dereference.
func TestManagerNotMadeByNew(t *testing.T) {
	var nilManager *httpsession.Manager
	for _, tt := range []struct {
		name string
		m    *httpsession.Manager
		want string
	}{
		{"nil", nilManager, "nil *httpsession.Manager (use New)"},
		{"zero", &httpsession.Manager{}, "httpsession.Manager not made by New"},
	} {
		for name, wire := range map[string]func(){
			"Handler":    func() { echosession.Handler(tt.m) },
			"Middleware": func() { echosession.Middleware(tt.m, httpsession.Exclusive) },
		} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				defer func() {
					r := recover()
					if s, _ := r.(string); !strings.Contains(s, tt.want) {
						t.Fatalf("recovered %v, want a panic saying %q", r, tt.want)
					}
				}()
				wire()
			})
		}
	}
}

// TestConfigErrorWiresAndAnswers: a Manager New made with an invalid
// configuration (here a nil store, an Open whose error was dropped) wires
// without a panic, as before the wiring checks, and its requests answer
// 500 through the error handler and go no further.
func TestConfigErrorWiresAndAnswers(t *testing.T) {
	m := httpsession.New(nil, httpsession.WithLogger(slog.New(slog.DiscardHandler)))
	if m.Err() == nil {
		t.Fatal("Err() = nil for a Manager made with a nil store")
	}
	ran := false
	e := echo.New()
	e.Use(echosession.Handler(m))
	e.GET("/", func(c echo.Context) error { ran = true; return nil })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusInternalServerError || ran {
		t.Fatalf("status %d, handler ran %v; want 500 and the handler not run", rec.Code, ran)
	}
}
