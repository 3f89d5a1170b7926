package main_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// hungMount mounts src with bindfs in the foreground and returns the mount
// point and a function that stops the bindfs process: from then on every
// call into the mount that reaches it (attributes are not cached) waits,
// as calls into a hard NFS mount whose server is unreachable do, until
// the test ends. It skips where bindfs cannot mount.
func hungMount(t *testing.T, src string) (mp string, hang func()) {
	t.Helper()
	return hungMountOpts(t, src, "attr_timeout=0,entry_timeout=0")
}

// hungMountOpts is hungMount with the FUSE mount options opts, such as
// timeouts under which the kernel answers some calls from its cache after
// hang, and the others wait.
func hungMountOpts(t *testing.T, src, opts string) (mp string, hang func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to mount FUSE filesystems")
	}
	bindfs, err := exec.LookPath("bindfs")
	if err != nil {
		testenv.Skip(t, testenv.Root, "bindfs not installed (apt-get install bindfs)")
	}
	mp = t.TempDir()
	cmd := exec.Command(bindfs, "-f", "-o", opts, src, mp)
	if err := cmd.Start(); err != nil {
		testenv.Skip(t, testenv.Root, "bindfs: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		exec.Command("umount", "-l", mp).Run()
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Mounted once the store's marker shows through it; the deadline only
	// guards against a hang.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(filepath.Join(mp, "store", fsstore.MarkerFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			testenv.Skip(t, testenv.Root, "bindfs %s did not mount (no /dev/fuse in this container?)", mp)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return mp, func() { cmd.Process.Signal(syscall.SIGSTOP) }
}

// TestRelativeDirInHungWorkingDirectory: a cron line `cd /mnt/efs &&
// sessgc run --dir store --max-duration ...` whose mount stops answering.
// The shell exports PWD, and Go's os.Getwd, which filepath.Abs calls for a
// relative path, then stats "." to check PWD: a call into the hung mount.
// sessgc made --dir absolute (for its summary and its metrics' label)
// outside its watchdog, before the pass and again after it, and blocked
// there, without end, instead of exiting 4 a grace after its budget.
func TestRelativeDirInHungWorkingDirectory(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no textfile", nil},
		{"textfile on local disk", []string{"--textfile", filepath.Join(t.TempDir(), "sessgc.prom")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp, hang := hungMount(t, storeInSubdir(t))
			args := append([]string{"run", "--dir", "store", "--json", "--max-duration", "1s"}, tc.args...)
			// The shell enters the mount while it answers, says so, and
			// waits for a line before it runs sessgc there.
			cmd := command(append([]string{"-c", `cd "$0" && echo entered && read x && exec "$@"`, mp, sessgcBin}, args...))
			cmd.Path, cmd.Args[0] = "/bin/sh", "sh"
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, stderr := startInGroup(t, cmd)
			waitLine(t, out, "entered")
			hang()
			stdin.Write([]byte("go\n"))
			last, ended := lastLine(out, time.Minute) // a hang detector only
			if !ended {
				t.Fatalf("sessgc %s did not exit a minute after it started with --max-duration 1s, in a working directory that does not answer; stderr:\n%s", strings.Join(args, " "), stderr.String())
			}
			code := exitCode(t, cmd.Wait())
			var sum jsonSummary
			if err := json.Unmarshal([]byte(last), &sum); err != nil || code != 4 || sum.StopReason != "unresponsive" {
				t.Errorf("exit %d, last line %q (%v); want exit 4 with a summary saying unresponsive; stderr:\n%s", code, last, err, stderr.String())
			}
		})
	}
}

// TestDirAboveHungMount: a --dir that is no store, whose subdirectory is
// a mount that does not answer (sessgc run --dir /mnt by mistake, with
// /mnt/efs hung). The refusal looks for a store in the subdirectories, to
// name it, and that look must not wait for the hung mount: sessgc exits 3
// at once, as it did before it looked.
func TestDirAboveHungMount(t *testing.T) {
	mp, hang := hungMount(t, storeInSubdir(t))
	hang()
	dir := filepath.Dir(mp) // holds mp, itself without a marker (its store is one level below)
	cmd := command([]string{"run", "--dir", dir})
	out, stderr := startInGroup(t, cmd)
	if _, ended := lastLine(out, time.Minute); !ended { // a hang detector only
		t.Fatalf("sessgc run --dir %s did not exit a minute after it started: it waits for the hung mount below; stderr:\n%s", dir, stderr.String())
	}
	if code := exitCode(t, cmd.Wait()); code != 3 || !strings.Contains(stderr.String(), "is not a sessfs store") {
		t.Errorf("exit %d, stderr %q; want 3 and not a sessfs store", code, stderr.String())
	}
}

// storeInSubdir returns a new directory holding an empty store in its
// subdirectory "store", to be mounted by hungMount.
func storeInSubdir(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	if err := os.Mkdir(filepath.Join(src, "store"), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(filepath.Join(src, "store"), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return src
}

// TestStartOnHungMount: what each command reads before its pass, from
// the store's mount too, must not wait for it past the budget. A cron line
// keeps the keys file and the textfile beside the store on the share
// (rekey --keys-file /mnt/efs/keys, run --textfile /mnt/efs/sessgc.prom),
// and a flag, a variable, a key set read, or a path checked before the
// watchdog starts would wait for a hung mount without end, and cron's
// runs pile up. Each ends within its budget and grace, the checks of the
// textfile's directory included (with 5 s more, FSCheckTimeout, for the
// textfile's write after the pass), exit 4.
func TestStartOnHungMount(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(mp string) []string
		env  func(mp string) []string
	}{
		{"stats", func(mp string) []string { return []string{"stats", "--dir", mp + "/store"} }, nil},
		{"rekey, keys file on the mount", func(mp string) []string {
			return []string{"rekey", "--dir", mp + "/store", "--keys-file", mp + "/keys"}
		}, nil},
		{"run by variables, textfile on the mount", func(string) []string { return []string{"run"} }, func(mp string) []string {
			return []string{"SESSGC_DIR=" + mp + "/store", "SESSGC_TEXTFILE=" + mp + "/sessgc.prom"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits out its budget on a mount of its own
			src := storeInSubdir(t)
			if err := os.WriteFile(filepath.Join(src, "keys"), []byte(newKey(t, 1).SecretLine()+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			mp, hang := hungMount(t, src)
			hang()
			args := append(tc.args(mp), "--max-duration", "1s")
			var env []string
			if tc.env != nil {
				env = tc.env(mp)
			}
			cmd := command(args, env...)
			out, stderr := startInGroup(t, cmd)
			if _, ended := lastLine(out, time.Minute); !ended { // a hang detector only
				t.Fatalf("sessgc %s did not exit a minute after it started with --max-duration 1s on a mount that does not answer; stderr:\n%s", strings.Join(args, " "), stderr.String())
			}
			if code := exitCode(t, cmd.Wait()); code != 4 || !strings.Contains(stderr.String(), "did not answer in time") {
				t.Errorf("exit %d, stderr %q; want 4, the file server not answering", code, stderr.String())
			}
		})
	}
}

// startInGroup starts cmd in a process group of its own, which the test
// kills at its end (sessgc, its worker, and a shell before them, any of
// which a hung mount may keep), and returns its stdout's lines and what
// it writes to stderr.
func startInGroup(t *testing.T, cmd *exec.Cmd) (<-chan string, *strings.Builder) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := lines(t, cmd)
	stderr := new(strings.Builder)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return out, stderr
}

// TestInstallCronOnHungMount: install-cron looks at --dir on this host
// (the store's owner against --user, a store not created yet), and a
// mount that does not answer held it there without end, its files never
// written. It writes them, and says what it could not check.
func TestInstallCronOnHungMount(t *testing.T) {
	mp, hang := hungMount(t, storeInSubdir(t))
	hang()
	dir := filepath.Join(mp, "store")
	installCronHung(t, []string{"--dir", dir, "--binary", sessgcBin}, "--dir on a mount that does not answer",
		"run --dir "+dir+" --missing-ok", "did not answer")
}

// TestInstallCronOnMountHungAfterFirstLook: a mount that answers
// install-cron's first look at --dir and none after it (here its first
// looks come from the kernel's cache, as a file server that stops in the
// middle gives them). Only the first look was bounded: install-cron then
// waited without end in a later one (whether --dir holds a store yet), its
// files never written. Every look is bounded together: it writes them,
// with the same warning.
func TestInstallCronOnMountHungAfterFirstLook(t *testing.T) {
	src := storeInSubdir(t)
	if err := os.Mkdir(filepath.Join(src, "fresh"), 0o755); err != nil {
		t.Fatal(err)
	}
	mp, hang := hungMountOpts(t, src, "attr_timeout=3600,entry_timeout=3600,negative_timeout=3600")
	dir := filepath.Join(mp, "fresh")
	// Cached: --dir itself and its marker's absence.
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, fsstore.MarkerFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("marker of a fresh directory: %v; want none", err)
	}
	hang()
	installCronHung(t, []string{"--dir", dir, "--binary", sessgcBin}, "--dir on a mount that answers only from the kernel's cache",
		"run --dir "+dir+" --missing-ok", "did not answer")
}

// TestInstallCronBinaryOnHungMount: a --binary kept on the share (one
// sessgc for every host, /mnt/efs/bin/sessgc) whose mount does not
// answer. install-cron looks at it only to warn, and waited for it
// without end, its files never written. It writes them, and says it could
// not check --binary.
func TestInstallCronBinaryOnHungMount(t *testing.T) {
	src := storeInSubdir(t)
	bin, err := os.ReadFile(sessgcBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sessgc"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	mp, hang := hungMount(t, src)
	hang()
	binary := filepath.Join(mp, "sessgc")
	installCronHung(t, []string{"--dir", t.TempDir(), "--binary", binary}, "--binary on a mount that does not answer",
		binary+" run --dir", "--binary "+binary+" did not answer")
}

// installCronHung runs sessgc install-cron with flags (and --user root
// --missing-ok) on a mount that does not answer (where: what hangs), and
// wants it to exit 0 within a minute (a hang detector only), its last
// line the cron line (holding cronLine) and a warning on stderr (holding
// warning).
func installCronHung(t *testing.T, flags []string, where, cronLine, warning string) {
	t.Helper()
	args := append(append([]string{"install-cron"}, flags...), "--user", "root", "--missing-ok")
	cmd := command(args)
	out, stderr := startInGroup(t, cmd)
	last, ended := lastLine(out, time.Minute)
	if !ended {
		t.Fatalf("sessgc %s did not exit a minute after it started, with %s; stderr:\n%s", strings.Join(args, " "), where, stderr.String())
	}
	if code := exitCode(t, cmd.Wait()); code != 0 || !strings.Contains(last, cronLine) || !strings.Contains(stderr.String(), warning) {
		t.Errorf("exit %d, last line %q, stderr %q; want 0, the cron line, and a warning saying %q", code, last, stderr.String(), warning)
	}
}
