package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// statxRefusedEnv selects the child of TestStatxRefused and
// TestOpenat2Refused: its value is the system call a seccomp filter turns
// away and the errno it answers, "statx:1".
const statxRefusedEnv = "SESSFS_STATX_REFUSED"

// TestStatxRefusedHelper is not a test: it is the body of
// TestStatxRefused's and TestOpenat2Refused's child, which turns a system
// call away with a seccomp filter before it opens the store.
func TestStatxRefusedHelper(t *testing.T) {
	proctest.Main(t, statxRefusedEnv, runStatxRefused)
}

// refusedSyscalls are the system calls the children of TestStatxRefused
// and TestOpenat2Refused turn away, by the name in their role.
var refusedSyscalls = map[string]uintptr{"statx": unix.SYS_STATX, "openat2": unix.SYS_OPENAT2}

// runRefused runs the child that turns call away with errno, failing the
// test unless the child works through it; it skips where no seccomp
// filter can be installed, and fails there under SESSFS_REQUIRE_SECCOMP=1
// (CI), where it skipped.
func runRefused(t *testing.T, call string, errno syscall.Errno) {
	dir := t.TempDir()
	kid := proctest.Start(t, "TestStatxRefusedHelper", statxRefusedEnv, fmt.Sprintf("%s:%d", call, errno), []string{"STORE_DIR=" + dir})
	if msg := kid.Expect(t, "filter "); strings.HasPrefix(msg, "filter refused: ") {
		kid.Wait()
		testenv.Skip(t, testenv.Seccomp, "cannot install a seccomp filter here: %s", strings.TrimPrefix(msg, "filter refused: "))
	}
	if err := kid.Wait(); err != nil {
		t.Fatalf("child: %v; stderr:\n%s", err, kid.Stderr)
	}
}

// A container runtime whose seccomp profile predates statx (Docker's
// default before 18.04, older runc and gVisor) answers it EPERM, a kernel
// before 4.11 ENOSYS; systemd's SystemCallFilter= answers what
// SystemCallErrorNumber= says (EACCES here), and a filter may even answer
// 0, success with nothing filled in. The store then works as it does
// where there is no statx: every operation, the sweep and Stats, Health,
// with fstatat, no error counted and no record lost. The child installs a
// real filter (seccomp(2), all threads), so every statx the module makes,
// wherever, gets the answer.
func TestStatxRefused(t *testing.T) {
	if s := openDir(t, t.TempDir()); s.StatxRefusedForTest() || !s.FetchesFreshForTest() {
		t.Fatalf("without a filter: statx refused %v, fetches fresh %v; want false, true", s.StatxRefusedForTest(), s.FetchesFreshForTest())
	}
	for _, errno := range []syscall.Errno{unix.EPERM, unix.ENOSYS, unix.EACCES, 0} {
		name := unix.ErrnoName(errno)
		if errno == 0 {
			name = "success"
		}
		t.Run(name, func(t *testing.T) { runRefused(t, "statx", errno) })
	}
}

// openat2(2) (Linux 5.6) resolves a path below the store's directory in
// one call; a kernel without it answers ENOSYS, and a seccomp profile or
// systemd's SystemCallFilter= that does not list it whatever errno it
// was given (docker's answers EPERM, SystemCallErrorNumber= anything:
// EACCES, ENOENT). The store then resolves one directory at a time, as
// it does elsewhere: Open finds that out once, so that a refusal is not
// taken for the file's answer (every open of the store failing with
// EACCES, or a record reported missing).
func TestOpenat2Refused(t *testing.T) {
	if s := openDir(t, t.TempDir()); s.Openat2RefusedForTest() {
		t.Fatal("without a filter: openat2 refused")
	}
	for _, errno := range []syscall.Errno{unix.EPERM, unix.ENOSYS, unix.EACCES, unix.ENOENT} {
		t.Run(unix.ErrnoName(errno), func(t *testing.T) { runRefused(t, "openat2", errno) })
	}
}

func runStatxRefused(role string) error {
	call, errnoArg, _ := strings.Cut(role, ":")
	nr, ok := refusedSyscalls[call]
	if !ok {
		return fmt.Errorf("no system call %q to refuse", call)
	}
	n, err := strconv.Atoi(errnoArg)
	if err != nil {
		return err
	}
	errno := syscall.Errno(n)
	if err := refuseSyscall(nr, errno); err != nil {
		say("filter refused: %v", err)
		return nil
	}
	say("filter installed")
	if call == "openat2" {
		return runOpenat2Refused(errno)
	}
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, ".", 0, unix.STATX_BASIC_STATS, &stx); errno == 0 && (err != nil || stx.Mask != 0) || errno != 0 && err != errno {
		return fmt.Errorf("statx under the filter: %v (mask %#x), want %v", err, stx.Mask, errno)
	}

	ctx := context.Background()
	dir := os.Getenv("STORE_DIR")
	s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(10*time.Minute), fsstore.WithCache(16, 1<<20))
	if err != nil {
		return fmt.Errorf("Open: %w", err)
	}
	defer s.Close()
	// Failures that leave the store usable are collected, so that one run
	// shows each.
	var failed []error
	// Decided once, at Open: no statx per entry after, and nothing taken
	// for the server's answer that the attribute cache may have given.
	s.SetNFSForTest()
	if !s.StatxRefusedForTest() || s.FetchesFreshForTest() || s.LooksCachedFirstForTest() {
		failed = append(failed, fmt.Errorf("statx refused %v, fetches fresh %v, looks cached first %v: want true, false, false",
			s.StatxRefusedForTest(), s.FetchesFreshForTest(), s.LooksCachedFirstForTest()))
	}
	return storeWorks(ctx, s, failed)
}

// runOpenat2Refused is the child of TestOpenat2Refused, openat2 answered
// errno: the store works, and every session saved is where it was saved.
func runOpenat2Refused(errno syscall.Errno) error {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC}
	if _, err := unix.Openat2(unix.AT_FDCWD, ".", &how); err != errno {
		return fmt.Errorf("openat2 under the filter: %v, want %v", err, errno)
	}
	ctx := context.Background()
	dir := os.Getenv("STORE_DIR")
	s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(10*time.Minute))
	if err != nil {
		return fmt.Errorf("Open: %w", err)
	}
	defer s.Close()
	var failed []error
	if !s.Openat2RefusedForTest() {
		failed = append(failed, errors.New("openat2 not found refused at Open"))
	}
	return storeWorks(ctx, s, failed)
}

// storeWorks checks that s, a store a child of TestStatxRefused opened
// with a system call refused, works: Health; four sessions saved and each
// loaded twice (the second from the cache, if s has one and its identity
// check works); one saved under its lock; two dated past their life, which
// Stats counts and the sweep removes, and nothing else. It returns
// failed and its own failures, joined; at once, one that leaves nothing
// further to check.
func storeWorks(ctx context.Context, s *fsstore.Store, failed []error) error {
	if err := s.Health(ctx); err != nil {
		failed = append(failed, fmt.Errorf("Health: %w", err))
	}
	var ids []string
	for i := 0; i < 4; i++ {
		id, err := fsstore.NewID()
		if err != nil {
			return err
		}
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(id[:4])}); err != nil {
			return fmt.Errorf("Save: %w", err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		for range 2 { // the second from the cache, if its identity check works
			sess, err := s.Load(ctx, id)
			if err != nil {
				return fmt.Errorf("Load: %w", err)
			}
			if string(sess.Data) != id[:4] {
				return fmt.Errorf("Load %s: %q", id[:6], sess.Data)
			}
		}
	}
	l, err := s.Lock(ctx, ids[0], fsstore.Exclusive)
	if err != nil {
		return fmt.Errorf("Lock: %w", err)
	}
	if _, err := l.Load(ctx); err != nil {
		return fmt.Errorf("Locked.Load: %w", err)
	}
	if err := l.Save(ctx, &fsstore.Session{ID: ids[0], Data: []byte(ids[0][:4])}); err != nil {
		return fmt.Errorf("Locked.Save: %w", err)
	}
	if err := l.Unlock(); err != nil {
		return err
	}
	// Two expired records, two live.
	long := time.Now().Add(-time.Hour)
	for _, id := range ids[2:] {
		if err := os.Chtimes(s.RecordPathForTest(id), long, long); err != nil {
			return err
		}
	}
	st, err := s.Stats(ctx, fsstore.StatsOptions{Grace: time.Nanosecond})
	if err != nil {
		failed = append(failed, fmt.Errorf("Stats: %w", err))
	} else if st.Live != 2 || st.Expired != 2 {
		failed = append(failed, fmt.Errorf("Stats: Live %d Expired %d, want 2 and 2", st.Live, st.Expired))
	}
	sw, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
	if err != nil {
		return fmt.Errorf("Sweep: %w", err)
	}
	if sw.Errors != 0 || sw.Sessions != 2 || sw.Live != 2 {
		failed = append(failed, fmt.Errorf("Sweep: Sessions %d, Live %d, Errors %d, want 2, 2, 0", sw.Sessions, sw.Live, sw.Errors))
	}
	for i, id := range ids {
		_, err := os.Lstat(s.RecordPathForTest(id))
		if gone := errors.Is(err, os.ErrNotExist); gone != (i >= 2) {
			failed = append(failed, fmt.Errorf("after the sweep, record %d: %v", i, err))
		}
	}
	return errors.Join(failed...)
}

// refuseSyscall installs, on every thread of the process, a seccomp
// filter that answers the system call nr with errno and lets every other
// call through: what a container runtime's profile that does not list it
// does. A compat-ABI call with its number would be refused too; this
// binary makes none.
func refuseSyscall(nr uintptr, errno syscall.Errno) error {
	runtime.LockOSThread() // no_new_privs and the filter go on this thread first
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_NO_NEW_PRIVS: %w", err)
	}
	const nrOff = 0 // seccomp_data.nr
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: nrOff},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: uint32(nr)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(errno)&unix.SECCOMP_RET_DATA},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
