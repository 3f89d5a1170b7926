//go:build !linux

package fsstore

import "io/fs"

// processUmask is not known here without changing it (umask(2) changes it
// for every thread of the process): the modes asked for are judged alone.
func processUmask() (umask fs.FileMode, known bool) { return 0, false }

// hasDefaultACL: the umask is not judged here (processUmask), whatever a
// directory's ACLs.
func hasDefaultACL(string) bool { return false }
