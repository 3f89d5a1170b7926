package httpsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// closeOnObserver closes the store at the first report of op once armed:
// from the commit's own goroutine, so that the step after it is the one
// that finds the store closed. It also notes whether a TryLock failed.
type closeOnObserver struct {
	st          atomic.Pointer[fsstore.Store]
	armed       atomic.Bool
	op          fsstore.Op
	once        sync.Once
	tryLockFail atomic.Bool
}

func (o *closeOnObserver) Observe(e fsstore.Event) {
	if e.Op == fsstore.OpTryLock && e.Outcome != fsstore.OutcomeOK {
		o.tryLockFail.Store(true)
	}
	if o.armed.Load() && e.Op == o.op && !e.Late {
		o.once.Do(func() { o.st.Load().Close() })
	}
}

// A request that holds a lock (a log in under Exclusive mode, by Renew or
// by Destroy and a new value; an Optimistic log in, which locks the old
// record for its renewal) saves the fresh ID under
// TryLock of the stripe it holds. That TryLock fails only when the process
// can no longer use the stripe: here the store closes (a shutdown) just
// before it. The user gets a 503 with no new cookie; the session saved
// before is as it was, under the ID the browser still has; no record is
// left under a fresh ID, and no lock held.
func TestPublishTryLockFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    httpsession.Mode
		destroy bool       // the log in destroys the session and starts a new one, rather than Renew
		close   bool       // the handler closes the store itself
		at      fsstore.Op // else, once armed, the store closes at the report of this op
	}{
		// Exclusive: nothing in the commit of a Renew reports before
		// the publish, so the handler closes the store itself.
		{"exclusive-renew", httpsession.Exclusive, false, true, 0},
		// Destroy, then a new value: the commit deletes the old record
		// under the request's lock, then saves the new session under a
		// fresh ID on its stripe.
		{"exclusive-destroy-new", httpsession.Exclusive, true, false, fsstore.OpDelete},
		// Optimistic: the commit locks the old record and loads it to
		// check its version; the store closes after that load.
		{"optimistic-renew", httpsession.Optimistic, false, false, fsstore.OpLoad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			obs := &closeOnObserver{op: tc.at}
			opts := []fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone)}
			st, err := fsstore.Open(dir, append(opts, fsstore.WithObserver(obs))...)
			if err != nil {
				t.Fatal(err)
			}
			obs.st.Store(st)
			t.Cleanup(func() { st.Close() })
			m := httpsession.New(st, httpsession.WithMode(tc.mode))
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				n := s.GetInt("n")
				if r.URL.Path == "/login" {
					var err error
					if tc.destroy {
						err = s.Destroy()
					} else {
						err = s.Renew()
					}
					if err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
				}
				if err := s.Put("n", n+1); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				if r.URL.Path == "/login" {
					if tc.close {
						st.Close()
					} else {
						obs.armed.Store(true)
					}
				}
			}))

			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
			if rec.Code != http.StatusOK || len(rec.Result().Cookies()) != 1 {
				t.Fatalf("first visit: %d, cookies %v", rec.Code, rec.Result().Cookies())
			}
			cookie := rec.Result().Cookies()[0]

			req := httptest.NewRequest("GET", "https://example.com/login", nil)
			req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("log in with the store closed before the fresh ID's TryLock: %d %q, want 503", rec.Code, rec.Body.String())
			}
			if !obs.tryLockFail.Load() {
				t.Errorf("no TryLock failed: the store closed elsewhere than before the publish (%q)", rec.Body.String())
			}
			for _, c := range rec.Result().Cookies() {
				if c.Value != "" && c.Value != cookie.Value {
					t.Errorf("a failed log in set a cookie for a fresh ID: %v", c)
				}
			}

			again, err := fsstore.Open(dir, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			stats, err := again.Stats(t.Context(), fsstore.StatsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := int64(1)
			if tc.destroy {
				want = 0 // the log out went through
			}
			if stats.Live+stats.Expired != want || stats.Temps != 0 {
				t.Errorf("store after the failed log in: %d records, %d temps; want %d and 0", stats.Live+stats.Expired, stats.Temps, want)
			}
			lk, err := again.TryLock(cookie.Value, fsstore.Exclusive)
			if err != nil {
				t.Fatalf("the old ID's lock is left held: %v", err)
			}
			lk.Unlock()
			if tc.destroy {
				return
			}
			read := httpsession.New(again).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
			}))
			req = httptest.NewRequest("GET", "https://example.com/", nil)
			req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
			rec = httptest.NewRecorder()
			read.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.String() != "1" {
				t.Errorf("the session saved before the log in, read with its cookie: %d %q, want 200 \"1\"", rec.Code, rec.Body.String())
			}
		})
	}
}
