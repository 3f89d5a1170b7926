package httpsession_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// touchCounter counts the store's touches.
type touchCounter struct{ n atomic.Int64 }

func (c *touchCounter) Observe(e fsstore.Event) {
	if e.Op == fsstore.OpTouch {
		c.n.Add(1)
	}
}

// TestReadOnlyStoreNotTouched: a tool that serves pages from a store opened
// fsstore.WithReadOnly (a reporting host that mounts the share ro) reads
// sessions in ReadOnly or Optimistic mode. Reading one past half its idle
// timeout asked the store for a touch, which such a store refuses by
// design, and logged "touch failed" at Error on every such request, for
// as long as the tool ran. The store's refusal is a setting, not a fault:
// the Manager says once, at Warn, that sessions read through it keep
// their expiry, and asks no touch again.
func TestReadOnlyStoreNotTouched(t *testing.T) {
	for _, mode := range []httpsession.Mode{httpsession.ReadOnly, httpsession.Optimistic} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			clk := fakeclock.New()
			w, err := fsstore.Open(dir, fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			ids := seedSessions(t, w, 2)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			clk.Advance(6 * time.Minute) // past half the idle timeout: a read touches
			touches := &touchCounter{}
			st, err := fsstore.Open(dir, fsstore.WithClock(clk.Now), fsstore.WithReadOnly(), fsstore.WithObserver(touches))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var logs bytes.Buffer
			m := httpsession.New(st, httpsession.WithClock(clk.Now), httpsession.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))))
			h := m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
			}))
			for i := range 4 {
				resp := do(t, h, ids[i%2])
				if b := body(t, resp); resp.StatusCode != http.StatusOK || b != "1" {
					t.Fatalf("request %d: status %d, body %q; want 200, 1", i, resp.StatusCode, b)
				}
				if c := sessionCookie(resp); c != nil {
					t.Errorf("request %d: cookie %v set, want none", i, c)
				}
			}
			if n := strings.Count(logs.String(), "level=ERROR"); n != 0 {
				t.Errorf("%d errors logged for reads of a read-only store:\n%s", n, logs.String())
			}
			if n := strings.Count(logs.String(), "WithReadOnly"); n != 1 {
				t.Errorf("the store opened WithReadOnly said %d times, want once:\n%s", n, logs.String())
			}
			if n := touches.n.Load(); n > 1 {
				t.Errorf("%d touches asked of a store opened WithReadOnly, want at most 1 (the one that finds it so)", n)
			}
		})
	}
}
