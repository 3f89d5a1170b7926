package fsstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sessfs/sessfs/internal/shellquote"
)

// checkGroupAccess refuses a process that would create, in a store its
// group shares, files or directories the group's other users cannot use.
//
// A store is shared by a group, which this process is in, when its marker
// is group-writable, its data directory the group's to enter and write,
// and its top directory the group's to enter, and shared with other users
// when one of them owns the marker or the data directory: only a process opened
// WithPermissions with such modes, under a umask that lets them through,
// makes them so (markerMode), and sessgc takes the modes of what it
// creates from those two. A host of another user of the group
// whose modes or umask differ (a deploy that missed one host) made
// records, shard directories and lock files that were its own user's
// alone: the other users' hosts failed every session that hashed there,
// with a permission error that sent operators to chown the store; and its
// first raise of the max idle rewrote the marker with its own modes, after
// which they could not open the store at all. So it is refused before it
// writes anything, naming the store's modes and its own
// (TestGroupStoreRefusesHostWithoutGroupAccess).
//
// The umask is judged where the system says what it is without changing
// it (Linux: processUmask), and where it applies (not below a default
// ACL); elsewhere the modes asked for alone. A store
// opened WithReadOnly creates nothing and is not judged.
func checkGroupAccess(dir string, top fs.FileMode, c *config) error {
	if c.readOnly || runtime.GOOS == "windows" || top.Perm()&0o010 == 0 {
		// A store whose top directory the group cannot enter is no
		// group's, whatever the modes inside it.
		return nil
	}
	marker := filepath.Join(dir, MarkerFile)
	mi, err := os.Stat(marker)
	if err != nil || mi.Mode().Perm()&0o020 == 0 || !inGroupOf(mi) {
		// Not shared, or not with this process's groups (it reaches
		// the store as its owner or as others), or not to be judged:
		// reading the marker just worked, so a failure here is left to
		// the steps that follow.
		return nil
	}
	data := filepath.Join(dir, DataDir)
	di, err := os.Stat(data)
	if errors.Is(err, fs.ErrNotExist) {
		data = dir // emptied: the next save makes it like this
		di, err = os.Stat(data)
	}
	if err != nil || di.Mode().Perm()&0o070 != 0o070 {
		// Group-writable files in directories the group cannot enter
		// or write: not shared, whatever the marker's mode says.
		return nil
	}
	if !ownedByOther(mi, di) {
		// Made by this user alone: modes that let the group in are no
		// sign that another user's hosts use the store. Kubernetes'
		// fsGroup makes a pod's volume so, and a one-user store made
		// with the shared recipe looks the same; refusing its hosts for
		// the default modes broke what worked
		// (TestOneUsersGroupLookingStoreOpens).
		return nil
	}
	umask, known := processUmask()
	if known && hasDefaultACL(data) {
		// The kernel applies a directory's default ACL in place of the
		// umask to what is created in it (and its directories inherit
		// it): a group shared through setfacl -d is not left out by a
		// umask of 0022.
		umask = 0
	}
	file, dirMode := c.fileMode&^umask, c.dirMode&^umask
	if file&0o060 == 0o060 && dirMode&0o070 == 0o070 {
		return nil
	}
	setgid := fs.FileMode(0)
	if c.dirSetgid {
		setgid = 0o2000
	}
	own := fmt.Sprintf("WithPermissions(0o%o, 0o%o)", uint32(c.fileMode), uint32(c.dirMode|setgid))
	if known && umask&0o070 != 0 {
		own += fmt.Sprintf(" and umask %04o", uint32(umask))
	}
	// The advice is the store's own modes, as its marker and data
	// directory have them (sessgc takes its modes from the same two).
	storeDir := di.Mode().Perm()
	keep := 0o777 &^ (mi.Mode().Perm() | storeDir) // the umask that lets both through
	if di.Mode()&fs.ModeSetgid != 0 {
		storeDir |= 0o2000
	}
	return fmt.Errorf("fsstore: open %s: %w: the store is shared with its group (%s is mode %04o, group-writable), but this process would create records mode %04o and directories mode %04o (%s), which the group's other users could not use: their hosts would fail on the sessions, shard directories and lock files this one makes, and on the whole store once it rewrote %s with its own mode; give this process the modes of the store's other processes: fsstore.WithPermissions(0o%o, 0o%o) and a umask that lets them through, %04o (UMask=%04o in a systemd unit, umask %04o in a container's entrypoint)",
		dir, ErrLayoutMismatch, marker, uint32(mi.Mode().Perm()), uint32(file), uint32(dirMode), own, MarkerFile, uint32(mi.Mode().Perm()), uint32(storeDir), uint32(keep), uint32(keep), uint32(keep))
}

// createModesWarning says, for a store just created in dir (top, as
// Stat found it) that the group may enter, when the process's umask took away the
// group bits WithPermissions asked for. Made so under the guide's
// shared-group recipe with a umask of 0022 left on the first host, the
// store had .sessfs 0640 and data/ 2750, which checkGroupAccess does not
// judge (no other user has used it yet); the hosts of the group's other
// users then failed at Open, on a store that looked set up as told, and
// nothing had said why (TestGroupStoreCreatedUnderNarrowingUmaskWarns). A
// warning, not a refusal: a one-user store asked for with such modes works
// whatever the umask, and its hosts opened it before. "" for none. The
// umask is judged as checkGroupAccess judges it.
func createModesWarning(dir string, top fs.FileInfo, c *config) string {
	asked := (c.fileMode | c.dirMode) & 0o070
	if asked == 0 || runtime.GOOS == "windows" || top.Mode().Perm()&0o010 == 0 {
		return ""
	}
	umask, known := processUmask()
	if !known || umask&asked == 0 || hasDefaultACL(dir) {
		return ""
	}
	setgid := fs.FileMode(0)
	if c.dirSetgid {
		setgid = 0o2000
	}
	// The directories made inherit the bit from dir, not from the mode
	// asked for (mkdir(2) on Linux applies neither).
	made := fs.FileMode(0)
	if top.Mode()&fs.ModeSetgid != 0 {
		made = 0o2000
	}
	keep := 0o777 &^ (c.fileMode | c.dirMode).Perm() // the umask that lets both through
	return fmt.Sprintf("store created with modes its group cannot share: WithPermissions(0o%o, 0o%o) asks for the group's access, but this process's umask %04o takes it away (records mode %04o, directories mode %04o), so the hosts of the group's other users, if any, would fail to open the store; give every app process a umask of %04o (UMask=%04o in a systemd unit), then make the store the group's: %s",
		uint32(c.fileMode), uint32(c.dirMode|setgid), uint32(umask), uint32(c.fileMode&^umask), uint32((c.dirMode&^umask)|made), uint32(keep), uint32(keep), shareCommand(dir, top, asked))
}

// shareCommand is the shell command that gives the group of dir (top, as
// Stat found it) the access asked for (group bits of the modes asked
// for) to everything in the store.
func shareCommand(dir string, top fs.FileInfo, asked fs.FileMode) string {
	q := shellquote.Quote(dir)
	// What was asked for: a group that may only read is not given write.
	bits := "g+rX"
	if asked&0o020 != 0 {
		bits = "g+rwX"
	}
	share := "chmod -R " + bits + " " + q
	if _, gid, ok := fileIDs(top); ok && top.Mode()&fs.ModeSetgid == 0 {
		// Without dir's setgid bit, what each host makes is its user's
		// primary group's: g+rwX alone would not make it the group's,
		// nor keep what is made later so.
		share = fmt.Sprintf("chgrp -R %d %s && %s && find %s -type d -exec chmod g+s {} +", gid, q, share, q)
	}
	return share
}

// openModesWarning says, for an existing store in dir (top, as Stat found
// it) that the group may enter, when the store lacks the group access
// this process's WithPermissions asks for: a store created under a umask
// that took it away (createModesWarning) stays so, and its owner's later
// Opens said nothing, while the hosts of the group's other users failed
// at Open (TestGroupStoreNarrowModesWarnOnOpen). It judges what the group
// needs to reach any session, cheaply: the marker, data/ and locks/, not
// every record. A warning, as createModesWarning's, with its advice. ""
// for none, and for a store opened WithReadOnly, which creates nothing.
func openModesWarning(dir string, top fs.FileInfo, c *config) string {
	asked := (c.fileMode | c.dirMode) & 0o070
	if asked == 0 || c.readOnly || runtime.GOOS == "windows" || top.Mode().Perm()&0o010 == 0 || hasDefaultACL(dir) {
		return ""
	}
	var narrow []string
	for _, f := range []struct {
		name string
		want fs.FileMode // the group bits asked for
	}{
		{MarkerFile, c.fileMode & 0o070},
		{DataDir, c.dirMode & 0o070},
		{LockDir, c.dirMode & 0o070},
	} {
		fi, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			continue // judged by the steps that read it
		}
		if m := fi.Mode(); m.Perm()&f.want != f.want {
			narrow = append(narrow, fmt.Sprintf("%s is mode %04o", f.name, uint32(m.Perm())|modeBits(m)))
		}
	}
	if len(narrow) == 0 {
		return ""
	}
	setgid := fs.FileMode(0)
	if c.dirSetgid {
		setgid = 0o2000
	}
	why := ""
	if umask, known := processUmask(); known && umask&asked != 0 {
		why = fmt.Sprintf(", and this process's umask %04o takes it away from what it creates", uint32(umask))
	}
	keep := 0o777 &^ (c.fileMode | c.dirMode).Perm() // the umask that lets both through
	return fmt.Sprintf("store has modes its group cannot share: WithPermissions(0o%o, 0o%o) asks for the group's access, but %s%s, so the hosts of the group's other users, if any, would fail to open the store; give every app process a umask of %04o (UMask=%04o in a systemd unit), then make the store the group's: %s",
		uint32(c.fileMode), uint32(c.dirMode|setgid), strings.Join(narrow, ", "), why, uint32(keep), uint32(keep), shareCommand(dir, top, asked))
}

// oneUserInGroupDirHint is ownerHint's advice to a process of the group
// that shares dir (top, its mode: the group may enter and write it) when
// the store in it is another user's alone: its marker (or, without one,
// its data directory) refuses the group. The hint for a root-owned
// directory, to chown the store to one user, would lock out the user
// whose store it is, or, followed by that user, this one; the store was
// made by a host without the group's modes (TestGroupDirectoryOneUsersStoreHint).
// "" where that is not the case.
func oneUserInGroupDirHint(dir string, top fs.FileInfo, who string) string {
	if top.Mode().Perm()&0o070 != 0o070 || !inGroupOf(top) {
		return ""
	}
	_, gid, ok := fileIDs(top)
	if !ok {
		return ""
	}
	name, groupBits := filepath.Join(dir, MarkerFile), fs.FileMode(0o060)
	fi, err := os.Lstat(name)
	if err != nil {
		name, groupBits = filepath.Join(dir, DataDir), 0o070
		if fi, err = os.Lstat(name); err != nil {
			return ""
		}
	}
	uid, _, ok := fileIDs(fi)
	if !ok {
		return ""
	}
	if fi.Mode().Perm()&groupBits == groupBits {
		return groupStoreHint(dir, top, gid, who)
	}
	if uid == os.Geteuid() {
		return ""
	}
	dirMode := top.Mode().Perm()
	setgid := fs.FileMode(0)
	if top.Mode()&fs.ModeSetgid != 0 {
		setgid = 0o2000
	}
	// The guide's modes for a group's store, not the directory's: its
	// world bits would make the sessions world-readable (a directory
	// made 2775), and without its setgid bit each host's records and
	// directories would be its user's primary group's, not the one the
	// chgrp names.
	q := shellquote.Quote(dir)
	share := fmt.Sprintf("chgrp -R %d %s && chmod -R g+rwX %s", gid, q, q)
	if setgid == 0 {
		share += fmt.Sprintf(" && find %s -type d -exec chmod g+s {} +", q)
	}
	return fmt.Sprintf(": %s may not read and write the store, in a directory its group shares (mode %04o): the store is uid %d's alone (%s is mode %04o), made by a host without the group's modes; to share it with the group, make what is in it the group's, as root or uid %d (%s), and give every app process fsstore.WithPermissions(0o660, 0o2770) and a umask of 0007; to keep it one user's, run every app server and sessgc as uid %d",
		who, uint32(dirMode|setgid), uid, name, uint32(fi.Mode().Perm()), uid, share, uid)
}

// groupStoreHint is oneUserInGroupDirHint's advice where the store is the
// group's (its marker, or its data directory, lets the group in) and yet
// refuses this process of the group: something in it, a shard directory
// or a record, is one user's alone, made by a host without the group's
// modes (a umask of 0022, which Open does not judge on a host of the user
// whose store it is) or by a process run as root. The hint for a
// root-owned directory, to chown the store to one user, would lock out
// the group's other users (TestGroupStoreShardOneUsersHint).
func groupStoreHint(dir string, top fs.FileInfo, gid int, who string) string {
	q := shellquote.Quote(dir)
	share := fmt.Sprintf("chgrp -R %d %s && chmod -R g+rwX %s", gid, q, q)
	if top.Mode()&fs.ModeSetgid == 0 {
		share += fmt.Sprintf(" && find %s -type d -exec chmod g+s {} +", q)
	}
	return fmt.Sprintf(": %s may not read and write something in the store, which its group shares: it is one user's alone, made by a host without the group's modes (a umask of 0022) or by a process run as root; make the store the group's again, as root (%s), and give every app process fsstore.WithPermissions(0o660, 0o2770) and a umask of 0007",
		who, share)
}
