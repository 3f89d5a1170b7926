package fsstore_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// FuzzKeyFiles writes any content into the files an encrypted store keeps
// beside its keys, as anyone who can write the directory may, and opens
// the store with the key: a key check file (.keycheck-ID) that is not the
// one written with the key fails Open with an error naming the check, and
// no other content is taken for the key's; a record of when the key became
// newest (.keynewest-ID) is advisory, so Open goes on whatever it holds,
// and leaves it as it found it (a damaged or planted record is not
// replaced).
func FuzzKeyFiles(f *testing.F) {
	dir := f.TempDir()
	key := fsstore.Key{ID: 1, Secret: bytes.Repeat([]byte{7}, 32)}
	discard := fsstore.WithLogger(slog.New(slog.DiscardHandler))
	s, err := fsstore.Open(dir, fsstore.WithKeys(key), discard)
	if err != nil {
		f.Fatal(err)
	}
	s.Close()
	names := []string{".keycheck-1", ".keynewest-1"}
	genuine := make([][]byte, len(names))
	for i, name := range names {
		if genuine[i], err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			f.Fatal(err)
		}
	}
	for i := range names {
		g := genuine[i]
		f.Add(i == 1, g)
		f.Add(i == 1, g[:len(g)-1])
		f.Add(i == 1, append(bytes.Clone(g), 0))
		f.Add(i == 1, []byte{})
		f.Add(i == 1, bytes.Repeat([]byte{0}, len(g)))
		flipped := bytes.Clone(g)
		flipped[len(g)/2] ^= 1
		f.Add(i == 1, flipped)
	}
	f.Fuzz(func(t *testing.T, newest bool, content []byte) {
		i := 0
		if newest {
			i = 1
		}
		p := filepath.Join(dir, names[i])
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := os.WriteFile(p, genuine[i], 0o600); err != nil {
				t.Fatal(err)
			}
		}()
		s, err := fsstore.Open(dir, fsstore.WithKeys(key), discard)
		if err == nil {
			s.Close()
		}
		if newest {
			if err != nil {
				t.Fatalf("Open with %s holding %q: %v, want the store (the record is advisory)", names[i], content, err)
			}
			if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, content) {
				t.Fatalf("Open changed %s from %q to %q (%v)", names[i], content, got, err)
			}
			return
		}
		switch {
		case bytes.Equal(content, genuine[i]):
			if err != nil {
				t.Fatalf("Open with the genuine key check: %v", err)
			}
		case err == nil:
			t.Fatalf("Open with %s holding %q succeeded: only the genuine check passes", names[i], content)
		case errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "key check") && !strings.Contains(err.Error(), names[i]):
			t.Fatalf("Open with %s holding %q: %v, which does not name the check", names[i], content, err)
		}
	})
}
