//go:build linux

package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// envFlockErrno, with envAsSessgc, makes this test binary's sessgc fail
// every flock(2) with the errno it names, as a mount whose flock does not
// work does (NFSv3 without a lock manager: ENOLCK; a filesystem that
// implements no locks: EOPNOTSUPP).
const envFlockErrno = "SESSFS_TEST_FLOCK_ERRNO"

// envNoFaccessat2, with envAsSessgc, makes this test binary's sessgc
// fail every faccessat2(2) with ENOSYS, as a kernel before 5.8 does.
const envNoFaccessat2 = "SESSFS_TEST_NO_FACCESSAT2"

func init() {
	if os.Getenv(envAsSessgc) == "" {
		return
	}
	nr, errno := uintptr(unix.SYS_FLOCK), syscall.Errno(0)
	switch {
	case os.Getenv(envFlockErrno) != "":
		errno = map[string]syscall.Errno{"ENOLCK": unix.ENOLCK, "EOPNOTSUPP": unix.EOPNOTSUPP, "ENOSYS": unix.ENOSYS}[os.Getenv(envFlockErrno)]
		if errno == 0 {
			panic("unknown " + envFlockErrno)
		}
	case os.Getenv(envNoFaccessat2) != "":
		nr, errno = unix.SYS_FACCESSAT2, unix.ENOSYS
	default:
		return
	}
	if err := failSyscall(nr, errno); err != nil {
		// Where no seccomp filter can be installed (a kernel without
		// it, a sandbox that refuses it), the test skips, or fails
		// under SESSFS_REQUIRE_SECCOMP=1 (CI).
		fmt.Fprintf(os.Stderr, "%s%v\n", seccompRefused, err)
		os.Exit(seccompRefusedExit)
	}
}

// seccompRefused begins the line, and seccompRefusedExit is the exit
// code, of a child that could not install its filter.
const (
	seccompRefused     = "seccomp filter refused: "
	seccompRefusedExit = 77
)

// failSyscall makes every call of the system call nr of the process
// fail with errno, by a seccomp filter on all of its threads.
func failSyscall(nr uintptr, errno syscall.Errno) error {
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: uint32(nr)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(errno)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return e
	}
	return nil
}

// TestFleetLockWhereFlockFails: on a mount where flock(2) does not work
// at all (NFSv3 without a lock manager answers ENOLCK, a filesystem
// without locks EOPNOTSUPP), the store locks with leases, and so does the
// fleet lock; sessgc took the fleet flock first, and failed every pass
// with exit 3 on its error. It sweeps, with the fleet lease alone, and
// still skips while another host holds that lease.
func TestFleetLockWhereFlockFails(t *testing.T) {
	for _, errno := range []string{"ENOLCK", "EOPNOTSUPP", "ENOSYS"} {
		t.Run(errno, func(t *testing.T) {
			st := newStore(t, fsstore.WithLockStrategy(lock.Lease))
			st.save(3)
			run := func() (result, jsonSummary) {
				t.Helper()
				exe, err := os.Executable()
				if err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(exe, "--dir", st.dir, "--json")
				for _, e := range os.Environ() {
					if !strings.HasPrefix(e, "SESSGC_") {
						cmd.Env = append(cmd.Env, e)
					}
				}
				cmd.Env = append(cmd.Env, envAsSessgc+"=1", envFlockErrno+"="+errno)
				r := runCmd(t, cmd)
				if r.code == seccompRefusedExit && strings.HasPrefix(r.stderr, seccompRefused) {
					testenv.Skip(t, testenv.Seccomp, "cannot install a seccomp filter here: %s", strings.TrimSpace(strings.TrimPrefix(r.stderr, seccompRefused)))
				}
				_, s := summary(t, r)
				return r, s
			}
			h, err := st.s.TryLockFleet("sessgc")
			if err != nil {
				t.Fatal(err)
			}
			if r, s := run(); r.code != 0 || !s.Skipped || s.SkipReason != "fleet-lock-held" {
				t.Errorf("while another host holds the fleet lease: exit %d, skipped %v (%q); stderr %q", r.code, s.Skipped, s.SkipReason, r.stderr)
			}
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			if r, s := run(); r.code != 0 || s.Skipped || s.Scanned < 3 {
				t.Errorf("flock failing with %s: exit %d, skipped %v, scanned %d; stderr %q", errno, r.code, s.Skipped, s.Scanned, r.stderr)
			}
			if _, err := os.Lstat(filepath.Join(st.dir, fsstore.LockDir, "sessgc.lease")); !os.IsNotExist(err) {
				t.Errorf("lease file after the pass: %v, want none", err)
			}
		})
	}
}
