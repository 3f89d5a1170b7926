package fsstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestFirstKeyedOpenWarnsOfPlaintextSessions: keys added to a store that
// already holds sessions, without WithPlaintextMigration, make every one of
// them unreadable (ErrUnencrypted), and their users start afresh. The host
// that does it says so once, with the way to keep them, rather than leave
// the operator a "corrupt session record" per user to puzzle over; a store
// with nothing to lose, or one migrating, gets no such warning.
func TestFirstKeyedOpenWarnsOfPlaintextSessions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		sessions int
		opts     []fsstore.Option
		want     bool
		// sealed: the sessions were saved encrypted, by a host with the
		// keys, and the marker then lost its encrypted line (restored
		// from an older copy, rewritten by hand): nothing is in clear
		// text, and a warning would send the operator to a migration
		// with nothing to migrate.
		sealed bool
	}{
		{name: "plaintext sessions, no migration", sessions: 2, want: true},
		{name: "empty store", sessions: 0},
		{name: "plaintext sessions, migrating", sessions: 2, opts: []fsstore.Option{fsstore.WithPlaintextMigration()}},
		{name: "encrypted sessions, mark lost", sessions: 2, sealed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key := mustKey(t, 1)
			var first []fsstore.Option
			if tc.sealed {
				first = append(first, fsstore.WithKeys(key))
			}
			plain, err := fsstore.Open(dir, first...)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tc.sessions; i++ {
				id, err := fsstore.NewID()
				if err != nil {
					t.Fatal(err)
				}
				if err := plain.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
			}
			if err := plain.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.sealed {
				mp := filepath.Join(dir, fsstore.MarkerFile)
				b, err := os.ReadFile(mp)
				if err != nil {
					t.Fatal(err)
				}
				lost := strings.Replace(string(b), "encrypted 1\n", "", 1)
				if lost == string(b) {
					t.Fatalf("marker %q has no encrypted line", b)
				}
				if err := os.WriteFile(mp, []byte(lost), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			opts := append([]fsstore.Option{fsstore.WithKeys(key),
				fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, tc.opts...)
			s, err := fsstore.Open(dir, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got := strings.Contains(logs.String(), "WithPlaintextMigration") && strings.Contains(logs.String(), "clear text")
			if tc.want && (!got || !strings.Contains(logs.String(), "sessgc rekey --migrate-plaintext")) {
				t.Errorf("first keyed Open of a store holding plaintext sessions logged %q, want a warning naming WithPlaintextMigration and sessgc rekey --migrate-plaintext", logs.String())
			}
			if !tc.want && strings.Contains(logs.String(), "already holds sessions") {
				t.Errorf("Open logged %q, want no warning of sessions lost", logs.String())
			}
		})
	}
}
