//go:build unix && !linux

package fsstore

import "os"

// fownerOver reports whether this process's privilege lets it remove
// another user's file from another user's sticky directory: root's.
func fownerOver(uid, gid uint32) bool { return os.Geteuid() == 0 }
