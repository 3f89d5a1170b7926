package httpsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// benchShapes are the sessions the benchmarks run on, by what grows with
// their size: one string (a cached blob of HTML, a serialized cart), or the
// number of keys, each a small record (an ID, a name, a list).
var benchShapes = []struct {
	name   string
	values func(size int) map[string]any
}{
	{"blob", blobValues},
	{"keys", keyValues},
}

// blobValues returns a counter and one string, about size bytes encoded.
func blobValues(size int) map[string]any {
	return map[string]any{"n": 0, "blob": strings.Repeat("x", size-20)}
}

// keyValues returns a counter and as many small records as make about
// size bytes encoded.
func keyValues(size int) map[string]any {
	v := map[string]any{"n": 0}
	for i := 0; ; i++ {
		// Each item encodes to about 100 bytes with its key.
		if i*100 >= size-40 {
			break
		}
		v[fmt.Sprintf("item%04d", i)] = map[string]any{
			"id":   i,
			"name": strings.Repeat("x", 40),
			"tags": []string{"alpha", "beta <&>"},
		}
	}
	return v
}

// BenchmarkRequest is the request users compare against other session
// stores: read a counter, increment it, write the session, through the
// middleware in Exclusive mode, for a 1 KiB and a 16 KiB session. The store
// runs with DurabilityNone so that the disk does not hide the codec: the
// 16K/1K ratio is what the codec's cost per unchanged byte adds. The
// shapes named "-reuse" run the Manager WithBufferReuse: the session's
// own buffer goes back to the pool too, where by default it stays with the
// session, and so is allocated anew by each request.
func BenchmarkRequest(b *testing.B) {
	for _, reuse := range []bool{false, true} {
		for _, shape := range benchShapes {
			for _, size := range []int{1 << 10, 16 << 10} {
				name := fmt.Sprintf("%s/%dK", shape.name, size>>10)
				var opts []httpsession.Option
				if reuse {
					name = fmt.Sprintf("%s-reuse/%dK", shape.name, size>>10)
					opts = append(opts, httpsession.WithBufferReuse())
				}
				b.Run(name, func(b *testing.B) { benchRequest(b, shape.values(size), opts) })
			}
		}
	}
}

// benchRequest runs BenchmarkRequest on a session of vals, through a
// Manager of opts.
func benchRequest(b *testing.B, vals map[string]any, opts []httpsession.Option) {
	st, err := fsstore.Open(b.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	m := httpsession.New(st, opts...)
	seed := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		for k, v := range vals {
			if err := s.Put(k, v); err != nil {
				b.Error(err)
			}
		}
	}))
	rec := httptest.NewRecorder()
	seed.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	var id string
	for _, c := range rec.Result().Cookies() {
		id = c.Value
	}
	if id == "" {
		b.Fatal("no session cookie")
	}
	h := m.Handler(counter())
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: id})
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := cpuTime()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	if cpu1, ok := cpuTime(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
	rec = httptest.NewRecorder()
	m.Middleware(httpsession.ReadOnly)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
	})).ServeHTTP(rec, req)
	if got, want := rec.Body.String(), strconv.Itoa(b.N); got != want {
		b.Fatalf("counter %s after %d requests, want %s", got, b.N, want)
	}
}
