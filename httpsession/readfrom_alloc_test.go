package httpsession_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// eofReader is a source with nothing in it, as an empty file is.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// TestReadFromBeforeStartAllocatesNothing: before the response starts,
// the middleware's ReadFrom reads the source's first bytes itself (it
// commits only once there is one, see responseWriter.ReadFrom). It made a
// 512-byte buffer for that on every call: every file served through
// io.Copy or http.ServeContent paid for one, and a handler copying empty
// sources paid for one each time. The buffer is the Manager's, reused.
func TestReadFromBeforeStartAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	e := newEnv(t, nil)
	var allocs float64
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rf, ok := w.(io.ReaderFrom)
		if !ok {
			t.Fatal("the middleware's writer has no ReadFrom")
		}
		allocs = testing.AllocsPerRun(100, func() {
			if n, err := rf.ReadFrom(eofReader{}); n != 0 || err != nil {
				t.Fatalf("ReadFrom of an empty source: %d, %v", n, err)
			}
		})
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if allocs != 0 {
		t.Errorf("ReadFrom of an empty source before the response started: %v allocations a call, want 0", allocs)
	}
}

// discardWriter is a ResponseWriter that keeps nothing, with a ReadFrom of
// its own as net/http's has: what a benchmark through it allocates is the
// middleware's.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header                 { return w.h }
func (w *discardWriter) WriteHeader(int)                     {}
func (w *discardWriter) Write(b []byte) (int, error)         { return len(b), nil }
func (w *discardWriter) ReadFrom(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }

// BenchmarkServeFile is a request that copies a 4 KiB file into the
// response as http.ServeContent does (io.CopyN, which reaches the
// middleware's ReadFrom), on a session it does not use: what it allocates
// is the middleware's own, ReadFrom's first read among it.
func BenchmarkServeFile(b *testing.B) {
	st, err := fsstore.Open(b.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	m := httpsession.New(st)
	file := strings.Repeat("x", 4096)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.CopyN(w, strings.NewReader(file), int64(len(file))); err != nil {
			b.Error(err)
		}
	}))
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}
