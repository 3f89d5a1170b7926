package fsstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenatFromStack: the store's openat, openat2 and renameat, which pass
// paths from a buffer on the stack, act as x/sys/unix's calls do, refuse a
// NUL as they do, and take a path longer than the buffer their way.
func TestOpenatFromStack(t *testing.T) {
	dir := t.TempDir()
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	short := "record"
	long := strings.Repeat("d", 200) + "/" + strings.Repeat("f", 200) // past cPathBuf
	if err := os.MkdirAll(filepath.Join(dir, strings.Repeat("d", 200)), 0o700); err != nil {
		t.Fatal(err)
	}
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS}
	for _, name := range []string{short, long} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		opens := map[string]func() (int, error){
			"openatName": func() (int, error) { return openatName(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0) },
			"openat2":    func() (int, error) { return openat2(dfd, name, &how) },
		}
		for call, open := range opens {
			fd, err := open()
			if err != nil {
				t.Fatalf("%s of a %d-byte path: %v", call, len(name), err)
			}
			b := make([]byte, len(name)+1)
			n, err := unix.Read(fd, b)
			unix.Close(fd)
			if err != nil || string(b[:n]) != name {
				t.Errorf("%s of a %d-byte path read %q, %v; want the file's contents", call, len(name), b[:max(n, 0)], err)
			}
		}
	}
	for _, name := range []string{short, long} {
		if err := renameatName(dfd, name, dfd, name+".new"); err != nil {
			t.Fatalf("renameatName of a %d-byte path: %v", len(name), err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, name+".new")); err != nil || string(b) != name {
			t.Errorf("after renameatName of a %d-byte path the new name holds %q, %v", len(name), b, err)
		}
	}
	for _, name := range []string{"rec\x00ord", "missing"} {
		wantErr := unix.Renameat(dfd, name, dfd, "other")
		if err := renameatName(dfd, name, dfd, "other"); err != wantErr {
			t.Errorf("renameatName(%q) = %v, want %v as unix.Renameat", name, err, wantErr)
		}
		_, wantErr = unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if _, err := openatName(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != wantErr {
			t.Errorf("openatName(%q) = %v, want %v as unix.Openat", name, err, wantErr)
		}
		_, wantErr = unix.Openat2(dfd, name, &how)
		if _, err := openat2(dfd, name, &how); err != wantErr {
			t.Errorf("openat2(%q) = %v, want %v as unix.Openat2", name, err, wantErr)
		}
	}
}
