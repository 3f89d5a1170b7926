package scsstore_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrorFuncEmptyAnswerOverHTTP2: net/http's HTTP/2 server refuses
// writes past a declared Content-Length only when it is not 0, so after
// the empty answer ErrorFunc gives under a Content-Encoding, the page scs
// writes after a failed commit went out over HTTP/2 (the Go client read
// "server replied with more than declared Content-Length"), where HTTP/1.1
// refuses it. ErrorFunc now resets the stream's writes once its answer
// is out: the client gets the 503 and none of the page (over HTTP/2, a
// stream reset as it reads the empty body).
func TestErrorFuncEmptyAnswerOverHTTP2(t *testing.T) {
	for _, tc := range []struct {
		name     string
		encoding string // the handler's Content-Encoding: the answer is empty
		http2    bool
		want     string
	}{
		{"HTTP/2, handler's gzip", "gzip", true, ""},
		{"HTTP/2, handler's br", "br", true, ""},
		{"HTTP/2, text answer", "", true, "Service Unavailable\n"},
		{"HTTP/1.1, handler's gzip", "gzip", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, sm := failingCommitManager(t)
			h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sm.Put(r.Context(), "user", "alice")
				st.Close() // the commit, made as the response starts, fails
				if tc.encoding != "" {
					w.Header().Set("Content-Encoding", tc.encoding)
				}
				io.WriteString(w, "<p>the user's page</p>")
			}))
			srv := httptest.NewUnstartedServer(h)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.EnableHTTP2 = tc.http2
			srv.StartTLS()
			defer srv.Close()
			req, err := http.NewRequest("GET", srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept-Encoding", "identity") // the body as sent
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 1 != tc.http2 {
				t.Fatalf("protocol %s", resp.Proto)
			}
			if resp.StatusCode != http.StatusServiceUnavailable || string(body) != tc.want {
				t.Fatalf("status %d, body %q; want 503, %q", resp.StatusCode, body, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "more than declared") {
				t.Fatalf("the page went out after the answer: %v", err)
			}
		})
	}
}
