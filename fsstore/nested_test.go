package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestOpenInsideStore: Open refuses a directory that is part of another
// store (its data or lock directory, a shard directory, a directory of
// one's own put in either), with or without WithCreate, whether or not a
// store was already created there, and through a symbolic link too; and it
// changes nothing in the outer store. A store there would split the
// sessions between two stores, and the inner store's sweep removed the
// outer one's records left aside by an interrupted sweep.
func TestOpenInsideStore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		depth int
		// at returns the directory to open, given the outer store's
		// directory and the directory of one of its records.
		at   func(t *testing.T, outer, shard string) string
		opts []fsstore.Option
	}{
		{name: "data", depth: 1, at: below("data")},
		{name: "locks", depth: 1, at: below("locks")},
		{name: "data, WithCreate(false)", depth: 1, at: below("data"), opts: []fsstore.Option{fsstore.WithCreate(false)}},
		{name: "data, depth 0", depth: 0, at: below("data")},
		{name: "leaf shard, depth 1", depth: 1, at: leafShard},
		{name: "upper shard, depth 2", depth: 2, at: func(t *testing.T, outer, shard string) string { return filepath.Dir(shard) }},
		{name: "leaf shard, depth 3", depth: 3, at: leafShard},
		{name: "own directory in data", depth: 1, at: mkdirBelow("data", "mine")},
		{name: "own directory in locks", depth: 1, at: mkdirBelow("locks", "mine")},
		{
			name: "symbolic link to data", depth: 1,
			at: func(t *testing.T, outer, shard string) string {
				link := filepath.Join(t.TempDir(), "sessions")
				must(t, os.Symlink(filepath.Join(outer, fsstore.DataDir), link))
				return link
			},
		},
		{
			// Created before Open refused it: its hosts should stop.
			name: "existing store in data", depth: 1, opts: []fsstore.Option{fsstore.WithCreate(false)},
			at: func(t *testing.T, outer, shard string) string {
				inner := filepath.Join(outer, fsstore.DataDir)
				b, err := os.ReadFile(filepath.Join(outer, fsstore.MarkerFile))
				must(t, err)
				must(t, os.WriteFile(filepath.Join(inner, fsstore.MarkerFile), b, 0o600))
				for _, d := range []string{fsstore.DataDir, fsstore.LockDir} {
					must(t, os.Mkdir(filepath.Join(inner, d), 0o700))
				}
				return inner
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer := t.TempDir()
			s, err := fsstore.Open(outer, fsstore.WithShardDepth(tc.depth))
			must(t, err)
			id, err := fsstore.NewID()
			must(t, err)
			must(t, s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("outer")}))
			shard := filepath.Dir(s.RecordPathForTest(id))
			must(t, s.Close())
			dir := tc.at(t, outer, shard)
			before := snapshot(t, outer)

			inner, err := fsstore.Open(dir, tc.opts...)
			if inner != nil {
				inner.Close()
			}
			if !errors.Is(err, fsstore.ErrInsideStore) || !strings.Contains(err.Error(), outer) {
				t.Errorf("Open(%s) = %v, want ErrInsideStore naming %s", dir, err, outer)
			}
			if after := snapshot(t, outer); after != before {
				t.Errorf("refused Open changed the outer store:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func below(name string) func(t *testing.T, outer, shard string) string {
	return func(t *testing.T, outer, shard string) string { return filepath.Join(outer, name) }
}

func mkdirBelow(parent, name string) func(t *testing.T, outer, shard string) string {
	return func(t *testing.T, outer, shard string) string {
		d := filepath.Join(outer, parent, name)
		must(t, os.Mkdir(d, 0o700))
		return d
	}
}

func leafShard(t *testing.T, outer, shard string) string { return shard }

// TestOpenNearStore: what only looks like the inside of a store, or sits
// beside one, still opens: a store in a directory named data or locks that
// no store holds, in one named DATA or Locks beside a store's own where
// the file system tells case apart, and a store reopened, at every shard
// depth.
func TestOpenNearStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{name: "directory named data", dir: func(t *testing.T) string { return mkdir(t, t.TempDir(), "data") }},
		{name: "directory named locks", dir: func(t *testing.T) string { return mkdir(t, t.TempDir(), "locks") }},
		{name: "named like a shard below one named data", dir: func(t *testing.T) string { return mkdir(t, t.TempDir(), "data", "ab", "cd") }},
		{
			// A stray file of the marker's name is no store's marker.
			name: "below data beside a .sessfs that is not a marker",
			dir: func(t *testing.T) string {
				home := t.TempDir()
				must(t, os.WriteFile(filepath.Join(home, fsstore.MarkerFile), []byte("notes\n"), 0o600))
				return mkdir(t, home, "data", "sessions")
			},
		},
		// Beside a store, on a file system that tells case apart, DATA
		// is a directory of its own, not the store's data.
		{name: "directory named DATA beside a store's data", dir: func(t *testing.T) string { return besideStore(t, "DATA") }},
		{name: "below a directory named Locks beside a store's locks", dir: func(t *testing.T) string { return besideStore(t, "Locks", "mine") }},
		{name: "named like a shard below a directory named Data beside a store's data", dir: func(t *testing.T) string { return besideStore(t, "Data", "ab") }},
		{
			name: "existing store at depth 3",
			dir: func(t *testing.T) string {
				d := t.TempDir()
				s, err := fsstore.Open(d, fsstore.WithShardDepth(3))
				must(t, err)
				must(t, s.Close())
				return d
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fsstore.Open(tc.dir(t))
			if err != nil {
				t.Fatalf("Open = %v, want a store", err)
			}
			s.Close()
		})
	}
}

// besideStore creates a store and returns the directory below it named by
// parts, whose first is data or locks in another case, created. It skips t
// where the file system ignores case: there that name is the store's own.
func besideStore(t *testing.T, parts ...string) string {
	t.Helper()
	d := t.TempDir()
	s, err := fsstore.Open(d)
	must(t, err)
	must(t, s.Close())
	if _, err := os.Lstat(filepath.Join(d, parts[0])); err == nil {
		t.Skipf("the file system of %s ignores case: %s is the store's own", d, parts[0])
	}
	return mkdir(t, append([]string{d}, parts...)...)
}

func mkdir(t *testing.T, parts ...string) string {
	d := filepath.Join(parts...)
	must(t, os.MkdirAll(d, 0o700))
	return d
}

// TestOpenCreatesOnlyInEmptyDir: Open creates a store only in a directory
// that holds nothing but what a store keeps at its top (a half-created
// store's directories and temp files, or a store whose marker was
// removed). Anything else, as in a home directory or the mount above a
// store, is ErrNotStore, as sessgc refuses it, and nothing is created;
// the error names what is there, and a store below, if one of those is.
func TestOpenCreatesOnlyInEmptyDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []string // files, or directories when ending in "/"
		store   string   // a subdirectory to create a store in first
		want    error
		msg     []string // in the error
		notMsg  string   // not in the error
	}{
		{name: "empty"},
		{name: "half-created store", entries: []string{"data/", "locks/", ".tmp-marker-0123456789abcdef"}},
		{name: "half-created, an NFS client's file removed while open", entries: []string{"data/", "locks/", ".nfs000000000000abcd00000001"}},
		{name: "store without its marker", entries: []string{"data/ab/", "data/ab/ab000000000000000000000000000000", "locks/", "locks/0000"}},
		// Its key files say it was encrypted: not made again without keys
		// as a plaintext store (TestKeylessOpenRefusesKeyFiles).
		{name: "encrypted store without its marker", entries: []string{"data/ab/", "data/ab/ab000000000000000000000000000000", "locks/", "locks/0000", ".keycheck-1"}, want: fsstore.ErrKeysRequired, msg: []string{".keycheck-1"}},
		{name: "a file", entries: []string{"notes.txt"}, want: fsstore.ErrNotStore, msg: []string{"notes.txt"}},
		{name: "a dot file", entries: []string{".bashrc"}, want: fsstore.ErrNotStore, msg: []string{".bashrc"}},
		{name: "lost+found", entries: []string{"lost+found/"}, want: fsstore.ErrNotStore, msg: []string{"lost+found", "root of a file system"}},
		{name: "beside a store's own names", entries: []string{"data/", "README"}, want: fsstore.ErrNotStore, msg: []string{"README"}},
		{name: "many", entries: []string{"a", "b", "c", "d", "e"}, want: fsstore.ErrNotStore, msg: []string{", ..."}},
		// Another session store's files are named after live session IDs,
		// which an error logged by every app host must not spread: the
		// refusal says whose files they are and leaves the IDs out.
		{name: "PHP's session files", entries: []string{"sess_k7d3q9vbn1o8m2c4r6t0e5u1a"}, want: fsstore.ErrNotStore, msg: []string{"sess_…", "PHP's files handler"}, notMsg: "k7d3q9vbn1o8m2c4r6t0e5u1a"},
		{name: "FilesystemStore's session files", entries: []string{"session_525QK4PVADZ7DXOTUVWHTP26XPKFTO42MYEPVRCFZOI73AK7TUAA"}, want: fsstore.ErrNotStore, msg: []string{"session_…", "gorilla/sessions' FilesystemStore"}, notMsg: "525QK4PVADZ7DXOTUVWHTP26XPKFTO42MYEPVRCFZOI73AK7TUAA"},
		// Other stores name their files after the ID too, with no
		// prefix of their own to recognise (Django's file backend puts
		// the cookie's name before it, express's session-file-store a
		// .json after it): a run of token characters long enough to be
		// an ID is left out whatever the store.
		{name: "Django's session files", entries: []string{"sessionidq8w1e9r3t7y2u6i0o4p5a1s8d3f7g"}, want: fsstore.ErrNotStore, msg: []string{"…"}, notMsg: "q8w1e9r3t7y2u6i0o4p5a1s8d3f7g"},
		{name: "session-file-store's files", entries: []string{"Xk3pQ9vR2mT7wY4zB8nC1dF6.json"}, want: fsstore.ErrNotStore, msg: []string{"….json"}, notMsg: "Xk3pQ9vR2mT7wY4zB8nC1dF6"},
		{name: "a store below", store: "sessions", want: fsstore.ErrNotStore, msg: []string{"sessions is a store"}},
		// An empty marker is no store's: the refusal must not send the
		// user to open it.
		{name: "a stray marker below", entries: []string{"sessions/", "sessions/.sessfs"}, want: fsstore.ErrNotStore, msg: []string{"sessions"}, notMsg: "is a store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, e := range tc.entries {
				p := filepath.Join(dir, filepath.FromSlash(e))
				if strings.HasSuffix(e, "/") {
					must(t, os.MkdirAll(p, 0o700))
				} else {
					must(t, os.WriteFile(p, nil, 0o600))
				}
			}
			if tc.store != "" {
				s, err := fsstore.Open(mkdir(t, dir, tc.store))
				must(t, err)
				must(t, s.Close())
			}
			before := snapshot(t, dir)
			s, err := fsstore.Open(dir)
			if s != nil {
				s.Close()
			}
			if !errors.Is(err, tc.want) || tc.want == nil && err != nil {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				return
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Open = %v, want it to say %q", err, m)
				}
			}
			if tc.notMsg != "" && strings.Contains(err.Error(), tc.notMsg) {
				t.Errorf("Open = %v, want it not to say %q", err, tc.notMsg)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("refused Open changed the directory:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			// As before, WithCreate(false) refuses it the same way.
			if _, err := fsstore.Open(dir, fsstore.WithCreate(false)); !errors.Is(err, fsstore.ErrNotStore) {
				t.Errorf("Open(WithCreate(false)) = %v, want ErrNotStore", err)
			}
		})
	}
}
