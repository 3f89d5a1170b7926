package fsstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// powerLossGuestEnv, set in the guest, makes TestPowerLossUML the writer:
// it names the store directory on the guest's ext4 disk and the progress log
// on the host (through hostfs).
const powerLossGuestEnv = "SESSFS_POWERLOSS_GUEST"

const powerLossSessions = 64

// TestPowerLossUML cuts the power under a writer saving at each durability
// level, for real: the writer runs in a User-Mode-Linux guest on an ext4
// file system whose disk is an image file of the host, and the host kills
// the guest with SIGKILL while it saves. The guest's page cache
// (everything not yet written back to its disk) is lost as in a power loss;
// what its block layer had written is in the image. The host then mounts
// the image (the journal is replayed) and judges every session against the
// last Save that had returned in the guest: a record must load as a value
// its session was saved with, or be ErrCorrupt or ErrNotFound; never
// another session's data, never a value from the future. DurabilityFile
// leaves no damaged record, and DurabilityFull keeps the last value of
// every session. The sweep then removes whatever was left damaged, without
// counting it as foreign. The log line POWERLOSS| says what the power loss
// did.
func TestPowerLossUML(t *testing.T) {
	if g := os.Getenv(powerLossGuestEnv); g != "" {
		powerLossWriter(t, g)
		return
	}
	if err := nfstest.HarnessOff(); err != nil {
		// Guests are off, as for the NFS tests: a plain go test of the
		// package must not boot one (docs/testing.md).
		testenv.Skip(t, nfstest.EnvRequire, "boots a User-Mode-Linux guest: %v", err)
	}
	// Each run waits for the machine-wide guest lock, which the NFS
	// tests' guests hold for most of go test ./...: as a sequential test
	// it held up the package's tests after it, which then ran after the
	// last guest, the tail of CI's go test.
	t.Parallel()
	for _, d := range []fsstore.Durability{fsstore.DurabilityNone, fsstore.DurabilityFile, fsstore.DurabilityFull} {
		t.Run(d.String(), func(t *testing.T) { powerLossRun(t, d) })
	}
}

// TestPowerLossUMLHarnessOff: NFSTEST_HARNESS=/nonexistent, which
// docs/testing.md gives for a quick run without guests, skips
// TestPowerLossUML as it skips the NFS tests. It booted its guest
// regardless (it needs no harness script), and a plain go test of the
// package could then run into go test's default timeout on a loaded
// machine. Run in a child, the lock the guests take turns on set to a
// file that cannot be made: a run that goes on towards its guest fails
// there, before it boots one.
func TestPowerLossUMLHarnessOff(t *testing.T) {
	if os.Getenv(powerLossGuestEnv) != "" {
		t.Skip("the guest's writer")
	}
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case nfstest.EnvHarness, nfstest.EnvRequire, "NFSTEST_EARLY", "SESSFS_UML_LOCK", powerLossGuestEnv:
		default:
			env = append(env, kv)
		}
	}
	env = append(env, nfstest.EnvHarness+"=/nonexistent", "SESSFS_UML_LOCK="+filepath.Join(t.TempDir(), "missing", "uml.lock"), proctest.ChildGORACE())
	cmd := exec.Command(os.Args[0], "-test.run=^TestPowerLossUML$", "-test.v")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- SKIP: TestPowerLossUML ") || !strings.Contains(string(out), nfstest.EnvHarness+"=/nonexistent") {
		t.Fatalf("TestPowerLossUML with %s=/nonexistent: %v\n%s\nwant it skipped, saying why", nfstest.EnvHarness, err, out)
	}
}

func powerLossRun(t *testing.T, d fsstore.Durability) {
	if testing.Short() {
		t.Skip("boots a User-Mode-Linux guest")
	}
	uml, err := exec.LookPath("linux.uml")
	if err != nil {
		testenv.Skip(t, nfstest.EnvRequire, "linux.uml not found (apt-get install user-mode-linux)")
	}
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		testenv.Skip(t, testenv.Root, "mkfs.ext4 not found")
	}
	if os.Geteuid() != 0 {
		testenv.Skip(t, testenv.Root, "mounting the guest's disk image needs root")
	}
	// Guests take turns machine-wide, as the NFS harness's do.
	lockPath := os.Getenv("SESSFS_UML_LOCK")
	if lockPath == "" {
		lockPath = "/tmp/sessfs-uml.lock"
	}
	if lockPath != "off" {
		lf, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		defer lf.Close()
		if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
	}

	// The guest sees the host's files through hostfs: this directory, the
	// test binary and the progress log alike.
	dir := t.TempDir()
	img, guestMnt, hostMnt := filepath.Join(dir, "disk.img"), filepath.Join(dir, "guest"), filepath.Join(dir, "host")
	for _, d := range []string{guestMnt, hostMnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 256<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	self, err := nfstest.GuestBinary() // the race detector cannot run in the guest
	if err != nil {
		t.Fatal(err)
	}
	progress := filepath.Join(dir, "progress.log")
	init := filepath.Join(dir, "init.sh")
	script := fmt.Sprintf(`#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
mount -t tmpfs tmp /run
mount -t ext4 /dev/ubda %[1]s || { echo "POWERLOSS-MOUNT-FAILED"; exec sleep 1000; }
echo "POWERLOSS-MOUNTED"
%[2]s=%[1]s/store:%[3]s:%[5]d exec %[4]s -test.run '^TestPowerLossUML$' -test.v
`, guestMnt, powerLossGuestEnv, progress, self, d)
	if err := os.WriteFile(init, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	console, err := os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	// No legacy BSD ptys: the kernel made their 512 devices at boot, one at
	// a time, 1 s of a quiet machine's boot and 10 s of a loaded one's
	// (as in scripts/nfs-harness.sh).
	cmd := exec.Command(uml, "mem=256M", "umid=sessfs-pl"+strconv.Itoa(os.Getpid()), "uml_dir="+dir,
		"ubd0="+img, "root=/dev/root", "rootfstype=hostfs", "rootflags=/", "rw", "init="+init,
		"con=null", "con0=null,fd:1", "pty.legacy_count=0", "quiet")
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	}
	t.Cleanup(kill)

	// Let the writer get going, then cut the power at a random moment.
	deadline := time.Now().Add(2 * time.Minute)
	target := 3000 + rand.N(3000)
	if d != fsstore.DurabilityNone {
		target = 300 + rand.N(300) // a disk flush per save
	}
	for countLines(progress) < target {
		if time.Now().After(deadline) {
			kill()
			out, _ := os.ReadFile(console.Name())
			t.Fatalf("the guest's writer did not reach %d saves in 2 minutes (%d); console:\n%s", target, countLines(progress), out)
		}
		time.Sleep(20 * time.Millisecond) // polling a file another kernel writes
	}
	kill()

	last, err := readProgress(progress)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, hostMnt).CombinedOutput(); err != nil {
		t.Fatalf("mount the guest's disk: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", hostMnt).Run() })
	s := openDir(t, filepath.Join(hostMnt, "store"))
	ctx := context.Background()
	var kept, older, damaged, gone int
	for i := range powerLossSessions {
		id := powerLossID(i)
		want := last[id] // 0: no Save had returned
		sess, err := s.Load(ctx, id)
		switch {
		case errors.Is(err, fsstore.ErrCorrupt):
			damaged++
		case errors.Is(err, fsstore.ErrNotFound):
			gone++
		case err != nil:
			t.Errorf("session %d: Load: %v, want a value, ErrCorrupt or ErrNotFound", i, err)
		default:
			n, ok := parsePowerLossPayload(id, sess.Data)
			switch {
			case !ok:
				t.Errorf("session %d: Load returned data that is not this session's: %.60q", i, sess.Data)
			case n > want+1:
				// want+1: a Save that had completed but whose line the
				// writer had not yet logged.
				t.Errorf("session %d: value %d, but the last Save that returned wrote %d", i, n, want)
			case n >= want:
				kept++
			default:
				older++
			}
		}
	}
	t.Logf("POWERLOSS| %v: %d saves returned before the cut; of %d sessions: %d kept the last value, %d an older one, %d damaged (ErrCorrupt), %d gone",
		d, countLines(progress), powerLossSessions, kept, older, damaged, gone)
	switch {
	case d >= fsstore.DurabilityFull && kept != powerLossSessions:
		t.Errorf("%v lost saves that had returned: %d sessions kept the last value, %d an older one, %d damaged, %d gone", d, kept, older, damaged, gone)
	case d >= fsstore.DurabilityFile && damaged != 0:
		t.Errorf("%v left %d damaged records", d, damaged)
	}

	// What is left damaged goes with the sweep once it is old, and no
	// file of ours counts as foreign.
	old := time.Now().Add(-2 * s.IdleTimeout()).Add(-time.Hour)
	for i := range powerLossSessions {
		os.Chtimes(s.RecordPathForTest(powerLossID(i)), old, old)
	}
	sw, err := s.Sweep(ctx, fsstore.SweepOptions{TempAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if sw.Foreign != 0 || sw.Errors != 0 {
		t.Errorf("sweep after the power loss: %+v, want no foreign files and no errors", sw)
	}
	for i := range powerLossSessions {
		if _, err := s.Load(ctx, powerLossID(i)); !errors.Is(err, fsstore.ErrNotFound) {
			t.Errorf("session %d after the sweep: %v, want ErrNotFound", i, err)
		}
	}
}

func powerLossID(i int) string { return fmt.Sprintf("powerloss-session-%04d", i) }

// powerLossPayload is the session's ID, the value, and padding that makes
// records from 1 KiB to 16 KiB, so that writeback can catch a record
// partly written.
func powerLossPayload(id string, n int) []byte {
	head := fmt.Sprintf("%s n=%d ", id, n)
	size := 1<<10 + (n*7919)%(15<<10)
	return []byte(head + strings.Repeat("x", max(size-len(head), 0)))
}

func parsePowerLossPayload(id string, b []byte) (int, bool) {
	rest, ok := strings.CutPrefix(string(b), id+" n=")
	if !ok {
		return 0, false
	}
	num, pad, ok := strings.Cut(rest, " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || string(powerLossPayload(id, n)) != string(b) || strings.Trim(pad, "x") != "" {
		return 0, false
	}
	return n, true
}

// powerLossWriter runs in the guest: it saves the sessions round-robin at
// the durability level it is given and logs each Save once it returned, through hostfs,
// so the host knows what returned before the power went.
func powerLossWriter(t *testing.T, arg string) {
	dir, rest, _ := strings.Cut(arg, ":")
	logPath, level, _ := strings.Cut(rest, ":")
	d, err := strconv.Atoi(level)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.Durability(d)))
	if err != nil {
		t.Fatal(err)
	}
	lf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for k := 0; ; k++ {
		id := powerLossID(k % powerLossSessions)
		n := k/powerLossSessions + 1
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: powerLossPayload(id, n)}); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(lf, "%s %d\n", id, n); err != nil {
			t.Fatal(err)
		}
	}
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// readProgress returns the last value logged per session.
func readProgress(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	last := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, num, ok := strings.Cut(sc.Text(), " ")
		if n, err := strconv.Atoi(num); ok && err == nil {
			last[id] = n
		}
	}
	return last, sc.Err()
}
