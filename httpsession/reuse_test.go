package httpsession_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestBufferReuseAfterRequest: under WithBufferReuse every buffer a
// request used goes back to the Manager's pool when it ends, the one its
// session's values lived in included. What the handler took from the
// session (a string, a json.RawMessage, a map, the keys) stays its own
// while later requests of another session read and write records into
// those buffers; and code still holding the session reads nothing
// (Get fails with ErrReleased), never the bytes written there since.
func TestBufferReuseAfterRequest(t *testing.T) {
	for _, mode := range []httpsession.Mode{httpsession.Exclusive, httpsession.Optimistic, httpsession.ReadOnly} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, nil, httpsession.WithBufferReuse())
			wantV := strings.Repeat("A", 4<<10)
			first := seedSession(t, e.m, map[string]any{"v": wantV, "n": 1, "obj": map[string]any{"a": wantV[:100]}})
			other := seedSession(t, e.m, map[string]any{"v": strings.Repeat("B", 4<<10), "n": 2, "obj": map[string]any{"b": strings.Repeat("B", 100)}})
			for range 3 {
				do(t, e.m.Handler(counter()), other) // the pool holds buffers these records fit in
			}

			var (
				kept *httpsession.Session
				v    string
				raw  json.RawMessage
				obj  map[string]any
				keys []string
			)
			h := e.m.Middleware(mode)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				kept = s
				if mode != httpsession.ReadOnly {
					// Saved: the values then live in the encoding's buffer.
					if err := s.Put("n", s.GetInt("n")+1); err != nil {
						t.Error(err)
					}
				}
				for key, dst := range map[string]any{"v": &v, "obj": &obj} {
					if ok, err := s.Get(key, dst); !ok || err != nil {
						t.Errorf("Get(%q) = %v, %v", key, ok, err)
					}
				}
				if ok, err := s.Get("v", &raw); !ok || err != nil {
					t.Errorf("Get(v) into a json.RawMessage = %v, %v", ok, err)
				}
				keys = s.Keys()
				fmt.Fprint(w, "ok")
			}))
			if resp := do(t, h, first); resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body(t, resp))
			}
			// Other requests through the same Manager write their records
			// and encodings into its pooled buffers meanwhile. (A
			// sync.Pool may drop what it is given, at random under the
			// race detector: several.)
			for range 8 {
				do(t, e.m.Handler(counter()), other)
			}
			if v != wantV || string(raw) != `"`+wantV+`"` || fmt.Sprint(obj) != fmt.Sprint(map[string]any{"a": wantV[:100]}) ||
				!slices.Equal(keys, []string{"n", "obj", "v"}) {
				t.Fatalf("what the handler took from its session changed after the request: v %.20q..., raw %.20q..., obj %.40v, keys %q", v, raw, obj, keys)
			}

			var after string
			if ok, err := kept.Get("v", &after); ok || !errors.Is(err, httpsession.ErrReleased) {
				t.Fatalf("Get after the request ended = %v, %v (value %.20q), want an error matching ErrReleased", ok, err, after)
			}
			if s := kept.GetString("v"); s != "" {
				t.Fatalf("GetString after the request ended = %.20q..., want \"\"", s)
			}
			if n := kept.GetInt("n"); n != 0 {
				t.Fatalf("GetInt after the request ended = %d, want 0", n)
			}
			if kept.Exists("v") || len(kept.Keys()) != 0 || kept.PopString("v") != "" {
				t.Fatalf("after the request ended: Exists %v, Keys %q; want nothing", kept.Exists("v"), kept.Keys())
			}
			if err := kept.Put("n", 5); !errors.Is(err, httpsession.ErrReleased) {
				t.Fatalf("Put after the request ended = %v, want ErrReleased", err)
			}
			if kept.IsNew() || kept.Created().IsZero() {
				t.Fatalf("after the request ended: IsNew %v, Created %v; want the loaded record's", kept.IsNew(), kept.Created())
			}
			// The session's record is what its request left.
			sess, err := e.st.Load(t.Context(), first)
			if err != nil {
				t.Fatal(err)
			}
			wantN := "1"
			if mode != httpsession.ReadOnly {
				wantN = "2"
			}
			if !bytes.Contains(sess.Data, []byte(`"n":`+wantN+",")) || bytes.Contains(sess.Data, []byte("BBB")) {
				t.Fatalf("the record saved is %.80q..., want n %s and none of the other session's bytes", sess.Data, wantN)
			}
		})
	}
}

// TestBufferReuseAllocatesNoPayload: under WithBufferReuse a request on a
// 16 KiB session allocates no more than one on a session of one key, give
// or take a pool emptied by a collection: its session's buffer goes back
// to the pool with the others, where by default each request allocates
// one of the payload's size (TestRequestAllocatesItsPayloadNotItsKeys).
// For a request that saves, one that only reads, and one in ReadOnly mode.
func TestBufferReuseAllocatesNoPayload(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops a share of what sync.Pool is given")
	}
	for _, rt := range requestKinds() {
		t.Run(rt.name, func(t *testing.T) {
			perRequest := func(vals map[string]any) (allocated float64, payload int) {
				e := newEnv(t, []fsstore.Option{}, httpsession.WithBufferReuse())
				id := seedSession(t, e.m, vals)
				return e.allocPerRequest(t, id, []http.Handler{rt.handler(e.m)}, 10, 100)
			}
			one, _ := perRequest(map[string]any{"n": 1})
			big, payload := perRequest(map[string]any{"n": 1, "blob": strings.Repeat("x", 16<<10)})
			t.Logf("%.0f bytes a request on a session of %d bytes, %.0f on one of 1 key", big, payload, one)
			// A collection empties the pool, and the next requests allocate
			// their buffers again: two of the payload's size each time.
			if extra, limit := big-one, float64(payload/8); extra > limit {
				t.Fatalf("a request on a session of %d bytes allocates %.0f bytes more than one on a session of 1 key, over %.0f", payload, extra, limit)
			}
		})
	}
}
