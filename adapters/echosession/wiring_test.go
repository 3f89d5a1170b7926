package echosession_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/adapters/echosession"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestManagerNotMadeByNew: Handler and Middleware of a Manager New did
// not make (nil, or a Manager{}) panic where the program wires them,
// naming the mistake, where every request panicked with a nil
// dereference.
func TestManagerNotMadeByNew(t *testing.T) {
	webtest.ManagerNotMadeByNew(t, func(m *httpsession.Manager) map[string]func() {
		return map[string]func(){
			"Handler":    func() { echosession.Handler(m) },
			"Middleware": func() { echosession.Middleware(m, httpsession.Exclusive) },
		}
	})
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
