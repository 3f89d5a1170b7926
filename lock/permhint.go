package lock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sessfs/sessfs/internal/ownerhint"
	"github.com/sessfs/sessfs/internal/shellquote"
)

// permissionHint returns err, a refused open of path (a lock file, a
// lease, the strategy file, or a new file in the lock directory), with
// what to do about it: most often another user made the file (an app
// server or sessgc run once as root, whose files are mode 0600 or 0644),
// and the bare EACCES named neither that user nor the fix. Errors that are
// not a refusal are returned as they are. The hint is an ownerhint.Error,
// so that a caller that gives its own advice (fsstore) does not say it
// twice.
func permissionHint(path string, err error) error {
	return permissionHintAs(os.Geteuid(), path, err)
}

// changesDirectory reports a refusal of a removal or a rename, which the
// directory's owner and mode decide.
func changesDirectory(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	return errors.As(err, &pe) && pe.Op == "remove" || errors.As(err, &le)
}

// permissionHintAs is permissionHint for a process whose effective user ID
// is euid (-1 where there are none).
func permissionHintAs(euid int, path string, err error) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	if hint := ownerhint.NotPermitted(path, err); hint != "" {
		// EPERM: no owner or mode refuses it, root included.
		return ownerhint.Wrap(err, hint)
	}
	dir := filepath.Dir(path)
	who := ownerhint.Who(euid)
	if euid == 0 {
		// Root bypasses file modes: refused, it is mapped to another
		// user by the file server (NFS's root_squash, the default).
		// Or, on a local file system, the process lacks
		// CAP_DAC_OVERRIDE (a container that drops capabilities).
		return ownerhint.Wrap(err, fmt.Sprintf(": %s is refused although root: the file server maps root to another user (NFS root_squash, the default), or the process lacks CAP_DAC_OVERRIDE (a container that drops capabilities); run it as the user that owns %s, as every app server and sessgc must", who, dir))
	}
	what, name := "the file", path
	uid, mode, ok := fileOwner(path)
	if ok && changesDirectory(err) {
		// A removal, or a rename over the file, writes the directory:
		// the file's owner and mode play no part (the directory's sticky
		// bit aside, an EPERM, hinted above). Judged by the file's, a
		// lease file this user owns in a directory root made was said to
		// be refused "from elsewhere".
		ok = false
	}
	if !ok {
		// Not there: the directory refused the file's creation; or
		// the directory refused a change of its entries.
		what, name = "the lock directory", dir
		uid, mode, ok = fileOwner(dir)
	}
	if !ok {
		// Neither the file's owner nor the directory's could be told
		// (a directory above refuses a stat too): say so, and give the
		// likeliest cause as such.
		return ownerhint.Wrap(err, fmt.Sprintf(": %s may not use %s: its owner could not be told; most often another user made the lock directory or a file in it (an app server or sessgc run once as root); give the lock directory and everything in it to the user every app server and sessgc run as (chown -R USER %s), and run them all as that user", who, path, shellquote.Quote(dir)))
	}
	// A file is read and written, a directory searched and written.
	need := fs.FileMode(0o600)
	if mode.IsDir() {
		need = 0o300
	}
	if uid == uint32(euid) && mode.Perm()&need == need {
		// Its own, and the mode lets it: what refuses it is not in
		// the mode (the file server's ID mapping, such as an EFS
		// access point or NFS all_squash, an ACL, a security
		// module), or the file changed after the refusal.
		return ownerhint.Wrap(err, fmt.Sprintf(": %s may not use %s %s, which it owns and whose mode %04o lets it: the refusal comes from elsewhere (the file server mapping this user to another, as an EFS access point or NFS all_squash does; an ACL; SELinux or AppArmor), or the file changed since", who, what, name, uint32(mode.Perm())))
	}
	if uid == uint32(euid) {
		// Its own file: the mode refuses it (a chmod, a umask).
		return ownerhint.Wrap(err, fmt.Sprintf(": %s may not use %s %s, which it owns but whose mode %04o refuses it: give the lock directory and everything in it back to the user every app server and sessgc run as, with modes that let it read and write them (chmod -R u+rwX %s)", who, what, name, uint32(mode.Perm()), shellquote.Quote(dir)))
	}
	whose := fmt.Sprintf(", which is uid %d's (mode %04o)", uid, uint32(mode.Perm()))
	if uid == 0 {
		whose = fmt.Sprintf(", which is root's (mode %04o)", uint32(mode.Perm()))
	}
	return ownerhint.Wrap(err, fmt.Sprintf(": %s may not use %s %s%s: another user made it (an app server or sessgc run once as root, or as another user); give the lock directory and everything in it to the user every app server and sessgc run as (chown -R USER %s), and run them all as that user", who, what, name, whose, shellquote.Quote(dir)))
}
