//go:build !unix

package lock

import "io/fs"

// fileOwner: no user IDs here (Windows), so a hint names no owner.
func fileOwner(string) (uid uint32, mode fs.FileMode, ok bool) { return 0, 0, false }
