package nfstest

import (
	"errors"
	"os"
)

// EnvLock names the machine-wide lock file that serializes guest runs (see
// [Run]): a path, or "off" when the caller serializes guests by other means.
// Default "/tmp/sessfs-uml.lock", the file developers lock by hand:
//
//	flock /tmp/sessfs-uml.lock go test -run NFS ./fsstore/
const EnvLock = "SESSFS_UML_LOCK"

// DefaultLockPath is the machine-wide lock file used when EnvLock is unset.
// A fixed path rather than one under $TMPDIR, so that every process on the
// machine, whatever its environment, agrees on it.
const DefaultLockPath = "/tmp/sessfs-uml.lock"

// ErrLockTimeout is returned (wrapped, with the holder named) when the
// machine-wide guest lock is not free before the deadline.
var ErrLockTimeout = errors.New("nfstest: machine-wide UML guest lock still held at the deadline")

// lockPath returns the lock file to use, or "" when locking is off.
func lockPath() string {
	switch p := os.Getenv(EnvLock); p {
	case "":
		return DefaultLockPath
	case "off":
		return ""
	default:
		return p
	}
}
