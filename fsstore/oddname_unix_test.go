//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestOddFileAtShardOrLockName: something other than a directory at a
// shard directory's name (a file, a FIFO, a socket, a symlink), or other
// than a regular file at a lock or lease file's name, fails every session
// whose record or lock belongs there until it is removed, which the store
// never does. Each operation on such a session fails at once with an
// error naming the path and saying to move it out of the store directory
// or remove it (a directory or a file there may hold what someone wants
// kept; a symlinked shard: to remove it) (Load and Touch: ENOTDIR,
// neither ErrNotFound nor ErrRefused, which callers answer with a new
// session, logging the user out for good once the directory is back;
// ErrRefused for a symlinked shard, as ever; a lock: lock.ErrNotLockFile); the
// sweep and Stats count it as an error, not as a foreign file, so that
// sessgc exits non-zero and logs it; it stays; other sessions work.
// Before, the sweep and Stats counted it foreign (sessgc exited 0), a
// Load met a bare "not a directory", a Save "open dir ...: not a
// directory", and a FIFO at a lock file's name was locked (a flock on a
// FIFO is this host's alone, so on NFS two hosts held the session's lock).
func TestOddFileAtShardOrLockName(t *testing.T) {
	kinds := []struct {
		name string
		make func(p, outside string) error
	}{
		{"file", func(p, _ string) error { return os.WriteFile(p, []byte("x"), 0o600) }},
		{"fifo", func(p, _ string) error { return unix.Mkfifo(p, 0o600) }},
		{"socket", func(p, _ string) error {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.Bind(fd, &unix.SockaddrUnix{Name: p})
		}},
		{"directory", func(p, _ string) error { return os.Mkdir(p, 0o700) }},
		{"symlink", func(p, outside string) error { return os.Symlink(outside, p) }},
	}
	for _, where := range []string{"shard", "flock lock file", "lease file"} {
		for _, k := range kinds {
			if where == "shard" && k.name == "directory" || where != "shard" && k.name == "file" {
				continue // what belongs there
			}
			t.Run(where+"/"+k.name, func(t *testing.T) {
				ctx := context.Background()
				dir := t.TempDir()
				outside := t.TempDir()
				strat := lock.Flock
				if where == "lease file" {
					strat = lock.Lease
				}
				s, err := fsstore.Open(dir, fsstore.WithShardDepth(1), fsstore.WithLockStrategy(strat))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				// Two sessions on other shards and stripes than id's.
				id := newID(t)
				var others []string
				for len(others) < 2 {
					o := newID(t)
					if filepath.Dir(s.RecordPathForTest(o)) != filepath.Dir(s.RecordPathForTest(id)) && s.StripeForTest(o) != s.StripeForTest(id) {
						must(t, s.Save(ctx, &fsstore.Session{ID: o, Data: []byte("other")}))
						others = append(others, o)
					}
				}
				var p string
				switch where {
				case "shard":
					p = filepath.Dir(s.RecordPathForTest(id))
				case "flock lock file":
					p = filepath.Join(dir, fsstore.LockDir, s.StripeForTest(id))
				default:
					p = filepath.Join(dir, fsstore.LockDir, s.StripeForTest(id)+".lease")
				}
				if err := k.make(p, outside); err != nil {
					t.Skipf("cannot make a %s here: %v", k.name, err)
				}
				said := func(op string, err error, want error) {
					t.Helper()
					if !errors.Is(err, want) {
						t.Errorf("%s: %v, want %v", op, err, want)
						return
					}
					say := []string{p, "remove it"}
					if !(where == "shard" && k.name == "symlink") {
						// Not only "remove it": a directory or a file
						// there may hold what someone wants kept.
						say = append(say, "move it out of the store directory, or remove it")
					}
					for _, s := range say {
						if !strings.Contains(err.Error(), s) {
							t.Errorf("%s: %q does not say %q", op, err, s)
						}
					}
				}
				if where == "shard" {
					want := error(unix.ENOTDIR)
					if k.name == "symlink" {
						want = fsstore.ErrRefused
					}
					_, err := s.Load(ctx, id)
					said("Load", err, want)
					terr := s.Touch(ctx, id)
					said("Touch", terr, want)
					if k.name != "symlink" {
						for op, err := range map[string]error{"Load": err, "Touch": terr} {
							if errors.Is(err, fsstore.ErrRefused) || errors.Is(err, fsstore.ErrNotFound) {
								t.Errorf("%s: %v; want neither ErrRefused nor ErrNotFound: the record may be intact behind the shard moved away", op, err)
							}
						}
					}
					err = s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")})
					if err == nil || !strings.Contains(err.Error(), "move it out of the store directory, or remove it") || !strings.Contains(err.Error(), p) {
						t.Errorf("Save: %v, want an error naming %s and saying to move it out of the store directory or remove it", err, p)
					}
				} else {
					l, err := s.Lock(ctx, id, fsstore.Exclusive)
					if err == nil {
						l.Unlock()
					}
					said("Lock", err, lock.ErrNotLockFile)
					err = s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("x")})
					said("CompareAndSwap", err, lock.ErrNotLockFile)
				}
				var swErrs []error
				sw, err := s.Sweep(ctx, fsstore.SweepOptions{OnError: func(err error) { swErrs = append(swErrs, err) }})
				if err != nil || sw.Errors != 1 || sw.Live != 2 || sw.Sessions != 0 {
					t.Errorf("Sweep: %+v, %v; want the %s counted as one error, the other sessions live", sw, err, k.name)
				}
				if len(swErrs) == 1 {
					said("the sweep's error", swErrs[0], swErrs[0])
				}
				st, err := s.Stats(ctx, fsstore.StatsOptions{})
				if err != nil || st.Errors != 1 || st.Live != 2 {
					t.Errorf("Stats: %+v, %v; want the %s counted as one error, the other sessions live", st, err, k.name)
				}
				if fi, err := os.Lstat(p); err != nil || fi.Mode().Type() == 0 && k.name != "file" {
					t.Errorf("the %s at %s was removed or replaced: %v", k.name, p, err)
				}
				for _, o := range others {
					l, err := s.Lock(ctx, o, fsstore.Exclusive)
					if err != nil {
						t.Fatalf("another session: %v", err)
					}
					if _, err := l.Load(ctx); err != nil {
						t.Errorf("another session: %v", err)
					}
					must(t, l.Save(ctx, &fsstore.Session{ID: o, Data: []byte("again")}))
					l.Unlock()
				}
			})
		}
	}
}
