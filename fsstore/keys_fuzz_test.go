package fsstore_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/keyline"
)

// FuzzParseKeys: a keys file is operator input. ParseKeys never panics,
// every key it accepts has an ID from 1 and a 32-byte secret, the key set
// it accepts survives being written back (Key.SecretLine, one per line)
// and parsed again, and a UTF-8 byte-order mark before the text (a Windows
// editor's) changes nothing. The same text in an environment variable
// (KeysFromEnv, sessgc's SESSGC_KEYS: keyline.Inline) reads as the same
// key set, or is refused: never another key set.
func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("# newest first\n2 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n1 ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n"))
	f.Add([]byte("1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="))
	f.Add([]byte("0 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"))
	f.Add([]byte("4294967296 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"))
	f.Add([]byte("1 short\n"))
	f.Add([]byte(""))
	f.Add([]byte("\uFEFF# keys\r\n1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n"))
	f.Add([]byte("\uFEFF  # retired; 3 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\t#; see the runbook\n1 ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := fsstore.ParseKeys(bytes.NewReader(b))
		if text, ierr := keyline.Inline(string(b)); ierr == nil {
			if !bytes.ContainsRune(b, ';') && text != string(b) {
				t.Fatalf("Inline(%q) = %q: changed a text without ';'", b, text)
			}
			inline, perr := fsstore.ParseKeys(strings.NewReader(text))
			if err == nil && (perr != nil || !sameKeys(inline, keys)) {
				t.Fatalf("ParseKeys(%q): %d keys; the same text inline: %d keys, %v", b, len(keys), len(inline), perr)
			}
		} else if err == nil && !bytes.ContainsRune(b, ';') {
			t.Fatalf("Inline(%q), a keys file ParseKeys reads, without ';': %v", b, ierr)
		}
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

// sameKeys reports whether a and b are the same keys in the same order.
func sameKeys(a, b []fsstore.Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || !bytes.Equal(a[i].Secret, b[i].Secret) {
			return false
		}
	}
	return true
}
