//go:build unix

package lock

import "syscall"

// syscallNoFollow makes opens fail on a symlink planted in the lock directory.
const syscallNoFollow = syscall.O_NOFOLLOW
