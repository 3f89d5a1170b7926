package httpsession_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestBufferReuseConcurrentSessions: under WithBufferReuse, requests of
// different sessions run at once through one Manager, each ending in one
// of the ways a request ends (a save, Release, a flushed response then a
// change, Renew, Destroy and a new value, a handler that panics, a
// TimeoutHandler inside the middleware that answers while its handler
// still runs), while a goroutine each handler left running keeps reading
// its session past the end. Every value any of them reads is its own
// session's, or nothing (an error matching ErrReleased): never one of the
// bytes another request wrote into the buffers its request gave back.
func TestBufferReuseConcurrentSessions(t *testing.T) {
	key, err := fsstore.NewKey(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []struct {
		name string
		opts []fsstore.Option
	}{
		{"plain", nil},
		{"encrypted-cache", []fsstore.Option{fsstore.WithKeys(key), fsstore.WithCache(64, 1<<20)}},
		{"bounded", []fsstore.Option{fsstore.WithMaxInFlight(64)}},
	} {
		for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic} {
			t.Run(fmt.Sprintf("%s/%v", sc.name, mode), func(t *testing.T) {
				testReuseConcurrent(t, sc.opts, mode)
			})
		}
	}
}

func testReuseConcurrent(t *testing.T, opts []fsstore.Option, mode httpsession.Mode) {
	e := newEnv(t, opts, httpsession.WithBufferReuse(), httpsession.WithMode(mode))
	const sessions = 6
	// Each session's values name it: a value of another seen anywhere is
	// a leak. Sizes differ, so that buffers are reused across sizes.
	val := func(i int) string { return fmt.Sprintf("[%d]", i) + strings.Repeat(string(rune('a'+i)), 512<<i%5) }
	seed := func(i int) map[string]any {
		return map[string]any{"who": i, "v": val(i), "obj": map[string]string{"v": val(i)}, "b": []byte(val(i))}
	}
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = seedSession(t, e.m, seed(i))
	}
	var (
		mu   sync.Mutex
		bad  []string
		tail sync.WaitGroup
	)
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}
	// check reads everything the session gives and reports what is not
	// session i's; it returns false once the session reads as ended.
	check := func(s *httpsession.Session, i int, where string) bool {
		var (
			v   string
			raw json.RawMessage
			obj map[string]string
			who int
		)
		ok, err := s.Get("who", &who)
		switch {
		case errors.Is(err, httpsession.ErrReleased):
			return false
		case err != nil || !ok:
			// Destroyed, or a fresh session after Destroy: nothing
			// of another's either.
			if keys := s.Keys(); len(keys) > 0 && !slices.Contains(keys, "fresh") {
				report("%s: session %d: Get(who) = %v, %v; keys %q", where, i, ok, err, keys)
			}
			return err == nil
		case who != i:
			report("%s: session %d read who=%d", where, i, who)
		}
		if ok, err := s.Get("v", &v); ok && err == nil && v != val(i) {
			report("%s: session %d read v=%.12q", where, i, v)
		}
		if ok, err := s.Get("v", &raw); ok && err == nil && string(raw) != `"`+val(i)+`"` {
			report("%s: session %d read raw v=%.12q", where, i, raw)
		}
		if ok, err := s.Get("obj", &obj); ok && err == nil && obj["v"] != val(i) {
			report("%s: session %d read obj=%.12q", where, i, obj["v"])
		}
		if g := s.GetString("v"); g != "" && g != val(i) {
			report("%s: session %d GetString(v)=%.12q", where, i, g)
		}
		if keys := s.Keys(); len(keys) != 0 && !slices.Equal(keys, []string{"b", "n", "obj", "v", "who"}) && !slices.Equal(keys, []string{"b", "obj", "v", "who"}) &&
			!slices.Equal(keys, []string{"fresh"}) { // destroyed since the Get
			report("%s: session %d Keys=%q", where, i, keys)
		}
		return true
	}
	// The handler's own values, kept past the request: checked at the end.
	type kept struct {
		i     int
		v     string
		raw   json.RawMessage
		field struct{ V json.RawMessage } // a RawMessage inside a struct
		b     []byte                      // a []byte value (base64 in the payload)
		anyV  any
	}
	var keptVals []kept
	handler := func(i, way int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			check(s, i, "handler")
			var k kept
			k.i = i
			s.Get("v", &k.v)
			s.Get("v", &k.raw)
			s.Get("obj", &k.field)
			s.Get("b", &k.b)
			s.Get("obj", &k.anyV)
			mu.Lock()
			keptVals = append(keptVals, k)
			mu.Unlock()
			tail.Add(1)
			go func() {
				defer tail.Done()
				deadline := time.Now().Add(5 * time.Second)
				for check(s, i, "after") && time.Now().Before(deadline) {
				}
			}()
			switch way % 7 {
			case 0: // a save
				s.Put("n", way)
			case 1: // Release, then reads
				s.Put("n", way)
				s.Release()
				check(s, i, "released")
			case 2: // a flushed response, then a change saved at the end
				fmt.Fprint(w, "x")
				w.(http.Flusher).Flush()
				s.Put("n", way)
			case 3: // Renew: the values move to a fresh ID
				s.Renew()
			case 4: // Destroy and a new session
				s.Destroy()
				s.Put("fresh", true)
			case 5:
				panic(http.ErrAbortHandler)
			case 6: // answered by the TimeoutHandler while still reading
				time.Sleep(time.Millisecond)
				check(s, i, "timed out")
			}
		})
	}
	var wg sync.WaitGroup
	for g := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := ids[g]
			for way := range 7 {
				// Counted from here to the handler's return, which
				// under the TimeoutHandler comes after the request's.
				tail.Add(1)
				inner := handler(g, way)
				counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					defer tail.Done()
					inner.ServeHTTP(w, r)
				})
				h := e.m.Handler(counted)
				if way%7 == 6 {
					h = e.m.Handler(http.TimeoutHandler(counted, time.Microsecond, "late"))
				}
				req := httptest.NewRequest("GET", "http://example.com/", nil)
				req.AddCookie(&http.Cookie{Name: "session", Value: id})
				rec := httptest.NewRecorder()
				func() {
					defer func() { recover() }()
					h.ServeHTTP(rec, req)
				}()
				if c := sessionCookie(rec.Result()); c != nil && c.MaxAge >= 0 && way%7 == 3 {
					id = c.Value // renewed
				}
				if way%7 == 4 {
					// Destroyed: a session of the same values again.
					ids[g] = seedSession(t, e.m, seed(g))
					id = ids[g]
				}
			}
		}()
	}
	wg.Wait()
	tail.Wait()
	for _, k := range keptVals {
		m, _ := k.anyV.(map[string]any)
		if k.v != "" && k.v != val(k.i) || len(k.raw) > 0 && string(k.raw) != `"`+val(k.i)+`"` ||
			k.field.V != nil && string(k.field.V) != `"`+val(k.i)+`"` || k.b != nil && string(k.b) != val(k.i) ||
			m != nil && m["v"] != val(k.i) {
			report("kept by session %d's handler: v %.12q raw %.12q field %.12q b %.12q any %.12v", k.i, k.v, k.raw, k.field.V, k.b, k.anyV)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("a session read what is not its own:\n%s", strings.Join(bad, "\n"))
	}
}
