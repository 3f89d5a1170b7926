//go:build unix

package fsstore_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRaiseRereadsMarkerBeingReplaced: a marker that another process is
// renaming a raised copy over can be missing for an instant to an NFS
// client that looked its name up before the rename. A raise (here a
// session's idle timeout above the marker's) that met it so failed with
// ENOENT, and on NFS a fresh store's Open failed on one host while the
// other raised its marker (MarkerRaise in TestNFSStore). The raise reads it
// again. Here the marker is away for the raise's first read.
func TestRaiseRereadsMarkerBeingReplaced(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, fsstore.MarkerFile)
	away := marker + ".away"
	var mu sync.Mutex
	armed, calls := false, 0
	hook := func(site string) {
		mu.Lock()
		defer mu.Unlock()
		if !armed || site != "root" {
			return
		}
		switch calls++; calls {
		case 1: // the raise's read: the marker is being replaced
			if err := os.Rename(marker, away); err != nil {
				t.Error(err)
			}
		case 2: // and is back
			if err := os.Rename(away, marker); err != nil {
				t.Error(err)
			}
			armed = false
		}
	}
	s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithTestFSForTest(hook))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mu.Lock()
	armed = true
	mu.Unlock()
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x"), Idle: 3 * time.Hour}); err != nil {
		t.Fatalf("Save raising the marker while it was being replaced: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("marker: %v", err)
	}
	_, _, maxIdle, err := fsstore.ReadLayout(dir)
	if err != nil || maxIdle != 3*time.Hour {
		t.Errorf("marker's max idle %v, %v; want 3h", maxIdle, err)
	}
}
