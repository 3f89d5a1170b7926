package fsstore_test

import (
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestNULPathRefused holds that every exported function of fsstore taking
// a path refuses one holding a NUL byte with an error naming the function
// and the byte, where a bare EINVAL printed the path with the NUL unseen.
func TestNULPathRefused(t *testing.T) {
	p := t.TempDir() + "/a\x00b"
	calls := []struct {
		name string
		call func() error
	}{
		{"KeysFromFile", func() error { _, err := fsstore.KeysFromFile(p); return err }},
		{"KeysFromFileTrusted", func() error { _, err := fsstore.KeysFromFileTrusted(p); return err }},
		{"ReadLayout", func() error { _, _, _, err := fsstore.ReadLayout(p); return err }},
		{"open", func() error { _, err := fsstore.Open(p); return err }},
		{"WithKeysFile", func() error { _, err := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(p)); return err }},
		{"WithKeysFile", func() error {
			_, err := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(p), fsstore.WithKeysFileTrusted())
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if err == nil || !strings.Contains(err.Error(), c.name+" ") || !strings.Contains(err.Error(), `a\x00b": the path holds a NUL byte`) {
				t.Fatalf("got %v, want an error naming %s and the NUL byte", err, c.name)
			}
		})
	}
}
