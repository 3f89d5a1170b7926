package fsstore_test

import (
	"bytes"
	"context"
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

// TestKeyCheckContentChecked: a keyed host's saves looked, every minute,
// only for whether its keys' check files were there: one holding another
// secret under the key's ID (a host opened with another key set while the
// file was missing, or a writer of the mount replaced it) was trusted
// until the next Open failed on it. The saves now open it with the key:
// a mismatch, or a damaged file, is logged as an error naming the key and
// the file, and the file is left as it is (it may be another host's key).
func TestKeyCheckContentChecked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content func(t *testing.T) []byte
		want    string
	}{
		{"another secret", func(t *testing.T) []byte {
			other := t.TempDir()
			s := openDir(t, other, fsstore.WithKeys(mustKey(t, 1)))
			must(t, s.Close())
			b, err := os.ReadFile(filepath.Join(other, ".keycheck-1"))
			must(t, err)
			return b
		}, "does not hold this host's key"},
		{"damaged", func(*testing.T) []byte { return []byte("short") }, "does not hold this host's key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			clk := fakeclock.New()
			var logs testenv.Buffer
			s := openDir(t, dir, fsstore.WithKeys(mustKey(t, 1)), fsstore.WithClock(clk.Now), fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			check := filepath.Join(dir, ".keycheck-1")
			replaced := tc.content(t)
			must(t, os.WriteFile(check, replaced, 0o600))
			clk.Advance(time.Minute)
			must(t, s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")}))
			out := logs.String()
			if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, tc.want) || !strings.Contains(out, "key=1") || !strings.Contains(out, ".keycheck-1") {
				t.Errorf("log of a save a minute after the check file was replaced:\n%s\nwant an error naming key 1 and its file, saying %q", out, tc.want)
			}
			if b, err := os.ReadFile(check); err != nil || !bytes.Equal(b, replaced) {
				t.Errorf("check file after the save: %q %v, want it left as it was", b, err)
			}
		})
	}
}
