package httpsession

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// PanicsAtLoad is an Observer that panics at the first load reported
// once it is armed (Arm). The package's external tests use it too.
type PanicsAtLoad struct{ armed atomic.Bool }

// Arm makes the next load reported panic.
func (o *PanicsAtLoad) Arm() { o.armed.Store(true) }

func (o *PanicsAtLoad) Observe(ev fsstore.Event) {
	if ev.Op == fsstore.OpLoad && o.armed.CompareAndSwap(true, false) {
		panic("observer")
	}
}

// TestLoadPanicBufferNotHeld: the store reports a load to its Observer on
// the request's goroutine, after a bounded store gave up on a read that
// may still be under way, reading into the buffer the session lent it. An
// Observer that panics there, recovered by the handler, left that buffer
// held by the session (loaded, which drops it after a load given up on,
// never ran), and the request's end gave it back to the pool: the late
// read then wrote into another request's buffer, with or without
// WithBufferReuse. The load's buffer is the session's only once the load
// has returned.
func TestLoadPanicBufferNotHeld(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		obs := &PanicsAtLoad{}
		st, err := fsstore.Open(t.TempDir(), fsstore.WithObserver(obs))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		var opts []Option
		if reuse {
			opts = append(opts, WithBufferReuse())
		}
		m := New(st, opts...)
		rec := httptest.NewRecorder()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := FromContext(r.Context()).Put("n", 1); err != nil {
				t.Error(err)
			}
		})).ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("cookies %v; want the session's", cookies)
		}
		var held int
		h := m.Middleware(Exclusive)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := FromContext(r.Context())
			obs.Arm()
			func() {
				defer func() { recover() }()
				s.Get("n", new(int))
			}()
			s.mu.Lock()
			held = len(s.held)
			s.mu.Unlock()
		}))
		req := httptest.NewRequest("GET", "https://example.com/", nil)
		req.AddCookie(cookies[0])
		h.ServeHTTP(httptest.NewRecorder(), req)
		if held != 0 {
			t.Errorf("reuse %v: %d buffers held after a load whose report panicked; want the load's left to the collector, not the pool", reuse, held)
		}
	}
}
