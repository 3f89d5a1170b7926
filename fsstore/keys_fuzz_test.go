package fsstore_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// FuzzParseKeys: a keys file is operator input. ParseKeys never panics,
// every key it accepts has an ID from 1 and a 32-byte secret, the key set
// it accepts survives being written back (Key.SecretLine, one per line)
// and parsed again, and a UTF-8 byte-order mark before the text (a Windows
// editor's) changes nothing.
func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("# newest first\n2 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n1 ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n"))
	f.Add([]byte("1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="))
	f.Add([]byte("0 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"))
	f.Add([]byte("4294967296 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"))
	f.Add([]byte("1 short\n"))
	f.Add([]byte(""))
	f.Add([]byte("\uFEFF# keys\r\n1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := fsstore.ParseKeys(bytes.NewReader(b))
		if bom := []byte("\uFEFF"); !bytes.HasPrefix(b, bom) {
			marked, merr := fsstore.ParseKeys(bytes.NewReader(append(bom, b...)))
			if (merr == nil) != (err == nil) || len(marked) != len(keys) {
				t.Fatalf("ParseKeys(%q): %d keys, %v; with a byte-order mark before it: %d keys, %v", b, len(keys), err, len(marked), merr)
			}
		}
		if err != nil {
			return
		}
		if len(keys) == 0 {
			t.Fatalf("ParseKeys(%q) accepted no key", b)
		}
		var text strings.Builder
		for _, k := range keys {
			if k.ID == 0 || len(k.Secret) != 32 {
				t.Fatalf("ParseKeys(%q) accepted key %d with a %d-byte secret", b, k.ID, len(k.Secret))
			}
			text.WriteString(k.SecretLine() + "\n")
		}
		again, err := fsstore.ParseKeys(strings.NewReader(text.String()))
		if err != nil || len(again) != len(keys) {
			t.Fatalf("round trip of %d keys: %d keys, %v", len(keys), len(again), err)
		}
		for i := range keys {
			if again[i].ID != keys[i].ID || !bytes.Equal(again[i].Secret, keys[i].Secret) {
				t.Fatalf("round trip changed key %d", i)
			}
		}
	})
}
