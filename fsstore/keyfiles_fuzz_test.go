package fsstore_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
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
// the store with the key: a key check file (.keycheck-ID) that the key did
// not write (a nonce and "sessfs" sealed for the key's ID) fails Open with
// an error naming the check, and one it wrote passes; a record of when the key became
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
	// sealsCheck reports whether b is a check the key wrote: a nonce and
	// "sessfs" sealed with it (AES-GCM) for the key's ID, as a process
	// with the key writes it, under a nonce of its own (each fuzzing
	// process makes its store, so a seed holds another one's check).
	block, err := aes.NewCipher(key.Secret)
	if err != nil {
		f.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		f.Fatal(err)
	}
	sealsCheck := func(b []byte) bool {
		if len(b) < 12 {
			return false
		}
		plain, err := aead.Open(nil, b[:12], b[12:], []byte("sessfs-keycheck 1"))
		return err == nil && string(plain) == "sessfs"
	}
	if !sealsCheck(genuine[0]) {
		f.Fatal("the check file is not what sealsCheck takes for one")
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
		case sealsCheck(content):
			if err != nil {
				t.Fatalf("Open with a genuine key check: %v", err)
			}
		case err == nil:
			t.Fatalf("Open with %s holding %q succeeded: only a genuine check passes", names[i], content)
		case errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "key check") && !strings.Contains(err.Error(), names[i]):
			t.Fatalf("Open with %s holding %q: %v, which does not name the check", names[i], content, err)
		}
	})
}
