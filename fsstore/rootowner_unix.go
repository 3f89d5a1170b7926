//go:build unix

package fsstore

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkRootOwner refuses a process running as root that would create
// root's files in a store another user owns (its marker's owner, or the
// directory's for a store not made yet): the shard directories, records
// and lock files it made there would be root's and mode 0600 or 0700, so
// the owner's app servers could save no session in those shards and read
// none of those records. sessgc refuses the same for its writing
// commands. Where the file server maps root to the store's user (an EFS
// access point, NFS's all_squash or anonuid), root's files are that
// user's and nothing is refused; where it maps root to another (NFS's
// root_squash), root could not read or write the store anyway.
//
// A read-only or maintenance store creates nothing a session needs. A
// group's store (a group-writable marker, or directory for a new store)
// is not refused where root creates what the group can use (groupModes):
// its files get the group from the setgid directories, and the modes.
// Root is in none of the app's groups as a rule, so checkGroupAccess does
// not judge it: with the default modes its shard directories there were
// root's 0700, and the group's users could not enter them.
func checkRootOwner(dir string, top fs.FileInfo, c *config) error {
	if os.Geteuid() != 0 || c.readOnly || c.maintenanceOnly {
		return nil
	}
	ref := top
	if mi, err := os.Stat(filepath.Join(dir, MarkerFile)); err == nil {
		ref = mi
	}
	owner, ok := fileOwner(ref)
	if !ok || owner == 0 || ref.Mode().Perm()&0o020 != 0 && groupModes(dir, c) {
		return nil
	}
	// Whose root's files are here, the file server decides: a file made
	// and removed at once tells.
	probe := filepath.Join(dir, tempPrefix+"owner-"+randHex(8))
	f, err := os.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil // the steps that follow report what fails here
	}
	fi, err := f.Stat()
	f.Close()
	os.Remove(probe)
	if err != nil {
		return nil
	}
	mine, ok := fileOwner(fi)
	if !ok || mine == owner {
		return nil
	}
	// Under root_squash or all_squash to another uid, root's files are
	// that uid's: say whose they are.
	whose := "root's"
	if mine != 0 {
		whose = fmt.Sprintf("uid %d's (the file server maps root to it)", mine)
	}
	return fmt.Errorf("fsstore: open %s: this process runs as root, whose files here are %s, but the store is uid %d's: the shard directories, records and lock files it made would be %s, and that user's app servers could not save or read the sessions in them; run the application as uid %d, as every app server and sessgc must (in a container: docker run --user %d, or Kubernetes' securityContext.runAsUser) (%w)", dir, whose, owner, whose, owner, owner, fs.ErrPermission)
}

// groupModes reports whether the records and directories this process
// creates in dir are the group's to read and write, as a group's store
// needs: the modes it asks for, less the umask where the kernel applies
// it (not below a default ACL), as checkGroupAccess judges them.
func groupModes(dir string, c *config) bool {
	umask, known := processUmask()
	if known && (hasDefaultACL(filepath.Join(dir, DataDir)) || hasDefaultACL(dir)) {
		umask = 0
	}
	return c.fileMode&^umask&0o060 == 0o060 && c.dirMode&^umask&0o070 == 0o070
}
