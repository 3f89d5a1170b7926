package fsstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
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

// A Store handed to a logger or a format verb by mistake
// (slog.Info("opened", "store", st)) must not put its keys' secrets, nor
// a session's payload, in the logs: fmt prints the fields of a struct it
// is given a pointer to, and calls no String method of a key reached
// through an unexported field.
func TestStoreFormattingRedactsSecret(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	const payload = "payload-that-must-not-be-logged"
	for _, opened := range []struct {
		name string
		opts func(t *testing.T, dir string) []fsstore.Option
	}{
		{"WithKeys", func(*testing.T, string) []fsstore.Option {
			return []fsstore.Option{fsstore.WithKeys(k2, k1), fsstore.WithCache(16, 1<<20)}
		}},
		{"WithKeysFile", func(t *testing.T, dir string) []fsstore.Option {
			p := filepath.Join(t.TempDir(), "keys")
			must(t, os.WriteFile(p, []byte(k2.SecretLine()+"\n"+k1.SecretLine()+"\n"), 0o600))
			return []fsstore.Option{fsstore.WithKeysFile(p), fsstore.WithCache(16, 1<<20)}
		}},
	} {
		t.Run(opened.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := fsstore.Open(dir, opened.opts(t, dir)...)
			must(t, err)
			defer st.Close()
			id := newID(t)
			must(t, st.Save(ctx, &fsstore.Session{ID: id, Data: []byte(payload)}))
			if _, err := st.Load(ctx, id); err != nil {
				t.Fatal(err)
			}
			var v any = st // any verb, as a logger's format string may use
			for _, tc := range []struct {
				name   string
				render func() string
			}{
				{"%v", func() string { return fmt.Sprintf("%v", v) }},
				{"%+v", func() string { return fmt.Sprintf("%+v", v) }},
				{"%#v", func() string { return fmt.Sprintf("%#v", v) }},
				{"%s", func() string { return fmt.Sprintf("%s", v) }},
				{"%x", func() string { return fmt.Sprintf("%x", v) }},
				{"Sprint", func() string { return fmt.Sprint(v) }},
				{"slog text", func() string { return loggedValue(false, v) }},
				{"slog JSON", func() string { return loggedValue(true, v) }},
			} {
				out := tc.render()
				for _, k := range []fsstore.Key{k1, k2} {
					if leaks(out, k.Secret) {
						t.Errorf("%s: output leaks the secret of key %d", tc.name, k.ID)
					}
				}
				if strings.Contains(out, payload) || strings.Contains(out, hex.EncodeToString([]byte(payload))) {
					t.Errorf("%s: output leaks a session's payload", tc.name)
				}
			}
		})
	}
}

// loggedValue renders v through a slog handler, text or JSON.
func loggedValue(asJSON bool, v any) string {
	var b bytes.Buffer
	var h slog.Handler = slog.NewTextHandler(&b, nil)
	if asJSON {
		h = slog.NewJSONHandler(&b, nil)
	}
	slog.New(h).Info("opened", "store", v)
	return b.String()
}

// A keys file's text given where its path goes (WithKeysFile(os.Getenv(
// "KEYS")), a variable set to "$(cat keys)") must fail without repeating
// the secrets it holds: every error about a keys file names its path, and
// the hint for a missing one even made a command of it.
func TestKeysFileContentsAsPathNotQuoted(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	for _, tc := range []struct {
		name string
		path string
	}{
		{"a key line", k1.SecretLine()},
		{"the file's text", k2.SecretLine() + "\n" + k1.SecretLine() + "\n"},
		{"a key line in a directory", filepath.Join(t.TempDir(), k1.SecretLine())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ferr := fsstore.KeysFromFile(tc.path)
			_, terr := fsstore.KeysFromFileTrusted(tc.path)
			_, oerr := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(tc.path))
			for _, err := range []error{ferr, terr, oerr} {
				if err == nil {
					t.Fatal("no error")
				}
				for _, k := range []fsstore.Key{k1, k2} {
					if leaks(err.Error(), k.Secret) {
						t.Errorf("the error leaks the secret of key %d: %v", k.ID, err)
					}
				}
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("error %v does not match fs.ErrNotExist", err)
				}
			}
			// The same mistake with a variable: its value for its name.
			if _, err := fsstore.KeysFromEnv(tc.path); err == nil {
				t.Error("KeysFromEnv: no error")
			} else if leaks(err.Error(), k1.Secret) || leaks(err.Error(), k2.Secret) {
				t.Errorf("KeysFromEnv's error leaks a secret: %v", err)
			}
		})
	}
}

// TestKeysFilePathThatLooksLikeAKey: a missing keys file whose path only
// looks like it holds a secret (a name of 43 base64 letters after a dot)
// fails with an error that still shows the rest of the path, not shown
// the word alone: it said the path held a key, and showed nothing of it.
func TestKeysFilePathThatLooksLikeAKey(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keys.sessfsProductionKeysForTheEuWest1Cluster202")
	_, err := fsstore.KeysFromFile(p)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("KeysFromFile of a missing file: %v, want fs.ErrNotExist", err)
	}
	// As %q shows it (a Windows path's separators doubled).
	want := strings.Trim(fmt.Sprintf("%q", filepath.Join(dir, "keys.")+"(a key's secret, not shown)"), `"`)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not show the path as %q", err, want)
	}
}

// TestStoreDirKeyLineNotQuoted: a key line given where the store's
// directory goes (an application's STORE_DIR set to the keys' text) names
// no directory, and Open's error says so without the secret, which
// applications log; it still matches what it matched (fs.ErrNotExist).
// Its letters glued to an escape in a quoted path ("7\tSECRET") are a
// secret too.
func TestStoreDirKeyLineNotQuoted(t *testing.T) {
	k := mustKey(t, 7)
	secret := strings.Fields(k.SecretLine())[1]
	t.Chdir(t.TempDir())
	for _, dir := range []string{k.SecretLine(), "7\t" + secret, filepath.Join(t.TempDir(), k.SecretLine())} {
		for name, open := range map[string]func() (*fsstore.Store, error){
			"Open":        func() (*fsstore.Store, error) { return fsstore.Open(dir, fsstore.WithKeys(k)) },
			"OpenContext": func() (*fsstore.Store, error) { return fsstore.OpenContext(context.Background(), dir) },
		} {
			s, err := open()
			if err == nil {
				s.Close()
				t.Fatalf("%s(%q) opened a store", name, dir)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%v %+v %q", err, err, err), secret) {
				t.Errorf("%s of a directory named by a key line: the error quotes the secret: %v", name, err)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s of a directory named by a key line: %v; want it to match fs.ErrNotExist", name, err)
			}
		}
	}
}
