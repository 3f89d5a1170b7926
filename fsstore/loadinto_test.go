package fsstore_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestLoadIntoReusedBuffer: LoadInto reads a record into the caller's
// buffer when it fits, and a buffer reused from one session to the next
// (here holding a larger session's bytes) yields exactly each session's
// payload, with or without the cache, encrypted or not, bounded or not,
// locked or not. The cache keeps no part of the caller's buffer: a
// caller scribbling over it after the load does not change what the next
// (cached) load returns.
func TestLoadIntoReusedBuffer(t *testing.T) {
	ctx := context.Background()
	key, err := fsstore.NewKey(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []fsstore.Option
	}{
		{"plain", nil},
		{"cache", []fsstore.Option{fsstore.WithCache(16, 1<<20)}},
		{"encrypted", []fsstore.Option{fsstore.WithKeys(key)}},
		{"encrypted-cache", []fsstore.Option{fsstore.WithKeys(key), fsstore.WithCache(16, 1<<20)}},
		{"bounded", []fsstore.Option{fsstore.WithMaxInFlight(4)}},
	} {
		for _, locked := range []bool{false, true} {
			name := tc.name
			if locked {
				name += "/locked"
			}
			t.Run(name, func(t *testing.T) {
				st, err := fsstore.Open(t.TempDir(), append([]fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone)}, tc.opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				payloads := map[string][]byte{}
				var ids []string
				for _, p := range []string{strings.Repeat("big ", 4<<10), "small", strings.Repeat("mid ", 300)} {
					id, err := fsstore.NewID()
					if err != nil {
						t.Fatal(err)
					}
					if err := st.Save(ctx, &fsstore.Session{ID: id, Data: []byte(p)}); err != nil {
						t.Fatal(err)
					}
					payloads[id] = []byte(p)
					ids = append(ids, id)
				}
				load := func(id string, buf []byte) *fsstore.Session {
					t.Helper()
					var (
						sess *fsstore.Session
						err  error
					)
					if locked {
						lk, lerr := st.Lock(ctx, id, fsstore.Exclusive)
						if lerr != nil {
							t.Fatal(lerr)
						}
						sess, err = lk.LoadInto(ctx, buf)
						if uerr := lk.Unlock(); uerr != nil {
							t.Fatal(uerr)
						}
					} else {
						sess, err = st.LoadInto(ctx, id, buf)
					}
					if err != nil {
						t.Fatal(err)
					}
					return sess
				}
				// Too small a buffer first: the store allocates.
				buf := make([]byte, 0, 16)
				for round := range 3 {
					for _, id := range ids {
						sess := load(id, buf)
						if !bytes.Equal(sess.Data, payloads[id]) {
							t.Fatalf("round %d: loaded %.40q..., want %.40q...", round, sess.Data, payloads[id])
						}
						// The caller reuses its buffer: scribble over it.
						full := buf[:cap(buf)]
						for i := range full {
							full[i] = '#'
						}
						if cap(buf) < 64<<10 {
							buf = make([]byte, 0, 64<<10)
						}
					}
				}
			})
		}
	}
}
