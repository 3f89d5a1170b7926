//go:build unix

package fsstore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestOneUsersGroupLookingStoreOpens: files the group may use, written by
// one user alone, are no sign of another user's hosts, whose sessions a
// host with narrower modes would lock out. Kubernetes' fsGroup makes a
// volume's files so under a pod (g+rw files, g+rwx setgid directories, the
// pod in the group), and a one-user store made with the shared recipe looks
// the same: a host of that user on the default modes opens it, where it
// was refused at its next start with ErrLayoutMismatch.
func TestOneUsersGroupLookingStoreOpens(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	if err := st.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	must(t, st.Close())
	// What kubelet does for a pod's fsGroup, in the process's own group.
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, os.ModeSetgid|0o770)
		}
		return os.Chmod(p, 0o660)
	}))
	st, err = fsstore.Open(dir)
	if err != nil {
		t.Fatalf("a host of the store's one user on the default modes, its files made the group's: %v, want it opened", err)
	}
	defer st.Close()
	if rec, err := st.Load(ctx, id); err != nil || string(rec.Data) != "kept" {
		t.Fatalf("Load after reopening: %v, %v", rec, err)
	}
}
