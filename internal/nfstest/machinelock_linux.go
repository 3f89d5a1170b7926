package nfstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxLockNesting bounds how many ancestors' locks lockMachine steps past
// (see lockMachine); more than one nested `flock` is already unusual.
const maxLockNesting = 4

// lockMachine takes the machine-wide guest lock at path, waiting until ctx
// is done; waiting, if not nil, is told once who holds it. It returns the
// file actually locked and a release function.
//
// Guests are serialized so that no two of them share the 2 cores: `go test
// ./...` runs several packages' test binaries at once, and each may boot a
// guest, which made timing-sensitive scenarios flaky.
//
// The lock is flock(2) on path, the lock the flock(1) command takes, so runs
// started by hand under `flock path go test ...` and runs started by go
// test serialize together. Such a run must not wait for its own outer
// flock, which would never be released: when the holder of path is an
// ancestor of this process, the lock is already ours, and lockMachine takes
// path.1 instead (then path.2, ...), which still serializes the test
// binaries that one `flock path go test ./...` runs side by side.
func lockMachine(ctx context.Context, path string, waiting func(holder string)) (locked string, release func(), err error) {
	start := time.Now()
	p := path
	for level := 0; level <= maxLockNesting; level++ {
		if level > 0 {
			p = path + "." + strconv.Itoa(level)
		}
		f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE, 0o666)
		if err != nil {
			return "", nil, fmt.Errorf("nfstest: machine-wide guest lock: %w", err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return p, func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return "", nil, fmt.Errorf("nfstest: machine-wide guest lock: flock %s: %w", p, err)
		}
		holders := lockHolders(p)
		if ancestorHolds(holders) {
			f.Close()
			continue // an outer flock of this very run: nest one level down
		}
		if waiting != nil {
			waiting(describeHolders(holders))
		}
		if err := waitFlock(ctx, f); err != nil {
			return "", nil, fmt.Errorf("%w: %s is held by %s; waited %v (%w)",
				ErrLockTimeout, p, describeHolders(lockHolders(p)), time.Since(start).Round(time.Millisecond), err)
		}
		return p, func() { f.Close() }, nil
	}
	return "", nil, fmt.Errorf("nfstest: machine-wide guest lock: %s and %d nested locks are all held by ancestors of this process", path, maxLockNesting)
}

// waitFlock blocks in flock(2) until f is locked or ctx ends. Waiting in
// the kernel rather than polling matters: a waiter blocked there (flock(1)
// run by hand, another test binary) is woken the moment the lock is free
// and beats any poller to it, so a poller could wait until its test's
// deadline while others took turns. If ctx ends first, the blocked call
// is left to finish in its goroutine, which then releases the lock at once
// by closing f.
func waitFlock(ctx context.Context, f *os.File) error {
	got := make(chan error, 1)
	go func() {
		for {
			err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
			if err != unix.EINTR {
				got <- err
				return
			}
		}
	}()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return fmt.Errorf("flock: %w", err)
		}
		return nil
	case <-ctx.Done():
		go func() {
			<-got
			f.Close()
		}()
		return ctx.Err()
	}
}

// lockHolders returns the pids that hold a flock on path, from /proc/locks
// (which names files by device and inode).
func lockHolders(path string) []int {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	lf, err := os.Open("/proc/locks")
	if err != nil {
		return nil
	}
	defer lf.Close()
	var pids []int
	sc := bufio.NewScanner(lf)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 15358 fe:00:9999487 0 EOF"; waiters
		// have "->" after the number and are not holders.
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[1] != "FLOCK" || fs[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(fs[4]); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ancestorHolds reports whether one of pids is an ancestor of this process.
func ancestorHolds(pids []int) bool {
	if len(pids) == 0 {
		return false
	}
	for pid := os.Getppid(); pid > 1; pid = parentOf(pid) {
		for _, h := range pids {
			if h == pid {
				return true
			}
		}
	}
	return false
}

// parentOf returns pid's parent from /proc/PID/stat, or 0.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fs := strings.Fields(s[i+1:])
	if len(fs) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fs[1])
	return ppid
}

// describeHolders names the holders for an error message: pid and command
// line, so that whoever reads a lock timeout knows what to wait for or kill.
func describeHolders(pids []int) string {
	if len(pids) == 0 {
		return "an unknown process (none listed in /proc/locks: another pid namespace?)"
	}
	var parts []string
	for _, pid := range pids {
		cmd := "exited"
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil {
			cmd = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
			if len(cmd) > 200 {
				cmd = cmd[:200] + "..."
			}
		}
		parts = append(parts, fmt.Sprintf("pid %d (%s)", pid, cmd))
	}
	return strings.Join(parts, ", ")
}
