package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestForeignNameHiddenInErrors: a foreign file's name (another store's
// sess_ID, a live session ID) is hidden in the lines that list it, but a
// listing whose lstat of it failed named it whole in the error, on stderr
// and in --json's summary. On a file system whose listings give no file
// types (ext4 without filetype, some FUSE and NFS servers), each entry of
// a shard is looked up; here the lookup is refused (a shard directory
// this user may list but not search). Every command's output names the
// directory, the ID left out.
func TestForeignNameHiddenInErrors(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount an ext4 image and run as another user")
	}
	mnt := testenv.MountImage(t, 8<<20, "ext4", "", "mkfs.ext4", "-q", "-F", "-O", "^filetype,^has_journal")
	dir := filepath.Join(mnt, "sessions")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A shard of its own, holding the foreign file alone: its lookup is
	// the listing's first.
	const id = "q3v9k2m7n1p8r4t6w0y5z2a7b4"
	shard := filepath.Join(dir, fsstore.DataDir, "ff")
	if err := os.Mkdir(shard, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(shard, "sess_"+id), "php session", old)
	chownTree(t, dir, 65534, 65534)
	openUp(t, filepath.Dir(dir))
	if err := os.Chmod(shard, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "--dir", dir},
		{"run", "--dir", dir, "--json", "-v"},
		{"run", "--dir", dir, "--dry-run", "--json"},
		{"stats", "--dir", dir, "--json"},
	} {
		cmd := command(append(args, "--log-level", "debug"))
		asUnprivileged(cmd)
		r := runCmd(t, cmd)
		if !strings.Contains(r.stderr+r.stdout, "permission denied") {
			t.Errorf("sessgc %s: exit %d, stderr %q; want the lookup's error", strings.Join(args, " "), r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, id) {
			t.Errorf("sessgc %s: the session ID in a foreign file's name is in the output:\nstdout %s\nstderr %s", strings.Join(args, " "), r.stdout, r.stderr)
		}
	}
}
