package scsstore_test

import (
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
			st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			sm := scs.New()
			sm.Store = scsstore.New(st)
			sm.ErrorFunc = scsstore.ErrorFunc(slog.New(slog.DiscardHandler))
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
