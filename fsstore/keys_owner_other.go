//go:build !unix

package fsstore

import "io/fs"

// keysModeChecked: the mode Go's os package shows here is 0666, or 0444
// for a read-only file, whoever may read it: Windows decides that by the
// file's ACL. Checked, every keys file was refused as readable by group
// or others. Restrict it with icacls instead.
const keysModeChecked = false

// ownedByRoot: no root to own a file here.
func ownedByRoot(fs.FileInfo) bool { return false }

// ownedByEuid: no user IDs to compare owners by here.
func ownedByEuid(fs.FileInfo) bool { return false }

// checkKeysPath checks nothing here: Windows decides who may replace a
// file by its ACL and its directory's, which a file's mode bits (all
// Go's os package shows) do not describe, and has no user IDs to compare
// owners by. Restrict the keys file's directory with icacls instead.
func checkKeysPath(string, fs.FileInfo) error { return nil }
