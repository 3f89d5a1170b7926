package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestSweepStopsAtFailingIO: a sweep whose every stat fails with an I/O
// error (a dying disk: EIO; an NFS server replaced under the mount:
// ESTALE) went on through every file left, one error each. It now stops
// once two shard directories are failing (run stats in a row fail in
// each), with one error matching ErrFailingIO and the errno, having
// counted what it met until then and no more, at any concurrency;
// failures with files examined between them in the same directory (a
// few bad sectors) stay errors of a sweep that goes on.
func TestSweepStopsAtFailingIO(t *testing.T) {
	const shards, perShard, run = 2, 60, 10
	for _, tc := range []struct {
		name        string
		errno       syscall.Errno
		every       int64 // the stat of every every-th file fails
		concurrency int
		stop        bool
	}{
		{"every file EIO", syscall.EIO, 1, 1, true},
		{"every file EIO, concurrency 8", syscall.EIO, 1, 8, true},
		{"every file ESTALE", syscall.ESTALE, 1, 1, true},
		{"every file ESTALE, concurrency 8", syscall.ESTALE, 1, 8, true},
		// One worker: each shard's stats alternate. (Two workers may
		// take turns so that one shard's every stat fails.)
		{"every other file EIO", syscall.EIO, 2, 1, false},
		{"every file EACCES", syscall.EACCES, 1, 1, false}, // a file's own, not the storage's
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			ctx := context.Background()
			old := time.Now().Add(-48 * time.Hour)
			// Dense shards, as a store in use has: in sparse ones a
			// file failing alone fails its whole shard.
			perDir := map[string]int{}
			for saved := 0; saved < shards*perShard; {
				id, err := fsstore.NewID()
				if err != nil {
					t.Fatal(err)
				}
				p := s.RecordPathForTest(id)
				shard := filepath.Dir(p)
				if _, ok := perDir[shard]; !ok && len(perDir) == shards || perDir[shard] == perShard {
					continue
				}
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
				if saved%2 == 0 {
					if err := os.Chtimes(p, old, old); err != nil {
						t.Fatal(err)
					}
				}
				perDir[shard]++
				saved++
			}
			var n atomic.Int64
			s.SetSweepStatFaultForTest(func(string) error {
				if n.Add(1)%tc.every == 0 {
					return tc.errno
				}
				return nil
			}, run)
			var reported atomic.Int64
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: tc.concurrency, OnError: func(error) { reported.Add(1) }})
			t.Logf("errors %d, scanned %d, err %v", st.Errors, st.Scanned, err)
			if !tc.stop {
				if err != nil {
					t.Fatalf("err %v; want the sweep to go on to its end", err)
				}
				if want := int64(shards*perShard) / tc.every; st.Errors != want {
					t.Errorf("%d errors, want %d", st.Errors, want)
				}
				return
			}
			if !errors.Is(err, fsstore.ErrFailingIO) || !errors.Is(err, tc.errno) {
				t.Fatalf("err %v; want one matching ErrFailingIO and %v", err, tc.errno)
			}
			if strings.Count(err.Error(), "fsstore: sweep:") != 1 {
				t.Errorf("err %q", err)
			}
			// The first shard to fail may go on to its end; the sweep
			// stops at the second's run.
			if st.Errors < shards*run || st.Errors > perShard+run || reported.Load() != st.Errors {
				t.Errorf("%d errors, %d reported; want as many, from %d (a run in each shard) to %d (one shard and a run)",
					st.Errors, reported.Load(), shards*run, perShard+run)
			}
		})
	}
}
