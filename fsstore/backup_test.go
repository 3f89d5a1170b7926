package fsstore_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestBackupRevealsNoIDOrPayload reads a whole encrypted store as a backup
// or snapshot would (every file name and every byte) and finds neither a
// session ID nor a payload in it: names are one-way hashes and payloads
// are sealed.
func TestBackupRevealsNoIDOrPayload(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var secrets []string
	for i := 0; i < 20; i++ {
		id := newID(t)
		payload := "csrf-token-of-" + id
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, id, payload)
	}
	files := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, sec := range secrets {
			if strings.Contains(d.Name(), sec) {
				t.Errorf("file name %s reveals a secret", p)
			}
		}
		if !d.Type().IsRegular() {
			return nil
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s holds a session ID or payload in clear", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("walked %d files, want at least the 20 records", files)
	}
}

// TestModesKeepOtherUsersOut: with the default permissions no file or
// directory the store creates is readable, writable or listable by group
// or others, so other uids on an app host or the mount (AUTH_SYS) cannot
// read sessions.
func TestModesKeepOtherUsersOut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 5; i++ {
		id := newID(t)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		l, err := s.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		l.Unlock()
	}
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n++
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v: group or others have access", p, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("walked %d entries, want the records, shards, locks and marker", n)
	}
}
