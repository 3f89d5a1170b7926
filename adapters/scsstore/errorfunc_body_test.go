package scsstore_test

import (
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// When the commit fails as the handler starts its response, scs's
// LoadAndSave calls ErrorFunc and then goes on writing the handler's
// response after the error page. ErrorFunc's answer declares its length,
// so net/http refuses the handler's writes: the client gets the error page
// alone, not the error page followed by the page it stands for.
func TestErrorFuncBodyIsTheErrorAlone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"Write", func(w http.ResponseWriter) { io.WriteString(w, "the user's page") }},
		{"WriteHeader, then Write", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "the user's page")
		}},
		{"nothing written", func(http.ResponseWriter) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, sm := failingCommitManager(t)
			srv := httptest.NewUnstartedServer(sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sm.Put(r.Context(), "user", "alice")
				st.Close() // the commit, made as the response starts, fails
				tc.write(w)
			})))
			// scs's WriteHeader after the error page's is logged as superfluous.
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.Start()
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := http.StatusText(http.StatusServiceUnavailable) + "\n"
			if resp.StatusCode != http.StatusServiceUnavailable || string(body) != want || err != nil {
				t.Errorf("status %d, body %q (read error %v); want %d, %q", resp.StatusCode, body, err, http.StatusServiceUnavailable, want)
			}
		})
	}
}

// The handler's headers describe the page it was starting, which is not
// sent: ErrorFunc's answer carries none of them. A report's download
// (Content-Disposition) saved the error page as the report's file, and a
// page's Cache-Control (public, max-age) or Expires let a shared cache keep
// the outage's answer and hand it out after the store was back. Headers
// that outer middlewares set (CORS) stay, as with httpsession.
func TestErrorFuncDropsTheHandlersHeaders(t *testing.T) {
	st, sm := failingCommitManager(t)
	page := map[string]string{
		"Content-Disposition": `attachment; filename="report.csv"`,
		"Cache-Control":       "public, max-age=3600",
		"Expires":             "Thu, 01 Jan 2099 00:00:00 GMT",
		"Etag":                `"v1"`,
		"Last-Modified":       "Mon, 02 Jan 2006 15:04:05 GMT",
		"Content-Range":       "bytes 0-4/10",
		"Location":            "/reports/7",
		"Cdn-Cache-Control":   "max-age=3600",
		// What caches in front of the app obey over Cache-Control
		// (nginx, Varnish and Fastly, Akamai): they kept the error
		// answer.
		"X-Accel-Expires":   "3600",
		"Surrogate-Control": "max-age=3600",
		"Edge-Control":      "cache-maxage=3600s",
		// A file the proxy in front sends in place of the answer
		// (nginx; Apache, lighttpd): the 503 went out as the download.
		"X-Accel-Redirect":     "/protected/report-7.csv",
		"X-Sendfile":           "/srv/reports/7.csv",
		"X-Lighttpd-Send-File": "/srv/reports/7.csv",
		// Digests of the page's bytes (RFC 9530), which the error's fail.
		"Content-Digest": "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",
		"Repr-Digest":    "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",
	}
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "exported", true)
		for k, v := range page {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "text/csv")
		st.Close() // the commit, made as the response starts, fails
		io.WriteString(w, "a,b\n1,2\n")
	}))
	cors := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://app.example")
		h.ServeHTTP(w, r)
	})
	resp := get503(t, cors)
	for k, v := range page {
		if got := resp.Header.Get(k); got == v {
			t.Errorf("the error answer carries the handler's %s: %q", k, got)
		}
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q; want no-store", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("Access-Control-Allow-Origin %q; want the outer middleware's", got)
	}
}

// A Retry-After the handler set for its page (a 429's) is not the error
// answer's: a 500 went out asking clients to wait an hour. A 503 has its
// own, as before.
func TestErrorFuncDropsTheHandlersRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"500", errors.New("scs: codec failed"), ""},
		{"503", fsstore.ErrUnavailable, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Retry-After", "3600")
			scsstore.ErrorFunc(slog.New(slog.DiscardHandler))(rec, httptest.NewRequest("GET", "/", nil), tc.err)
			if got := rec.Header().Values("Retry-After"); tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
				t.Errorf("status %d, Retry-After %q; want %q", rec.Code, got, tc.want)
			}
		})
	}
}

// failingCommitManager returns a store and an scs manager on it with
// ErrorFunc, for a handler that closes the store so that the commit fails.
func failingCommitManager(t *testing.T) (*fsstore.Store, *scs.SessionManager) {
	t.Helper()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sm := scs.New()
	sm.Store = scsstore.New(st)
	sm.ErrorFunc = scsstore.ErrorFunc(slog.New(slog.DiscardHandler))
	return st, sm
}

// Headers a handler put into the map under keys not in canonical form
// (h["cache-control"], as code written for HTTP/2's lower-case names
// does) are the same fields to net/http, which sends them, and to caches
// and proxies: ErrorFunc's answer drops them too, where they went out.
func TestErrorFuncDropsNonCanonicalKeys(t *testing.T) {
	st, sm := failingCommitManager(t)
	page := map[string]string{
		"cache-control":       "public, max-age=3600",
		"surrogate-control":   "max-age=3600",
		"x-accel-expires":     "3600",
		"x-accel-redirect":    "/protected/report-7.csv",
		"content-disposition": `attachment; filename="report.csv"`,
	}
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "exported", true)
		for k, v := range page {
			w.Header()[k] = []string{v}
		}
		st.Close() // the commit, made as the response starts, fails
		io.WriteString(w, "a,b\n1,2\n")
	}))
	resp := get503(t, h)
	for k, v := range page {
		if k == "cache-control" {
			continue
		}
		if got := resp.Header.Get(k); got == v {
			t.Errorf("the error answer carries the handler's %s: %q", k, got)
		}
	}
	if got := resp.Header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("Cache-Control %q; want no-store alone", got)
	}
}

// get503 serves one GET with h, which must answer 503 (its commit
// failed), and returns the answer, its body read.
func get503(t *testing.T, h http.Handler) *http.Response {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d; want 503", resp.StatusCode)
	}
	return resp
}
