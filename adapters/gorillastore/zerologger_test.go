package gorillastore_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestZeroLoggerIsDefault: a Store whose Logger is a slog.Logger without
// a handler (a zero one, new(slog.Logger)) logs to slog.Default(), as a
// nil Logger does, where its first warning (here, a Secure cookie sent
// over plain HTTP) panicked inside Save: such a logger has no handler to
// take any record.
func TestZeroLoggerIsDefault(t *testing.T) {
	var logs testenv.Buffer
	was := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(was) })

	s, _ := open(t, t.TempDir(), fakeclock.New())
	s.Logger = new(slog.Logger)
	r := httptest.NewRequest("GET", "http://devbox:8080/", nil)
	sess, err := s.New(r, "app")
	if err != nil {
		t.Fatal(err)
	}
	sess.Values["n"] = 1
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("Save panicked: %v", p)
			}
		}()
		if err := s.Save(r, httptest.NewRecorder(), sess); err != nil {
			t.Fatal(err)
		}
	}()
	if got := logs.String(); !strings.Contains(got, "Secure session cookie") {
		t.Fatalf("slog.Default() got %q: want the warning about the Secure cookie", got)
	}
}
