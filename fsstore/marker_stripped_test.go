package fsstore_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestStrippedEncryptionMarkRestored: someone who can write the mount but
// has no keys removes the marker's "encrypted 1" line, and every key file
// at the store's top, which a keyless host takes for the marking as well
// (TestKeylessOpenRefusesKeyFiles). A host started without keys after
// that opened the store and wrote, and served, plaintext sessions for as
// long as it ran (unless it loaded an encrypted record): the keyed hosts
// never looked at the marker again. They now write the line, and their
// keys' check files, again from their saves, at most a minute after they
// went, and the keyless host refuses plaintext from its next re-read of
// the marker, as it does after the first marking. Their warning says
// that a keyless host may have written in clear text: the key files were
// gone too.
func TestStrippedEncryptionMarkRestored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New()
	var logs testenv.Buffer
	keyed := openDir(t, dir, fsstore.WithKeys(mustKey(t, 1)), fsstore.WithClock(clk.Now),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	id := newID(t)
	if err := keyed.Save(ctx, &fsstore.Session{ID: id, Data: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, fsstore.MarkerFile)
	b, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	stripped := strings.Replace(string(b), "encrypted 1\n", "", 1)
	if stripped == string(b) {
		t.Fatalf("marker %q has no encrypted line", b)
	}
	if err := os.WriteFile(marker, []byte(stripped), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, name := range keyFiles(t, dir) {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}

	// Started after the strip: nothing tells it the store is encrypted yet.
	keyless := openDir(t, dir, fsstore.WithClock(clk.Now))
	forged := newID(t)
	if err := keyless.Save(ctx, &fsstore.Session{ID: forged, Data: []byte(`{"user":"admin"}`)}); err != nil {
		t.Fatalf("keyless Save before any keyed host looked: %v", err)
	}

	// A keyed host's save a minute later looks at the marker.
	clk.Advance(time.Minute)
	if err := keyed.Save(ctx, &fsstore.Session{ID: id, Data: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(marker); err != nil || !strings.Contains(string(b), "encrypted 1\n") {
		t.Errorf("marker after a keyed save a minute later: %q %v, want its encrypted line back", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".keycheck-1")); err != nil {
		t.Errorf("check file after a keyed save a minute later: %v, want it written again", err)
	}
	if got := logs.String(); !strings.Contains(got, "key check files were missing as well") || !strings.Contains(got, "may have opened the store and written sessions in clear text") {
		t.Errorf("log of the line put back with the check files:\n%s\nwant it to say a keyless host may have written in clear text", got)
	}
	clk.Advance(fsstore.KeylessRecheck)
	if err := keyless.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("clear")}); !errors.Is(err, fsstore.ErrKeysRequired) {
		t.Errorf("keyless Save once a keyed host saved a minute after the strip: %v, want ErrKeysRequired", err)
	}
	if _, err := keyless.Load(ctx, forged); !errors.Is(err, fsstore.ErrUnencrypted) {
		t.Errorf("keyless Load of the plaintext record: %v, want ErrUnencrypted", err)
	}
	if _, err := fsstore.Open(dir); !errors.Is(err, fsstore.ErrKeysRequired) {
		t.Errorf("keyless Open once the line is back: %v, want ErrKeysRequired", err)
	}
}
