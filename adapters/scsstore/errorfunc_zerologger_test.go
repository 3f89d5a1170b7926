package scsstore_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestErrorFuncZeroLoggerIsDefault: ErrorFunc given a slog.Logger without
// a handler (a zero one, new(slog.Logger)) logs to slog.Default(), as
// with a nil logger, where it panicked on the first failed request, in
// the error path of an outage, instead of answering it: such a logger has
// no handler to take any record.
func TestErrorFuncZeroLoggerIsDefault(t *testing.T) {
	var logs testenv.Buffer
	was := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(was) })

	ef := scsstore.ErrorFunc(new(slog.Logger))
	w := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("ErrorFunc panicked: %v", p)
			}
		}()
		ef(w, httptest.NewRequest("GET", "/", nil), errors.New("the store failed"))
	}()
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want %d", w.Code, http.StatusInternalServerError)
	}
	if got := logs.String(); !strings.Contains(got, "session request failed") {
		t.Fatalf("slog.Default() got %q: want the failed request logged", got)
	}
}
