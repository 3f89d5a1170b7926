package prom_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/storetest"
	"github.com/sessfs/sessfs/metrics/prom"
)

// TestPayloadBytesOfOptimisticCommits: an httpsession request in
// Optimistic mode that creates a session saves it (op="save"), and one
// that changes it commits a compare-and-swap: each writes the record's
// payload, counted once, under its op, as the bytes the record holds
// after it. No write is counted under both.
func TestPayloadBytesOfOptimisticCommits(t *testing.T) {
	storetest.Skip(t)
	obs := prom.New("")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(obs); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(t.TempDir(), fsstore.WithObserver(obs), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := httpsession.New(st, httpsession.WithMode(httpsession.Optimistic))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		if err := s.Put("v", strings.Repeat("x", len(r.URL.Path)*10)); err != nil {
			t.Error(err)
		}
	}))
	stored := func(id string) float64 {
		t.Helper()
		sess, err := st.Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return float64(len(sess.Data))
	}
	bytesOf := func(op string) float64 {
		return value(t, reg, "sessfs_payload_bytes_total", map[string]string{"op": op})
	}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/a", nil))
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %q, want one", w.Header().Values("Set-Cookie"))
	}
	id := cs[0].Value
	created := stored(id)
	loads := bytesOf("load")
	if got := bytesOf("save"); got != created {
		t.Errorf("after the session's creation, save payload bytes %v; the record holds %v", got, created)
	}
	if got := bytesOf("compare_and_swap"); got != 0 {
		t.Errorf("after the session's creation, compare_and_swap payload bytes %v, want 0", got)
	}

	req := httptest.NewRequest("GET", "https://example.com/longer-path", nil)
	req.AddCookie(cs[0])
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("change: status %d", w.Code)
	}
	changed := stored(id)
	if changed == created {
		t.Fatalf("the change left the record's payload at %v bytes", created)
	}
	if got := bytesOf("compare_and_swap"); got != changed {
		t.Errorf("after the change, compare_and_swap payload bytes %v; the record holds %v", got, changed)
	}
	if got := bytesOf("save"); got != created {
		t.Errorf("after the change, save payload bytes %v, want the creation's %v alone", got, created)
	}
	// The change loaded the record once (the request's read); the
	// compare-and-swap's own look at the version is not a load.
	if got := bytesOf("load") - loads; got != created+changed {
		t.Errorf("load payload bytes grew by %v; want %v (the request's read) plus %v (the test's)", got, created, changed)
	}
}
