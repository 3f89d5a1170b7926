package pass

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
)

// TestOpenStoreRefusesPlatformFirst: where the store does not run
// (Windows), OpenStore says so whatever --dir holds. A missing or empty
// --dir was taken for a fresh volume first: "does not exist (is the share
// mounted on this host?)", and with --missing-ok an exit 0 at every run,
// so a scheduled task there was never told it cannot work.
func TestOpenStoreRefusesPlatformFirst(t *testing.T) {
	if s, err := fsstore.Open(t.TempDir()); !errors.Is(err, fsstore.ErrNotSupported) {
		if s != nil {
			s.Close()
		}
		t.Skip("the store runs on this platform")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct{ name, dir string }{
		{"missing", filepath.Join(t.TempDir(), "sessions")},
		{"empty", t.TempDir()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenStore(tc.dir, log)
			if !errors.Is(err, fsstore.ErrNotSupported) || errors.Is(err, ErrNoStore) {
				t.Errorf("OpenStore(%s) on a platform the store does not run on: %v; want the platform refused (fsstore.ErrNotSupported), not ErrNoStore", tc.name, err)
			}
		})
	}
}

// TestStoreRunsAsFsstoreSays: cmdutil.StoreRuns, by which OpenStore (and
// sessbench's --dir check) refuses a platform before it looks at --dir,
// agrees with fsstore.Open on this platform.
func TestStoreRunsAsFsstoreSays(t *testing.T) {
	s, err := fsstore.Open(t.TempDir())
	if s != nil {
		s.Close()
	}
	if refused := errors.Is(err, fsstore.ErrNotSupported); refused == cmdutil.StoreRuns {
		t.Errorf("cmdutil.StoreRuns is %v, but fsstore.Open answers %v", cmdutil.StoreRuns, err)
	}
}
