//go:build unix

package lock

import "syscall"

// syscallNoFollow makes opens fail on a symlink planted in the lock directory.
const syscallNoFollow = syscall.O_NOFOLLOW

// syscallNonBlock keeps an open for reading from blocking on a FIFO.
const syscallNonBlock = syscall.O_NONBLOCK
