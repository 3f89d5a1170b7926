package pass

import (
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestOpenGroupStoreUnderTightUmask: sessgc run from a cron whose umask
// takes the group's execute bit too (0077)
// opens a group-shared store with the store's modes, its umask widened
// for directories as well as files: fsstore refuses a process that would
// make directories the group cannot enter, so widening it for the
// records' bits alone left sessgc unable to open the store at all.
// The umask is the process's: not parallel.
func TestOpenGroupStoreUnderTightUmask(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, os.ModeSetgid|0o770); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o007)
	defer syscall.Umask(old)
	s, err := fsstore.Open(dir, fsstore.WithPermissions(0o660, 0o2770))
	if err != nil {
		t.Fatal(err)
	}
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(t.Context(), &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, umask := range []int{0o022, 0o027, 0o077} {
		syscall.Umask(umask)
		s, err := OpenStore(dir, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Errorf("umask %04o: OpenStore of a group-shared store: %v", umask, err)
			continue
		}
		s.Close()
	}
}
