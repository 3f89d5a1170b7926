//go:build unix

// Package fdlimit reads the process's limit on open descriptors, which the
// lock table and the store's directory walks size themselves by.
package fdlimit

import "golang.org/x/sys/unix"

// Soft returns the process's soft limit on open descriptors
// (RLIMIT_NOFILE), or 1<<30 when it cannot be read or is larger. Go raises
// the soft limit to the hard one at start-up, so it is small only under a
// small hard limit (a container's, a cron or systemd job's LimitNOFILE, a
// `ulimit -n`).
func Soft() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 30
	}
	return int(rl.Cur)
}
