//go:build linux

package httpsession_test

import (
	"bufio"
	"context"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/proctest"
)

// The cancellation and leak audit of the middleware: a request in
// Exclusive mode whose session's load, lock, save or release ends early
// (its lock wait timed out; the handler panicked; the store's Observer,
// called on the request's goroutine, panicked in the middle of a load, a
// Release or the commit). Once the request has returned (within a minute:
// a request that never returns is the leak a mutex left locked makes),
// nothing of it may be left: the session's lock free in this process and,
// with the store closed, to another process; no descriptor, no goroutine,
// no temp file.

const leakAuditEnv = "SESSFS_HTTPSESSION_LEAKAUDIT"

// TestLeakAuditProcess is the child of TestLeakAudit: it reports whether
// the session $SESSFS_LEAK_ID of the store in $SESSFS_LEAK_DIR is free to
// lock, without waiting.
func TestLeakAuditProcess(t *testing.T) {
	proctest.Main(t, leakAuditEnv, func(string) error {
		st, err := fsstore.Open(os.Getenv("SESSFS_LEAK_DIR"), fsstore.WithCreate(false))
		if err != nil {
			return err
		}
		defer st.Close()
		l, err := st.TryLock(os.Getenv("SESSFS_LEAK_ID"), fsstore.Exclusive)
		if err != nil {
			proctest.Say("held %v", err)
			return nil
		}
		proctest.Say("free")
		return l.Unlock()
	})
}

// panicsAt is an Observer that panics once at the nth event of op after
// it is armed.
type panicsAt struct {
	op    fsstore.Op
	nth   int32
	armed atomic.Bool
	seen  atomic.Int32
}

func (o *panicsAt) Observe(ev fsstore.Event) {
	if ev.Op == o.op && o.armed.Load() && o.seen.Add(1) == o.nth {
		o.armed.Store(false)
		panic("observer")
	}
}

func TestLeakAudit(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // see lock's TestLeakAudit
	for _, tc := range []struct {
		name string
		// op, nth: the store's report that panics (none when nth is 0).
		op  fsstore.Op
		nth int32
		// holdFirst: the session's lock is held in this process when the
		// request comes, and released after it.
		holdFirst bool
		// hijack: the writer can be hijacked, and the handler hijacks
		// it after handler.
		hijack  bool
		handler func(s *httpsession.Session, arm func())
	}{
		{name: "Get/Observer panics at the session's load", op: fsstore.OpLoad, nth: 1, handler: func(s *httpsession.Session, arm func()) {
			arm()
			s.GetInt("n")
		}},
		{name: "Get/Observer panics at the session's lock", op: fsstore.OpLockWait, nth: 1, handler: func(s *httpsession.Session, arm func()) {
			arm()
			s.GetInt("n")
		}},
		{name: "Release/Observer panics at the save", op: fsstore.OpSave, nth: 1, handler: func(s *httpsession.Session, arm func()) {
			s.Put("n", 5)
			arm()
			s.Release()
		}},
		{name: "commit/Observer panics at the save", op: fsstore.OpSave, nth: 1, handler: func(s *httpsession.Session, arm func()) {
			s.Put("n", 5)
			arm()
		}},
		{name: "commit/Observer panics at the renewed record's save", op: fsstore.OpSave, nth: 1, handler: func(s *httpsession.Session, arm func()) {
			s.GetInt("n")
			if err := s.Renew(); err != nil {
				panic(err)
			}
			arm() // the fresh record's save, under its lock, before the old one's marker
		}},
		{name: "Hijack/Observer panics at the save", op: fsstore.OpSave, nth: 1, hijack: true, handler: func(s *httpsession.Session, arm func()) {
			s.Put("n", 5)
			arm() // the hijack commits: see the writer's hijack below
		}},
		{name: "handler panics holding the session", handler: func(s *httpsession.Session, arm func()) {
			s.Put("n", 5)
			panic("handler")
		}},
		{name: "Get/lock wait times out", holdFirst: true, handler: func(s *httpsession.Session, arm func()) {
			if _, err := s.Get("n", new(int)); err == nil {
				panic("Get of a session held elsewhere did not time out")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fds, goroutines := fdsOpen(), runtime.NumGoroutine()
			obs := &panicsAt{op: tc.op, nth: tc.nth}
			// Only the case that waits for a lock held here needs its wait
			// to end soon; the others' waits are for nothing, but on a
			// loaded machine even that can outlast 20 ms, and a 503 is
			// not the case under test.
			wait := 10 * time.Second
			if tc.holdFirst {
				wait = 20 * time.Millisecond
			}
			e := newEnv(t, []fsstore.Option{fsstore.WithObserver(obs)}, httpsession.WithLockTimeout(wait))
			id := firstCookie(t, e.st, httpsession.WithClock(e.clk.Now))
			var held *fsstore.Locked
			if tc.holdFirst {
				var err error
				if held, err = e.st.Lock(context.Background(), id, fsstore.Exclusive); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				h := recovering(e.m.Middleware(httpsession.Exclusive)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					tc.handler(httpsession.FromContext(r.Context()), func() { obs.armed.Store(tc.nth > 0) })
					if tc.hijack {
						if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
							conn.Close()
						}
					}
				})))
				req := httptest.NewRequest("GET", "http://example.com/", nil)
				req.AddCookie(&http.Cookie{Name: "session", Value: id})
				var w http.ResponseWriter = httptest.NewRecorder()
				if tc.hijack {
					w = hijackable{w}
				}
				h.ServeHTTP(w, req)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("the request has not returned a minute after it began: a lock of the session's left locked?")
			}
			if tc.nth > 0 && obs.seen.Load() < tc.nth {
				t.Errorf("the Observer was told of %d of the events, not the %dth it panics at", obs.seen.Load(), tc.nth)
			}
			if held != nil {
				held.Unlock()
			}
			if l, err := e.st.TryLock(id, fsstore.Exclusive); err != nil {
				t.Errorf("TryLock in this process after the request: %v, want the session's lock free", err)
			} else {
				l.Unlock()
			}
			e.st.Close()
			if !poll(func() bool { return (fds < 0 || fdsOpen() <= fds) && runtime.NumGoroutine() <= goroutines }) {
				t.Errorf("after the request and Close: %d descriptors (%d before), %d goroutines (%d before)",
					fdsOpen(), fds, runtime.NumGoroutine(), goroutines)
			}
			c := proctest.Start(t, "TestLeakAuditProcess", leakAuditEnv, "try", []string{"SESSFS_LEAK_DIR=" + e.st.Dir(), "SESSFS_LEAK_ID=" + id})
			if got := c.Expect(t, ""); got != "free" {
				t.Errorf("another process after the request: %s, want the session's lock free", got)
			}
			c.Finish(t)
			filepath.WalkDir(e.st.Dir(), func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
					t.Errorf("temp file left behind: %s", p)
				}
				return nil
			})
		})
	}
}

// hijackable is a ResponseWriter whose connection can be hijacked: one
// end of a pipe.
type hijackable struct{ http.ResponseWriter }

func (h hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, other := net.Pipe()
	other.Close()
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

// fdsOpen counts this process's descriptors.
func fdsOpen() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// poll polls cond for up to a minute: a bound on a wait for an event,
// nothing measured against it.
func poll(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
