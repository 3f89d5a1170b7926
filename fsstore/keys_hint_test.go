package fsstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/shellquote"
)

// TestKeysFileOpenErrorsSayWhatToDo: a keys file that is missing or that
// this user may not read fails with the system's error, still matched by
// errors.Is, and says what to do: operators met a bare "no such file or
// directory" or "permission denied", and made a key on each host (a
// different key on each) or left the file root's. The permission case is
// worded from a made-up error, since root, which the tests may run as,
// reads any file. The paths are looked for quoted, as the commands give
// them: a temporary directory's path on Windows holds backslashes.
func TestKeysFileOpenErrorsSayWhatToDo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	_, _, readErr := readKeysFile(path, false, false)
	if !errors.Is(readErr, fs.ErrNotExist) {
		t.Fatalf("missing keys file: %v, want an error matching fs.ErrNotExist", readErr)
	}
	tests := []struct {
		name string
		msg  string
		want []string
	}{
		{"missing", readErr.Error(), []string{"sessgc keygen --id 1 > " + shellquote.Quote(path+".new"), "copy that same file to every host"}},
		{"not this user's", keysOpenHint(path, fmt.Errorf("open %s: %w", path, fs.ErrPermission), false), []string{"may not read it", "chown USER " + shellquote.Quote(path), "chmod 600 " + shellquote.Quote(path)}},
		{"another error: no hint", keysOpenHint(path, errors.New("input/output error"), false), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil && tt.msg != "" {
				t.Errorf("got a hint: %q", tt.msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(tt.msg, w) {
					t.Errorf("%q does not say %q", tt.msg, w)
				}
			}
		})
	}
}

// TestWrongKeySaysCopyTheKeysFile: a host whose key 1 is not the one the
// store was written with, most often because the first key was made on
// each host instead of made once and copied, is told to copy the other
// hosts' keys file, not only "wrong key".
func TestWrongKeySaysCopyTheKeysFile(t *testing.T) {
	dir := t.TempDir()
	first := Key{ID: 1, Secret: bytes.Repeat([]byte{1}, 32)}
	other := Key{ID: 1, Secret: bytes.Repeat([]byte{2}, 32)}
	st, err := Open(dir, WithKeys(first))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = Open(dir, WithKeys(other))
	if err == nil {
		t.Fatal("Open with another secret under key 1 succeeded")
	}
	for _, w := range []string{"wrong key", "copy the keys file the other hosts have"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not say %q", err, w)
		}
	}
}
