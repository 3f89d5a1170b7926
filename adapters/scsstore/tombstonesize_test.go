package scsstore_test

import (
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/webtest"
)

// TestTombstoneSize: a log out (or a log in's RenewToken) leaves one file
// of 82 bytes, 110 on an encrypted store, whatever the session held, as the
// package documentation and the operator guide tell operators sizing a
// store under the delete guard; and a record made mode 0600.
func TestTombstoneSize(t *testing.T) {
	key, err := fsstore.NewKey(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []fsstore.Option
		size int64
	}{
		{"plain", nil, 82},
		{"encrypted", []fsstore.Option{fsstore.WithKeys(key)}, 110},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := fakeclock.New()
			dir := t.TempDir()
			st, err := fsstore.Open(dir, append([]fsstore.Option{fsstore.WithClock(clk.Now), fsstore.WithDurability(fsstore.DurabilityNone)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			s := scsstore.New(st, scsstore.WithClock(clk.Now))
			tok := newToken(t)
			if err := s.Commit(tok, make([]byte, 4096), clk.Now().Add(24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(tok); err != nil {
				t.Fatal(err)
			}
			files := webtest.RecordFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("%d record files after a log out; want the tombstone alone", len(files))
			}
			fi, err := os.Stat(files[0])
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != tc.size {
				t.Errorf("tombstone of %d bytes; the documentation says %d", fi.Size(), tc.size)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("tombstone mode %v; want 0600", fi.Mode().Perm())
			}
		})
	}
}
