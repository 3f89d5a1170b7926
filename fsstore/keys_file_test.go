package fsstore_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// How editors and shells save a keys file: with a UTF-8 byte-order mark
// (Notepad, PowerShell's Set-Content -Encoding utf8), which is dropped, or
// as UTF-16 (PowerShell 5's redirection), which is refused by name rather
// than as a key ID that is not a number. A key appended with echo >> to a
// file whose last line had no newline, or a comment after a key, is
// refused saying so, not only that the line is not "ID BASE64SECRET". A file far larger than any key
// set (a log, a binary put there by mistake) is refused before it is read.
func TestKeysFileEncodingAndSize(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	text := k2.SecretLine() + "\r\n" + k1.SecretLine() + "\r\n"
	for _, tc := range []struct {
		name    string
		content []byte
		wantErr string // "": the two keys are read
	}{
		{"plain", []byte(text), ""},
		{"UTF-8 BOM", append([]byte("\uFEFF"), text...), ""},
		{"UTF-8 BOM before a comment", append([]byte("\uFEFF# keys\n"), text...), ""},
		{"UTF-16LE", utf16(binaryOrder{little: true}, text), "UTF-16"},
		{"UTF-16BE", utf16(binaryOrder{}, text), "UTF-16"},
		{"BOM in the middle", []byte(k2.SecretLine() + "\n\uFEFF" + k1.SecretLine() + "\n"), "line 2"},
		// echo "$(sessgc keygen --id 2)" >> keys, on a file whose last
		// line has no newline: two keys on one line.
		{"a key appended to a last line without its newline", []byte(k2.SecretLine() + "\n" + k1.SecretLine() + mustKey(t, 3).SecretLine() + "\n"), "two keys on one line"},
		{"a comment after a key", []byte(k2.SecretLine() + " # old\n" + k1.SecretLine() + "\n"), "comments go on lines of their own"},
		{"64 KiB of comments", append([]byte(text), bytes.Repeat([]byte("# padding\n"), 64<<10/10)...), "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys")
			writeFile0600(t, p, string(tc.content))
			keys, err := fsstore.KeysFromFile(p)
			switch {
			case tc.wantErr == "" && (err != nil || len(keys) != 2 || keys[0].ID != 2 || !bytes.Equal(keys[1].Secret, k1.Secret)):
				t.Errorf("KeysFromFile: %v, %v; want keys 2 and 1", keys, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), p, "KEYS"), tc.wantErr)):
				// (The path holds the test's name.)
				t.Errorf("KeysFromFile: %v, %v; want an error naming %q", keys, err, tc.wantErr)
			}
			if len(tc.content) < 64<<10 {
				keys, err = fsstore.ParseKeys(bytes.NewReader(tc.content))
				if (err == nil) != (tc.wantErr == "") || err == nil && len(keys) != 2 {
					t.Errorf("ParseKeys: %v, %v; want the same outcome as KeysFromFile", keys, err)
				}
			}
		})
	}
}

type binaryOrder struct{ little bool }

// utf16 encodes ASCII text as UTF-16 with a byte-order mark.
func utf16(o binaryOrder, text string) []byte {
	b := []byte{0xFE, 0xFF}
	if o.little {
		b = []byte{0xFF, 0xFE}
	}
	for _, c := range []byte(text) {
		if o.little {
			b = append(b, c, 0)
		} else {
			b = append(b, 0, c)
		}
	}
	return b
}
