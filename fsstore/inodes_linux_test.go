package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestInodesExhausted: on a file system whose inodes are used up while it
// has space free, a save (its temp file, a new shard directory) and a
// lock (a new lock file, every lease) fail with ENOSPC, and the error says
// that inodes, not space, ran out: the bare "no space left on device" sent
// operators to df -h, which shows space free. Nothing saved is lost, no
// temp file is left, and once inodes are freed (three sessions deleted) the
// next locked save works.
func TestInodesExhausted(t *testing.T) {
	for _, strat := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strat.String(), func(t *testing.T) {
			// 8 MiB: space for far more than the inodes allow.
			dir := testenv.MountTmpfs(t, "8m,nr_inodes=64")
			s := openDir(t, dir, fsstore.WithLockStrategy(strat), fsstore.WithShardDepth(1))
			ctx := context.Background()
			save := func(id string, data []byte) error {
				l, err := s.Lock(ctx, id, fsstore.Exclusive)
				if err != nil {
					return err
				}
				defer l.Unlock()
				return l.Save(ctx, &fsstore.Session{ID: id, Data: data})
			}
			saved := map[string][]byte{}
			var full error
			for i := 0; i < 64 && full == nil; i++ {
				id, data := newID(t), []byte(fmt.Sprintf("session %d", i))
				if full = save(id, data); full == nil {
					saved[id] = data
				}
			}
			if full == nil {
				t.Fatal("64 inodes never ran out")
			}
			if !errors.Is(full, syscall.ENOSPC) || !strings.Contains(full.Error(), "no free inodes") {
				t.Errorf("a save with the inodes used up: %v, want ENOSPC saying no free inodes are left", full)
			}
			if left := tempFiles(t, dir); len(left) > 0 {
				t.Errorf("failed saves left temp files:\n%s", strings.Join(left, "\n"))
			}
			var ids []string
			for id, data := range saved {
				ids = append(ids, id)
				sess, err := s.Load(ctx, id)
				if err != nil || !bytes.Equal(sess.Data, data) {
					t.Fatalf("a session saved before the inodes ran out: %v", err)
				}
			}
			// A new session takes up to three: its lock file, its shard
			// directory, its record.
			if len(ids) < 3 {
				t.Fatalf("only %d sessions saved", len(ids))
			}
			for _, id := range ids[:3] {
				must(t, s.Delete(ctx, id))
			}
			if err := save(newID(t), []byte("after")); err != nil {
				t.Errorf("a save once inodes were freed: %v", err)
			}
		})
	}
}
