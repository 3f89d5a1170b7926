//go:build unix

package lock

import "golang.org/x/sys/unix"

// fdLimit returns the process's soft limit on open descriptors
// (RLIMIT_NOFILE), read when a Table is created. Go raises the soft limit
// to the hard one at start-up, so this is usually generous; under a small
// `ulimit -n` it keeps lock descriptors to a fraction of it.
func fdLimit() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 30
	}
	return int(rl.Cur)
}
