//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// A FIFO or a symlink at the store's marker is not a store's marker: Open,
// a Sweep, Stats and a Save that must raise the marker's max idle fail with
// ErrNotStore and return. A FIFO used to hang each of them forever in
// open(2), and a symlink was followed to whatever marker it pointed at.
func TestNonRegularMarker(t *testing.T) {
	kinds := []struct {
		name string
		make func(t *testing.T, p string) error
	}{
		{"fifo", func(t *testing.T, p string) error { return unix.Mkfifo(p, 0o600) }},
		{"symlink", func(t *testing.T, p string) error {
			// A valid marker outside: following the link would succeed.
			b, err := os.ReadFile(p + ".saved")
			if err != nil {
				return err
			}
			out := filepath.Join(t.TempDir(), fsstore.MarkerFile)
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return err
			}
			return os.Symlink(out, p)
		}},
	}
	ops := []struct {
		name string
		do   func(ctx context.Context, dir string, s *fsstore.Store) error
	}{
		{"Open", func(ctx context.Context, dir string, _ *fsstore.Store) error {
			s, err := fsstore.Open(dir)
			if err == nil {
				s.Close()
			}
			return err
		}},
		{"Sweep", func(ctx context.Context, _ string, s *fsstore.Store) error {
			_, err := s.Sweep(ctx, fsstore.SweepOptions{})
			return err
		}},
		{"Stats", func(ctx context.Context, _ string, s *fsstore.Store) error {
			_, err := s.Stats(ctx, fsstore.StatsOptions{})
			return err
		}},
		{"Save raising the max idle", func(ctx context.Context, _ string, s *fsstore.Store) error {
			id, _ := fsstore.NewID()
			return s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x"), Idle: 100 * time.Hour})
		}},
	}
	for _, k := range kinds {
		for _, op := range ops {
			t.Run(k.name+"/"+op.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				dir := t.TempDir()
				s := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour))
				p := filepath.Join(dir, fsstore.MarkerFile)
				if err := os.Rename(p, p+".saved"); err != nil {
					t.Fatal(err)
				}
				if err := k.make(t, p); err != nil {
					t.Skipf("cannot make a %s here: %v", k.name, err)
				}
				done := make(chan error, 1)
				go func() { done <- op.do(ctx, dir, s) }()
				select {
				case err := <-done:
					if !errors.Is(err, fsstore.ErrNotStore) {
						t.Errorf("%s with a %s marker: %v, want ErrNotStore", op.name, k.name, err)
					}
				case <-ctx.Done():
					// Let the hung open return, so the test binary can go on.
					if fd, err := unix.Open(p, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
						unix.Close(fd)
					}
					t.Fatalf("%s with a %s marker still blocked after the deadline", op.name, k.name)
				}
			})
		}
	}
}

// The open breaker's probe opens the store's marker, to wait out a
// restarted server's grace period: a FIFO planted there, or a symlink to
// one outside the store, is the server's answer (the store works without
// a marker of its own), not a hang. The probe used to open the marker by
// path, following a symlink out of the store and blocking in open(2) on a
// FIFO, which left the breaker open for good.
func TestBreakerProbeNonRegularMarker(t *testing.T) {
	kinds := []struct {
		name string
		make func(t *testing.T, p string) error
	}{
		{"fifo", func(t *testing.T, p string) error { return unix.Mkfifo(p, 0o600) }},
		{"directory", func(t *testing.T, p string) error { return os.Mkdir(p, 0o700) }},
		{"symlink to a FIFO outside", func(t *testing.T, p string) error {
			out := filepath.Join(t.TempDir(), "fifo")
			if err := unix.Mkfifo(out, 0o600); err != nil {
				return err
			}
			return os.Symlink(out, p)
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			p := filepath.Join(dir, fsstore.MarkerFile)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := k.make(t, p); err != nil {
				t.Skipf("cannot make a %s here: %v", k.name, err)
			}
			done := make(chan error, 1)
			go func() { done <- s.ProbeBreakerForTest() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("probe with a %s at the marker: %v, want answered (nil)", k.name, err)
				}
			case <-time.After(10 * time.Second): // a hang check, not a timing threshold
				// Let the hung open return, so the test binary can go on.
				if fd, err := unix.Open(p, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
					unix.Close(fd)
				}
				t.Fatalf("probe with a %s at the marker still blocked after 10 s", k.name)
			}
		})
	}
}
