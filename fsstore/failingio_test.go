package fsstore_test

import (
	"context"
	"errors"
	"os"
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
// at the run's limit with one error matching ErrFailingIO and the errno,
// having counted the run and no more; failures with files examined
// between them (a few bad sectors) stay errors of a sweep that goes on.
func TestSweepStopsAtFailingIO(t *testing.T) {
	const files, run = 120, 10
	for _, tc := range []struct {
		name  string
		errno syscall.Errno
		every int64 // the stat of every every-th file fails
		stop  bool
	}{
		{"every file EIO", syscall.EIO, 1, true},
		{"every file ESTALE", syscall.ESTALE, 1, true},
		{"every other file EIO", syscall.EIO, 2, false},
		{"every file EACCES", syscall.EACCES, 1, false}, // a file's own, not the storage's
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			ctx := context.Background()
			old := time.Now().Add(-48 * time.Hour)
			for i := 0; i < files; i++ {
				id, err := fsstore.NewID()
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					if err := os.Chtimes(s.RecordPathForTest(id), old, old); err != nil {
						t.Fatal(err)
					}
				}
			}
			var n atomic.Int64
			s.SetSweepStatFaultForTest(func(string) error {
				if n.Add(1)%tc.every == 0 {
					return tc.errno
				}
				return nil
			}, run)
			var reported atomic.Int64
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: 1, OnError: func(error) { reported.Add(1) }})
			t.Logf("errors %d, scanned %d, err %v", st.Errors, st.Scanned, err)
			if !tc.stop {
				if err != nil {
					t.Fatalf("err %v; want the sweep to go on to its end", err)
				}
				if want := int64(files) / tc.every; st.Errors != want {
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
			if st.Errors != run || reported.Load() != run {
				t.Errorf("%d errors, %d reported; want the run of %d alone", st.Errors, reported.Load(), run)
			}
		})
	}
}
