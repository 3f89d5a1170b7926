package gorillastore_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestSecureCookieOverPlainHTTPWarnsOnce: the store's cookie is Secure by
// default, where gorilla's FilesystemStore's is not, so an application
// switched to it and reached over plain HTTP at another address than
// localhost (a development VM) starts a new session on every request:
// browsers do not send the cookie back.
// Save says so once per store, as httpsession's Manager does, where
// nothing at all was logged; not over HTTPS, behind a proxy that says
// https, on localhost, or with Options.Secure turned off.
func TestSecureCookieOverPlainHTTPWarnsOnce(t *testing.T) {
	var logs testenv.Buffer
	was := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(was) })

	for _, tc := range []struct {
		name     string
		url      string
		header   map[string]string
		insecure bool
		warn     bool
	}{
		{name: "plain HTTP", url: "http://devbox:8080/reset/tok3n", warn: true},
		{name: "handler test with a path", url: "/", warn: true},
		{name: "https", url: "https://devbox/"},
		{name: "proxy says https", url: "http://devbox/", header: map[string]string{"X-Forwarded-Proto": "https"}},
		{name: "localhost", url: "http://localhost:8080/"},
		{name: "Secure off", url: "http://devbox:8080/", insecure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := open(t, t.TempDir(), fakeclock.New())
			s.Options.Secure = !tc.insecure
			before := len(logs.String())
			for range 2 {
				r := httptest.NewRequest("GET", tc.url, nil)
				for k, v := range tc.header {
					r.Header.Set(k, v)
				}
				sess, err := s.New(r, "app")
				if err != nil {
					t.Fatal(err)
				}
				sess.Values["n"] = 1
				if err := s.Save(r, httptest.NewRecorder(), sess); err != nil {
					t.Fatal(err)
				}
			}
			got := logs.String()[before:]
			n := strings.Count(got, "Secure session cookie")
			switch {
			case tc.warn && n != 1:
				t.Fatalf("two saves logged %q: want one warning about the Secure cookie over plain HTTP", got)
			case !tc.warn && n != 0:
				t.Fatalf("logged %q: want no warning", got)
			}
			if tc.warn {
				for _, want := range []string{"level=WARN", "Options.Secure", "X-Forwarded-Proto", "https:// URL"} {
					if !strings.Contains(got, want) {
						t.Errorf("warning %q: want it to contain %q", got, want)
					}
				}
				if strings.Contains(got, "tok3n") {
					t.Errorf("warning %q names the request's path", got)
				}
			}
		})
	}
}

// TestLoggerTakesTheWarning: a Store given a Logger logs to it, as
// httpsession.WithLogger and scsstore.WithLogger have their packages do,
// and nothing to slog.Default(), where the warning could only go there.
func TestLoggerTakesTheWarning(t *testing.T) {
	var def, own testenv.Buffer
	was := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&def, nil)))
	t.Cleanup(func() { slog.SetDefault(was) })

	s, _ := open(t, t.TempDir(), fakeclock.New())
	s.Logger = slog.New(slog.NewTextHandler(&own, nil))
	r := httptest.NewRequest("GET", "http://devbox:8080/", nil)
	sess, err := s.New(r, "app")
	if err != nil {
		t.Fatal(err)
	}
	sess.Values["n"] = 1
	if err := s.Save(r, httptest.NewRecorder(), sess); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(own.String(), "Secure session cookie"); n != 1 {
		t.Errorf("the Store's Logger got %q: want the warning once", own.String())
	}
	if def.String() != "" {
		t.Errorf("slog.Default() got %q: want nothing", def.String())
	}
}
