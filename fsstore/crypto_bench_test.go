package fsstore_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// BenchmarkEncryptionOverhead measures Load and Save with and without
// encryption at rest (the target: encryption adds at most 15%). Each iteration
// runs the operation once on a plaintext store and once on an encrypted one,
// alternating which goes first, so drift on a busy machine hits both alike;
// it reports each side's p50 and their ratio (ratio-p50 = encrypted /
// plaintext). SESSFS_BENCH_DIR selects the filesystem.
func BenchmarkEncryptionOverhead(b *testing.B) {
	ctx := context.Background()
	key, err := fsstore.NewKey(1)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1 << 10, 16 << 10} {
		for _, op := range []string{"load", "save"} {
			b.Run(fmt.Sprintf("op=%s/size=%dKiB", op, size>>10), func(b *testing.B) {
				var stores [2]*fsstore.Store
				var sess [2]*fsstore.Session
				for i := range stores {
					dir := encBenchDir(b)
					opts := []fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone)}
					if i == 1 {
						opts = append(opts, fsstore.WithKeys(key))
					}
					st, err := fsstore.Open(dir, opts...)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { st.Close() })
					id, _ := fsstore.NewID()
					sess[i] = &fsstore.Session{ID: id, Data: make([]byte, size)}
					if err := st.Save(ctx, sess[i]); err != nil {
						b.Fatal(err)
					}
					stores[i] = st
				}
				var times [2][]time.Duration
				times[0] = make([]time.Duration, 0, b.N)
				times[1] = make([]time.Duration, 0, b.N)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for n := 0; n < b.N; n++ {
					for j := 0; j < 2; j++ {
						i := (n + j) % 2
						t0 := time.Now()
						var err error
						if op == "load" {
							_, err = stores[i].Load(ctx, sess[i].ID)
						} else {
							err = stores[i].Save(ctx, sess[i])
						}
						times[i] = append(times[i], time.Since(t0))
						if err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				p := func(d []time.Duration) float64 {
					slices.Sort(d)
					return float64(d[len(d)/2].Nanoseconds())
				}
				off, on := p(times[0]), p(times[1])
				b.ReportMetric(off, "p50-plain-ns")
				b.ReportMetric(on, "p50-enc-ns")
				b.ReportMetric(on/off, "ratio-p50")
			})
		}
	}
}

func encBenchDir(b *testing.B) string {
	b.Helper()
	base := os.Getenv("SESSFS_BENCH_DIR")
	if base == "" {
		return b.TempDir()
	}
	d, err := os.MkdirTemp(base, "sessfs-enc-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// BenchmarkAESGCMFloor is the floor under BenchmarkEncryptionOverhead: the
// bare AES-256-GCM open (decrypt and authenticate, in place) of a payload,
// with no store around it. Its time divided by a plaintext Load's p50 is the
// smallest overhead any encrypting store can have on this machine.
func BenchmarkAESGCMFloor(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			block, err := aes.NewCipher(make([]byte, 32))
			if err != nil {
				b.Fatal(err)
			}
			aead, err := cipher.NewGCM(block)
			if err != nil {
				b.Fatal(err)
			}
			nonce := make([]byte, aead.NonceSize())
			sealed := aead.Seal(nil, nonce, make([]byte, size), nil)
			buf := make([]byte, len(sealed))
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				copy(buf, sealed)
				if _, err := aead.Open(buf[:0], nonce, buf, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
