//go:build !unix

package fsstore

import "io/fs"

// inGroupOf has no POSIX groups to tell here: no store is judged a
// group's (see checkGroupAccess).
func inGroupOf(fs.FileInfo) bool { return false }

// ownedByOther has no POSIX owners to tell here (see inGroupOf).
func ownedByOther(...fs.FileInfo) bool { return false }

// fileIDs has no POSIX owners to tell here (see inGroupOf).
func fileIDs(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }
