package httpsession_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// waitersHoldNoSlot tries lock-slot starvation across two app servers on
// one NFS export: on hostA, 64 users sit in long handlers holding their
// sessions' locks; on hostB, capped at 64 held locks, 64 requests of the
// same users wait for those locks. An unrelated user on hostB is served at
// once (waiting takes no lock slot, and the session is locked only on
// first use), and once hostA lets go, hostB's requests complete with no
// update lost. It returns each host's role; TestNFSOutage runs them in its
// guest, before the outage phases, rather than in a boot of its own.
func waitersHoldNoSlot() map[string]func(*testing.T) {
	const busy = 64
	return map[string]func(*testing.T){
		"hostA": func(t *testing.T) {
			dir := nfstest.Dir(t)
			abortOnFailure(t, dir)
			st := openNFSStore(t, dir, fsstore.WithLogger(testLogger(t)))
			// Distinct stripes: each held session takes a lock of its own.
			ids := seedDistinctStripes(t, st, busy+1)
			writeShared(t, filepath.Join(dir, "ids"), strings.Join(ids, "\n"))
			entered, hold := make(chan struct{}, busy), make(chan struct{})
			m := httpsession.New(st, httpsession.WithLogger(testLogger(t)))
			srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				if err := s.Put("n", s.GetInt("n")+1); err != nil { // locks, and keeps the lock
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				entered <- struct{}{}
				<-hold
			})))
			defer srv.Close()
			released := false
			release := func() {
				if !released {
					released = true
					close(hold)
				}
			}
			defer release()
			done := startRequests(t, srv, ids[:busy])
			for range busy {
				select {
				case <-entered:
				case got := <-done:
					t.Fatalf("a long request ended before its handler ran: %s", got)
				}
			}
			writeShared(t, filepath.Join(dir, "held"), "")
			waitShared(t, filepath.Join(dir, "served"))
			// All at once: 64 saves here and 64 lock-load-save cycles on
			// hostB start together in the guest's one CPU. Each finishes
			// its steps late, and none may be taken for an outage (a
			// 503): the store's ceiling counts a step, not the queue;
			// a step queued behind the others in the NFS client waits
			// while they are answered; and the saves of these keyless
			// stores share their re-reads of the marker rather than take
			// turns at them.
			release()
			for range busy {
				if got := <-done; got != "200 " {
					t.Errorf("hostA long request: %q", got)
				}
			}
			writeShared(t, filepath.Join(dir, "released"), "")
		},
		"hostB": func(t *testing.T) {
			dir := nfstest.Dir(t)
			abortOnFailure(t, dir)
			waitShared(t, filepath.Join(dir, "held"))
			b, err := os.ReadFile(filepath.Join(dir, "ids"))
			if err != nil {
				t.Fatal(err)
			}
			ids := strings.Split(string(b), "\n")
			st := openNFSStore(t, dir, fsstore.WithMaxHeldLocks(busy), fsstore.WithLogger(testLogger(t)))
			m := httpsession.New(st, httpsession.WithLockTimeout(3*time.Minute), httpsession.WithLogger(testLogger(t)))
			entered := make(chan struct{}, busy)
			h := m.Handler(counter())
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/busy" {
					entered <- struct{}{}
				}
				h.ServeHTTP(w, r)
			}))
			defer srv.Close()
			done := make(chan string, busy)
			c := client(t, srv)
			for _, id := range ids[:busy] {
				go func() {
					resp, err := c.Do(mustRequest(t, "GET", srv.URL+"/busy", id))
					if err != nil {
						done <- err.Error()
						return
					}
					done <- strconv.Itoa(resp.StatusCode) + " " + readAll(resp)
				}()
			}
			for range busy {
				select {
				case <-entered:
				case got := <-done:
					t.Fatalf("a request for a session locked on hostA ended early: %s", got)
				}
			}
			resp := call(t, c, "GET", srv.URL+"/other", ids[busy], nil)
			if got := body(t, resp); resp.StatusCode != 200 || got != "2" {
				t.Errorf("unrelated user on hostB while %d requests wait for hostA: status %d, body %q", busy, resp.StatusCode, got)
			}
			// Served while they all still wait, not after some gave up.
			select {
			case got := <-done:
				t.Fatalf("the unrelated user was served only after a waiting request ended: %s", got)
			default:
			}
			writeShared(t, filepath.Join(dir, "served"), "")
			for range busy {
				// hostA's increment, then this one: nothing lost.
				if got := <-done; got != "200 3" {
					t.Errorf("hostB request after hostA let go: %q", got)
				}
			}
			waitShared(t, filepath.Join(dir, "released"))
		},
	}
}

// testLogger logs to the test's output, which a host's run shows when it
// fails: a 503 in a scenario says why there.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func openNFSStore(t *testing.T, dir string, opts ...fsstore.Option) *fsstore.Store {
	t.Helper()
	p := filepath.Join(dir, "store")
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := fsstore.Open(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// startRequests sends one GET /long per ID and reports "status body" for
// each on the returned channel.
func startRequests(t *testing.T, srv *httptest.Server, ids []string) <-chan string {
	done := make(chan string, len(ids))
	c := client(t, srv)
	for _, id := range ids {
		go func() {
			resp, err := c.Do(mustRequest(t, "GET", srv.URL+"/long", id))
			if err != nil {
				done <- err.Error()
				return
			}
			done <- strconv.Itoa(resp.StatusCode) + " " + readAll(resp)
		}()
	}
	return done
}

// writeShared publishes a file to the other host (atomically).
func writeShared(t *testing.T, path, content string) {
	t.Helper()
	tmp := fmt.Sprintf("%s.tmp-%s", path, nfstest.Host())
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitShared waits for the other host's file, or fails at once when the
// other host has failed (see abortOnFailure); the bound is a hang
// detector, far above the scenario's expected length.
func waitShared(t *testing.T, path string) {
	t.Helper()
	other := "hostA"
	if nfstest.Host() == "hostA" {
		other = "hostB"
	}
	abort := filepath.Join(filepath.Dir(path), "abort-"+other)
	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	for {
		nfstest.RefreshDir(filepath.Dir(path))
		if _, err := os.Stat(path); err == nil {
			return
		}
		if _, err := os.Stat(abort); err == nil {
			t.Fatalf("%s failed; not waiting for %s", other, filepath.Base(path))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not write %s", other, filepath.Base(path))
		}
		// Polling another host's file: there is no event to wait on.
		// Each look is round trips and system calls on the guest's one
		// CPU: a host that has waited a second already (the other one
		// counting its round trips, seeding sessions, serving a burst)
		// looks four times a second rather than fifty, and leaves that
		// work the CPU, for a quarter of a second of the wait at most.
		look := 20 * time.Millisecond
		if time.Since(start) > time.Second {
			look = 250 * time.Millisecond
		}
		time.Sleep(look)
	}
}

// abortOnFailure tells the other host, when this one fails, to stop
// waiting for it.
func abortOnFailure(t *testing.T, dir string) {
	t.Cleanup(func() {
		if t.Failed() {
			writeShared(t, filepath.Join(dir, "abort-"+nfstest.Host()), "")
		}
	})
}
