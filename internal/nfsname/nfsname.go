// Package nfsname recognizes the names an NFS client gives a file that is
// removed while a process on its host still has it open (a "silly
// rename"): the client renames it to .nfsXXXX in the same directory,
// keeps it for as long as the file is open, and removes it itself when
// the file is closed. Such a name in a directory says nothing of whose the
// directory is, and is not to be removed by anyone else. fsstore, which
// creates its store in a directory holding only these, and sessgc, which
// takes such a directory for an empty one and names such files when it
// leaves them alone, must agree on what they are.
package nfsname

import "strings"

// IsLeftover reports whether name, a file's name without its directory,
// is an NFS client's name for a file removed while still open. Every
// client starts it with ".nfs" (Linux ".nfs" and 24 hex digits, the BSDs
// and macOS ".nfs." and a counter, Solaris ".nfs" and letters), and no
// other name is taken for one, whatever follows.
func IsLeftover(name string) bool { return strings.HasPrefix(name, ".nfs") }
