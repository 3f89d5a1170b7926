package fsstore_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// A key, or a key set, handed to a logger or a format verb by mistake
// (slog.Info("opened", "keys", keys), an error built with %v) must not
// put its secret in the logs: only its ID, and that the secret is hidden.
func TestKeyFormattingRedactsSecret(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	keys := []fsstore.Key{k2, k1}
	type holder struct{ Keys []fsstore.Key }
	for _, tc := range []struct {
		name   string
		render func() string
		want   string // the text must hold it: the key's ID is still shown
	}{
		{"%v", func() string { return fmt.Sprintf("%v", k1) }, "key 1 (secret redacted)"},
		{"%s", func() string { return fmt.Sprintf("%s", k1) }, "key 1 (secret redacted)"},
		{"%+v", func() string { return fmt.Sprintf("%+v", k1) }, "key 1 (secret redacted)"},
		{"%#v", func() string { return fmt.Sprintf("%#v", k1) }, "key 1 (secret redacted)"},
		{"%q", func() string { return fmt.Sprintf("%q", k1) }, "key 1 (secret redacted)"},
		{"%x", func() string { return fmt.Sprintf("%x", k1) }, ""},
		{"%d", func() string { return fmt.Sprintf("%d", k1) }, ""},
		{"String", k1.String, "key 1 (secret redacted)"},
		{"Sprint", func() string { return fmt.Sprint(k1) }, "key 1 (secret redacted)"},
		{"pointer %v", func() string { return fmt.Sprintf("%v", &k1) }, "key 1 (secret redacted)"},
		{"set %v", func() string { return fmt.Sprintf("%v", keys) }, "key 2 (secret redacted)"},
		{"set %s", func() string { return fmt.Sprintf("%s", keys) }, "key 2 (secret redacted)"},
		{"set %+v", func() string { return fmt.Sprintf("%+v", keys) }, "key 1 (secret redacted)"},
		{"set %#v", func() string { return fmt.Sprintf("%#v", keys) }, "key 1 (secret redacted)"},
		{"in a struct %+v", func() string { return fmt.Sprintf("%+v", holder{keys}) }, "key 2 (secret redacted)"},
		{"json", func() string { b, err := json.Marshal(holder{keys}); must(t, err); return string(b) }, "key 2 (secret redacted)"},
		{"slog text", func() string { return logged(t, false, keys, k1) }, "key 1 (secret redacted)"},
		{"slog JSON", func() string { return logged(t, true, keys, k1) }, "key 2 (secret redacted)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.render()
			if !strings.Contains(out, tc.want) {
				t.Errorf("output %q does not hold %q", out, tc.want)
			}
			for _, k := range keys {
				if leaks(out, k.Secret) {
					t.Errorf("output leaks the secret of key %d: %q", k.ID, out)
				}
			}
		})
	}
}

// logged renders keys and k through a slog handler, text or JSON.
func logged(t *testing.T, asJSON bool, keys []fsstore.Key, k fsstore.Key) string {
	t.Helper()
	var b bytes.Buffer
	var h slog.Handler = slog.NewTextHandler(&b, nil)
	if asJSON {
		h = slog.NewJSONHandler(&b, nil)
	}
	l := slog.New(h)
	l.Info("keys", "keys", keys, "key", k, slog.Any("any", k), slog.Group("g", "k", k))
	return b.String()
}

// leaks reports whether out holds secret in a form a log would show it:
// base64 (both alphabets, a line of a keys file, and that line in hex),
// hex, or Go's byte-slice notations.
func leaks(out string, secret []byte) bool {
	b64 := base64.StdEncoding.EncodeToString(secret)
	_, goSyntax, _ := strings.Cut(fmt.Sprintf("%#v", secret), "{")
	forms := []string{
		b64,
		base64.RawURLEncoding.EncodeToString(secret),
		hex.EncodeToString([]byte(b64)),
		hex.EncodeToString(secret),
		fmt.Sprint(secret),
		goSyntax,
	}
	for _, f := range forms {
		// A prefix is enough to tell: 8 base64 characters are 48 bits.
		if strings.Contains(out, f[:min(len(f), 16)]) {
			return true
		}
	}
	return false
}
