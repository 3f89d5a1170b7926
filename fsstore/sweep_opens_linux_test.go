package fsstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// The sweep opened each shard directory twice, once to resolve names in
// it (O_PATH) and once to list it, and on NFS once more per batch of
// removals, to list it again after the moves aside (checkAside): each open
// an openat2, or an openat walk where openat2 is refused, and on NFS a
// GETATTR by close-to-open for a readable one. The scan now lists the
// descriptor it resolves names in. The listing after the moves still
// opens the directory afresh: it runs while the scan's listing is under
// way on the shard's descriptor, and its open is what makes the NFS client
// ask the server (close-to-open) whatever this kernel does with a
// directory listed again from the start of a descriptor.
func TestSweepOpensEachShardOnce(t *testing.T) {
	for _, nfs := range []bool{false, true} {
		name := "local"
		if nfs {
			name = "nfs listing again"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithIdleTimeout(10*time.Minute))
			if nfs {
				s.SetNFSForTest()
			}
			expiredIn := map[string]bool{} // shard directory: holds an expired record
			for i := range 40 {
				id := newID(t)
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
				p := s.RecordPathForTest(id)
				shard := filepath.Dir(p)
				if i%2 == 0 {
					age(t, p)
					expiredIn[shard] = true
				} else if !expiredIn[shard] {
					expiredIn[shard] = false
				}
			}
			var mu sync.Mutex
			opens := map[string]int{}
			s.SetOpenHookForTest(func(p string) {
				if _, ok := expiredIn[p]; ok {
					mu.Lock()
					opens[p]++
					mu.Unlock()
				}
			})
			st, err := s.Sweep(ctx, sweepOpts)
			s.SetOpenHookForTest(nil)
			if err != nil || st.Sessions != 20 || st.Live != 20 || st.Errors != 0 {
				t.Fatalf("sweep: %+v, %v; want 20 removed, 20 live", st, err)
			}
			for shard, expired := range expiredIn {
				want := 1
				if nfs && expired {
					want = 2 // one batch of moves, listed again
				}
				if opens[shard] != want {
					t.Errorf("%s (expired records: %v) opened %d times, want %d", filepath.Base(shard), expired, opens[shard], want)
				}
			}
		})
	}
}
