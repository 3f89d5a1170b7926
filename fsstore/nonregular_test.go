//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
)

// A FIFO, a directory or a socket at a record's path is damage, not a
// session: every operation reports ErrCorrupt (or counts it as foreign)
// and returns. A FIFO used to hang Load, CompareAndSwap and locked Loads
// forever in open(2), while they held the session's lock.
func TestNonRegularRecord(t *testing.T) {
	kinds := []struct {
		name string
		make func(p string) error
	}{
		{"fifo", func(p string) error { return unix.Mkfifo(p, 0o600) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"socket", func(p string) error {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.Bind(fd, &unix.SockaddrUnix{Name: p})
		}},
	}
	ops := []struct {
		name string
		do   func(ctx context.Context, s *fsstore.Store, id string) error
	}{
		{"Load", func(ctx context.Context, s *fsstore.Store, id string) error {
			_, err := s.Load(ctx, id)
			return err
		}},
		{"Locked.Load", func(ctx context.Context, s *fsstore.Store, id string) error {
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			_, err = l.Load(ctx)
			return err
		}},
		{"CompareAndSwap", func(ctx context.Context, s *fsstore.Store, id string) error {
			return s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("x"), Version: 3})
		}},
		{"Touch", func(ctx context.Context, s *fsstore.Store, id string) error {
			return s.Touch(ctx, id)
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTemp(t, fsstore.WithShardDepth(1))
			id, _ := fsstore.NewID()
			p := s.RecordPathForTest(id)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := k.make(p); err != nil {
				t.Skipf("cannot make a %s here: %v", k.name, err)
			}
			for _, op := range ops {
				if err := op.do(ctx, s, id); !errors.Is(err, fsstore.ErrCorrupt) {
					t.Errorf("%s on a %s: %v, want ErrCorrupt", op.name, k.name, err)
				}
			}
			st, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil || st.Foreign != 1 || st.Sessions != 0 {
				t.Errorf("Sweep: %+v, %v; want the %s counted as foreign and kept", st, err, k.name)
			}
			stats, err := s.Stats(ctx, fsstore.StatsOptions{})
			if err != nil || stats.Foreign != 1 || stats.Live+stats.Expired != 0 {
				t.Errorf("Stats: %+v, %v; want the %s counted as foreign", stats, err, k.name)
			}
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("the %s was removed: %v", k.name, err)
			}
		})
	}
}
