//go:build unix

package fsstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// keysModeChecked: the mode bits say who may read the keys file.
const keysModeChecked = true

// ownedByRoot reports whether root owns the file fi describes.
func ownedByRoot(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == 0
}

// ownedByEuid reports whether this process's effective user owns the
// file fi describes.
func ownedByEuid(fi fs.FileInfo) bool {
	uid, ok := fileOwner(fi)
	return ok && int(uid) == os.Geteuid()
}

// fileOwner returns the uid that owns the file fi describes.
func fileOwner(fi fs.FileInfo) (uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}

// keysPathMaxLinks bounds the symbolic links followed in checkKeysPath, as
// the kernel's (Linux's is 40) does.
const keysPathMaxLinks = 40

// checkKeysPath refuses a keys file that a user other than root and this
// process's own could replace: owned by another user, or reached through a
// directory that another user owns or may write, as OpenSSH's StrictModes
// refuses an authorized_keys file. Whoever can replace the keys file
// chooses the keys this process seals sessions with, and can read them
// back. Every directory walked to reach the file counts, those of each
// symbolic link followed too (a secret volume's keys -> ..data/keys, and
// ..data -> ..2024_01_01_00_00_00.1): a directory must be owned by root or
// this process's user and not be writable by group or others, except one
// with the sticky bit set (/tmp, and the tmpfs of a Kubernetes secret
// volume, mode 1777), where only an entry's owner may rename or remove it,
// so an entry owned by root or this process's user is safe there. fi
// describes the file itself, as opened.
func checkKeysPath(path string, fi fs.FileInfo) error {
	me := uint32(os.Geteuid())
	trusted := func(uid uint32) bool { return uid == 0 || uid == me }
	if uid, ok := fileOwner(fi); ok && !trusted(uid) {
		return fmt.Errorf("fsstore: keys: %s is owned by uid %d, neither root nor this process's user (uid %d), who could replace the keys: chown it%s", path, uid, me, keysTrustHint)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("fsstore: keys: %w", err)
	}
	rest := strings.Split(strings.TrimPrefix(abs, "/"), "/")
	cur := "/"
	for links := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			// cur holds no symbolic link: its parent is its real one.
			cur = filepath.Dir(cur)
			continue
		}
		dir, err := os.Lstat(cur)
		if err != nil {
			return fmt.Errorf("fsstore: keys: %w", err)
		}
		ent, err := os.Lstat(filepath.Join(cur, name))
		if err != nil {
			return fmt.Errorf("fsstore: keys: %w", err)
		}
		if err := checkKeysDir(path, cur, dir, name, ent, trusted, me); err != nil {
			return err
		}
		if ent.Mode()&fs.ModeSymlink == 0 {
			cur = filepath.Join(cur, name)
			continue
		}
		if links++; links > keysPathMaxLinks {
			return fmt.Errorf("fsstore: keys: %s: %w", path, syscall.ELOOP)
		}
		target, err := os.Readlink(filepath.Join(cur, name))
		if err != nil {
			return fmt.Errorf("fsstore: keys: %w", err)
		}
		if filepath.IsAbs(target) {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return nil
}

// keysTrustHint ends a refusal of checkKeysPath with the way past it, for
// an operator who trusts those users with the sessions (a secret volume or
// a Compose file secret whose owner or mode they cannot choose).
const keysTrustHint = ", or open the store with fsstore.WithKeysFileTrusted (instead of KeysFromFile: KeysFromFileTrusted; sessgc: --keys-file-trusted) if whoever could replace it is trusted with the sessions"

// errKeysDir: a directory on the way to the keys file lets another user
// replace it.
var errKeysDir = errors.New("another user could replace the keys file")

// checkKeysDir checks directory dir (attributes di) on the way to the keys
// file path, through its entry name (attributes ent).
func checkKeysDir(path, dir string, di fs.FileInfo, name string, ent fs.FileInfo, trusted func(uint32) bool, me uint32) error {
	if uid, ok := fileOwner(di); ok && !trusted(uid) {
		return fmt.Errorf("fsstore: keys: %s: directory %s is owned by uid %d, neither root nor this process's user (uid %d): %w; move the keys file, or chown the directory%s", path, dir, uid, me, errKeysDir, keysTrustHint)
	}
	if di.Mode().Perm()&0o022 == 0 {
		return nil
	}
	if di.Mode()&fs.ModeSticky != 0 {
		// Only the entry's owner (or the directory's, or root) may
		// rename or remove it here.
		if uid, ok := fileOwner(ent); !ok || trusted(uid) {
			return nil
		}
		uid, _ := fileOwner(ent)
		return fmt.Errorf("fsstore: keys: %s: %s, in the directory %s that everyone may write (mode %v), is owned by uid %d, neither root nor this process's user (uid %d): %w; chown it%s", path, filepath.Join(dir, name), dir, di.Mode().Perm()|fs.ModeSticky, uid, me, errKeysDir, keysTrustHint)
	}
	return fmt.Errorf("fsstore: keys: %s: directory %s is writable by group or others (mode %v): %w; chmod go-w it, or move the keys file%s", path, dir, di.Mode().Perm(), errKeysDir, keysTrustHint)
}
