//go:build unix

package fsstore

import "golang.org/x/sys/unix"

// fdLimit returns the process's soft limit on open descriptors
// (RLIMIT_NOFILE), or a huge number when it cannot be read. Go raises the
// soft limit to the hard one at start-up, so it is small only under a
// small hard limit (a container's, a cron or systemd job's LimitNOFILE).
func fdLimit() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 30
	}
	return int(rl.Cur)
}
