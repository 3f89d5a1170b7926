//go:build unix

package main_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// envLowFD makes the re-executed test binary (child role "lowfd") lower
// its descriptor limit, soft and hard, to this value and exec sessgc with
// its own arguments (the binary: envBin). The hard limit too: the Go runtime raises the
// soft limit to the hard one at start-up.
const envLowFD = "SESSFS_TEST_SESSGC_NOFILE"

// execLowFD is the "lowfd" role.
func execLowFD() int {
	n, err := strconv.Atoi(os.Getenv(envLowFD))
	if err != nil {
		os.Stderr.WriteString("lowfd: " + err.Error() + "\n")
		return 2
	}
	var rl syscall.Rlimit
	setRlim(&rl.Cur, n)
	setRlim(&rl.Max, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		os.Stderr.WriteString("lowfd: " + err.Error() + "\n")
		return 2
	}
	bin := os.Getenv(envBin)
	err = syscall.Exec(bin, append([]string{bin}, os.Args[1:]...), os.Environ())
	os.Stderr.WriteString("lowfd: exec: " + err.Error() + "\n")
	return 2
}

// setRlim sets a field of syscall.Rlimit, uint64 on Linux and macOS,
// int64 on FreeBSD.
func setRlim[T ~int64 | ~uint64](field *T, n int) { *field = T(n) }

// TestSweepUnderLowDescriptorLimit runs a sweep with --concurrency 64
// under a `ulimit -n` of 16 to 30, as a container or a cron environment
// may impose. Each worker holds descriptors (its shard directory, the
// files it judges), so 64 of them ran out: one EMFILE error per shard,
// exit 1, and expired sessions left behind. The sweep must fit its
// concurrency to the descriptors it has, say so once, and sweep
// everything.
func TestSweepUnderLowDescriptorLimit(t *testing.T) {
	for _, limit := range []int{16, 20, 30} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			st := newStore(t)
			ids := st.save(300)
			st.expire(ids...)
			args := []string{"run", "--dir", st.dir, "--concurrency", "64", "--json"}
			cmd := command(args, "SESSFS_TEST_SESSGC_ROLE=lowfd", envLowFD+"="+strconv.Itoa(limit), envBin+"="+sessgcBin)
			// This test binary, which lowers the limit and execs sessgc.
			cmd.Path, cmd.Args[0] = os.Args[0], os.Args[0]
			r := runCmd(t, cmd)
			if r.code != 0 {
				t.Fatalf("sessgc under ulimit -n %d exited %d, want 0\nstderr: %s", limit, r.code, r.stderr)
			}
			if _, s := summary(t, r); s.Sessions != int64(len(ids)) {
				t.Errorf("removed %d sessions of %d", s.Sessions, len(ids))
			}
			if n := strings.Count(r.stderr, "open-file limit"); n != 1 {
				t.Errorf("stderr names the open-file limit %d times, want once:\n%s", n, r.stderr)
			}
		})
	}
}
