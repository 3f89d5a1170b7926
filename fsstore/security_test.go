package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// listTree lists every path under root with its type and size, to detect
// any file an operation created, removed or changed.
func listTree(t *testing.T, root string) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size := info.Size()
		if d.IsDir() {
			size = 0 // directory sizes change with unrelated churn
		}
		out = append(out, fmt.Sprintf("%s %v %d", p, info.Mode(), size))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// IDs that are not [A-Za-z0-9_-]{16,128} are refused with ErrInvalidID by
// every operation before anything touches the filesystem, inside the store
// or outside it, and the error does not quote the ID.
func TestInvalidIDs(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := openDir(t, dir)
	ids := []string{
		"",
		"../x",
		"/etc/passwd",
		"a/../../b",
		"../../../../../../../../etc/passwd",
		"aaaaaaaaaaaaaaaa/../../../x",
		"aaaaaaaaaaaaaaaa\x00",
		"aaaaaaaa\x00aaaaaaaaaa",
		strings.Repeat("a", 129),
		strings.Repeat("a", 15),
		"sessión-aaaaaaaaaaaaaaaa",
		"aaaaaaaa aaaaaaaaaaaa",
		"aaaaaaaa%2e%2e%2faaaaaaaa",
		"aaaaaaaaaaaaaaaa.",
		"................",
		"aaaaaaaaaaaaaaa\n",
		"aaaaaaaaaaaaaaaa+/==",
		"aaaaaaaaaaaaaaaa\\..\\x",
	}
	before := listTree(t, parent)
	type op struct {
		name string
		fn   func(id string) error
	}
	ops := []op{
		{"Load", func(id string) error { _, err := s.Load(ctx, id); return err }},
		{"LoadInto", func(id string) error { _, err := s.LoadInto(ctx, id, make([]byte, 0, 64)); return err }},
		{"Save", func(id string) error { return s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}) }},
		{"CompareAndSwap", func(id string) error { return s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("x")}) }},
		{"Delete", func(id string) error { return s.Delete(ctx, id) }},
		{"Touch", func(id string) error { return s.Touch(ctx, id) }},
		{"Lock", func(id string) error {
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err == nil {
				l.Unlock()
			}
			return err
		}},
		{"TryLock", func(id string) error {
			l, err := s.TryLock(id, fsstore.Shared)
			if err == nil {
				l.Unlock()
			}
			return err
		}},
		{"ValidID", fsstore.ValidID},
	}
	for _, id := range ids {
		for _, o := range ops {
			err := o.fn(id)
			if !errors.Is(err, fsstore.ErrInvalidID) {
				t.Errorf("%s(%q): %v, want ErrInvalidID", o.name, id, err)
				continue
			}
			if len(id) >= 4 && strings.Contains(err.Error(), id) {
				t.Errorf("%s(%q): error %q quotes the ID", o.name, id, err)
			}
		}
	}
	if after := listTree(t, parent); after != before {
		t.Fatalf("invalid IDs changed the filesystem:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	for _, id := range []string{strings.Repeat("a", 16), strings.Repeat("Z", 128), "abc_DEF-0123456789"} {
		if err := fsstore.ValidID(id); err != nil {
			t.Errorf("ValidID(%q): %v, want nil", id, err)
		}
	}
}

// A symlink planted at a record path, pointing at a file outside the store
// that holds a valid record of the same session, is never followed: Load
// fails instead of returning the outside data, Touch does not change the
// target, Save replaces the link and leaves the target alone, Delete
// removes the link only.
func TestSymlinkAtRecordPath(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("outside data")}); err != nil {
		t.Fatal(err)
	}
	p := s.RecordPathForTest(id)
	target := filepath.Join(t.TempDir(), "target")
	if err := os.Rename(p, target); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(target, old, old); err != nil {
		t.Fatal(err)
	}
	targetBytes, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	if sess, err := s.Load(ctx, id); err == nil {
		t.Fatalf("Load followed a symlink out of the store and returned %q", sess.Data)
	} else if !errors.Is(err, fsstore.ErrRefused) {
		t.Errorf("Load of a symlinked record: %v, want ErrRefused", err)
	}
	if err := s.Touch(ctx, id); err == nil {
		t.Fatal("Touch of a symlinked record succeeded")
	} else if !errors.Is(err, fsstore.ErrRefused) {
		t.Errorf("Touch of a symlinked record: %v, want ErrRefused", err)
	}
	if !mtime(t, target).Equal(old) {
		t.Fatal("Touch changed the symlink target's mtime")
	}
	// Sweep never follows it either (not a regular file: foreign).
	if _, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond, TempAge: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Delete left the symlink: %v", err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("inside")}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("after Save the record path is %v (%v), want a regular file", fi.Mode(), err)
	}
	mustLoad(t, s, id, "inside")
	got, err := os.ReadFile(target)
	if err != nil || string(got) != string(targetBytes) {
		t.Fatalf("the symlink target changed (%v)", err)
	}
}
