package httpsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/lock"
)

// TestForgedCookieFloodWritesNothing: a flood of requests whose cookies
// name sessions the store does not have (forged, expired, logged out; up
// to four well-formed cookies a request, besides malformed ones) reads
// the session on every request and writes nothing: no record, no shard
// directory, and in the lock directory no file but the stripes' own,
// created on first use and never more than WithLockStripes, under either
// lock strategy (a lease file lives only while its lock is held). So
// such a flood costs a lock and a lookup a request, and nothing sessgc
// has to clean.
func TestForgedCookieFloodWritesNothing(t *testing.T) {
	const stripes, requests = 8, 200
	stripeName := regexp.MustCompile(`^[0-9a-f]{4}$`)
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			e := newEnv(t, []fsstore.Option{fsstore.WithLockStrategy(strategy), fsstore.WithLockStripes(stripes)})
			locks := filepath.Join(e.st.Dir(), fsstore.LockDir)
			names := func(dir string) []string {
				t.Helper()
				des, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				var n []string
				for _, de := range des {
					n = append(n, de.Name())
				}
				return n
			}
			lockedBefore, dataBefore := names(locks), names(filepath.Join(e.st.Dir(), fsstore.DataDir))
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				fmt.Fprint(w, s.GetString("user"), s.IsNew())
			}))
			for i := range requests {
				req := httptest.NewRequest("GET", "https://app.example/", nil)
				for range 1 + i%5 {
					id, err := fsstore.NewID()
					if err != nil {
						t.Fatal(err)
					}
					req.AddCookie(&http.Cookie{Name: "session", Value: id})
				}
				req.AddCookie(&http.Cookie{Name: "session", Value: "not an ID"})
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 || w.Body.String() != "true" {
					t.Fatalf("request %d: %d %q, want 200 \"true\"", i, w.Code, w.Body.String())
				}
			}
			if got := names(filepath.Join(e.st.Dir(), fsstore.DataDir)); !slices.Equal(got, dataBefore) {
				t.Errorf("data directory after the flood: %q, want %q", got, dataBefore)
			}
			var stripeFiles int
			for _, n := range names(locks) {
				switch {
				case slices.Contains(lockedBefore, n):
				case stripeName.MatchString(n):
					stripeFiles++
				default:
					t.Errorf("lock directory after the flood holds %q", n)
				}
			}
			if stripeFiles > stripes {
				t.Errorf("%d stripe lock files after the flood, want at most %d", stripeFiles, stripes)
			}
		})
	}
}
