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
