//go:build unix

package pass

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/shellquote"
)

// The privileges stickyPriv names, under the names this package's checks
// and their tests use. Here, not beside stickyPriv: only Unix hosts have
// sticky directories to check (unused elsewhere, staticcheck's U1000).
const (
	privNone      = cmdutil.StickyNone
	privOverrides = cmdutil.StickyOverrides
	privUnmapped  = cmdutil.StickyUnmapped
)

// CheckOwner refuses to open a store as root when another user owns it:
// the lock files and rewritten records root would create there (mode 0600)
// could not be opened by the applications nor by sessgc run as their user.
// Commands that change nothing refuse too: opening a store may record its
// lock strategy (after an operator removed locks/.strategy to change it),
// and root's record would keep every application from opening the store.
// (stats opens such a store fsstore.WithReadOnly instead, which records
// nothing.) dir that cannot be looked at is left to OpenStore to report.
func CheckOwner(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(filepath.Join(dir, fsstore.MarkerFile))
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && st.Uid != 0 && !cmdutil.UIDMapped(st.Uid) {
		// Root of a user namespace (unshare -U -r, a rootless
		// container) that does not map the store's owner: "run as that
		// user" would name the overflow uid every such owner shows as.
		return cmdutil.StoreErrorf("running as root of a user namespace that does not map the store's owner (the store %s shows as uid %d's): run sessgc outside the namespace, as the user that owns the store", dir, st.Uid)
	}
	if ok && st.Uid != 0 && !RootFilesAre(dir, st.Uid) {
		owner, who := fmt.Sprintf("uid %d", st.Uid), fmt.Sprintf("#%d", st.Uid)
		if u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10)); err == nil {
			owner, who = fmt.Sprintf("%s (uid %d)", u.Username, st.Uid), u.Username
		}
		// The full path: sudo's PATH leaves /usr/local/bin out on Amazon
		// Linux 2 and RHEL, where "sudo -u app sessgc" is not found.
		exe, err := os.Executable()
		if err != nil {
			exe = "sessgc"
		}
		return cmdutil.StoreErrorf("running as root, but the store %s belongs to %s: run sessgc as that user (e.g. sudo -u %s %s ...); files root creates there would be unusable by the applications", dir, owner, shellquote.Quote(who), shellquote.Quote(exe))
	}
	return nil
}

// RootFilesAre reports whether the files this process, root, creates in
// dir are uid's: where the file server maps root to the store's owner (an
// EFS access point, NFS's all_squash or root_squash with anonuid), what
// root creates there is as usable by the applications as their own, and
// refusing it sent the operator to a sudo that changes nothing. A file
// made and removed at once tells, as fsstore.Open's own check of root
// does, under a temp file's name as that check's; the directory's mtime
// is put back after it. A file that cannot be made tells nothing: false.
func RootFilesAre(dir string, uid uint32) bool {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return false
	}
	di, err := os.Stat(dir)
	if err != nil {
		return false
	}
	probe := filepath.Join(dir, ".tmp-owner-"+hex.EncodeToString(b[:]))
	f, err := os.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return false
	}
	fi, err := f.Stat()
	f.Close()
	os.Remove(probe)
	// The store's directory as it was: a command refused here (stats,
	// which then counts read-only) changes nothing in the store.
	os.Chtimes(dir, time.Time{}, di.ModTime())
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == uid
}

// storePermissions returns the modes the store's own files have, so that
// what sessgc creates (lock files, rewritten records) is as usable by the
// applications as what they create (a group-shared store, see
// fsstore.WithPermissions), and widens the umask to let them through.
func storePermissions(dir string) []fsstore.Option {
	mi, err1 := os.Stat(filepath.Join(dir, fsstore.MarkerFile))
	di, err2 := os.Stat(filepath.Join(dir, fsstore.DataDir))
	if errors.Is(err2, fs.ErrNotExist) {
		// Removed to empty the store: the next save creates it like
		// the store's directory.
		di, err2 = os.Stat(dir)
	}
	if err1 != nil || err2 != nil {
		return nil
	}
	file := sharedFileMode(mi.Mode())
	d := di.Mode().Perm()&0o770 | 0o700
	var mode fs.FileMode = d
	if di.Mode()&fs.ModeSetgid != 0 {
		mode |= fs.ModeSetgid
	}
	if file&0o060 != 0 {
		// The directories' group bits too: fsstore refuses a process of
		// a group-shared store that would make directories the group
		// cannot enter (a cron umask of 0077 took g+x).
		old := syscall.Umask(0)
		syscall.Umask(old &^ int(file&0o060|mode.Perm()&0o070))
	}
	return []fsstore.Option{fsstore.WithPermissions(file, mode)}
}

// storeFileMode returns the mode of the files of the store in dir, from
// its marker's (see sharedFileMode): 0600 when the marker cannot be read.
func storeFileMode(dir string) fs.FileMode {
	mi, err := os.Stat(filepath.Join(dir, fsstore.MarkerFile))
	if err != nil {
		return 0o600
	}
	return sharedFileMode(mi.Mode())
}

// sharedFileMode returns the mode of the store's files from its marker's:
// 0600, or 0660 for a group-shared store. The marker is also group- (and
// world-) readable where the directories are (so that tools can read the
// layout), so only its group-write bit says the records are shared.
func sharedFileMode(marker fs.FileMode) fs.FileMode {
	if marker.Perm()&0o020 == 0 {
		return 0o600
	}
	return 0o660
}

// replaceable refuses file, the textfile at path, when the user euid may
// not rename a file over it in dir, its directory: with dir's sticky bit
// only file's owner, dir's owner and a privileged process (priv, see
// overridesSticky) may (rename fails with EPERM), however writable dir is.
func replaceable(path string, dir, file fs.FileInfo, euid int, priv stickyPriv) error {
	owner, refused := cmdutil.StickyRefuses(dir, file, euid, priv)
	if !refused {
		return nil
	}
	if priv == privUnmapped {
		return cmdutil.UsageErrorf("--textfile %s belongs to a user that this process's user namespace does not map (it shows as uid %d), in %s, a directory with the sticky bit that this user (uid %d in the namespace) does not own: CAP_FOWNER in a user namespace (unshare -U, a rootless container) does not extend to the files of users outside it, so the rename that replaces the file after the pass would be refused; remove the file, or run sessgc outside the namespace as the file's owner", path, owner, filepath.Dir(path), euid)
	}
	return cmdutil.UsageErrorf("--textfile %s belongs to uid %d, in %s, a directory with the sticky bit that this user (uid %d) does not own: the rename that replaces the file after the pass would be refused; remove the file, or run sessgc as uid %d", path, owner, filepath.Dir(path), euid, owner)
}
