package nfstest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables.
const (
	// EnvRequire, set to 1, turns every skip for a missing harness into a
	// test failure. CI sets it.
	EnvRequire = "SESSFS_REQUIRE_NFS"
	// EnvHarness overrides the path of scripts/nfs-harness.sh.
	EnvHarness = "NFSTEST_HARNESS"
	// EnvGuestReport names a file to which every Run appends one line:
	// the test, how long its guest held the machine-wide lock and the
	// harness's exit code (see reportGuest). The guests take turns on
	// the machine, so their sum is the floor of a test run's wall time;
	// CI prints the file to show where it goes.
	EnvGuestReport = "SESSFS_NFS_GUEST_REPORT"
	// EnvSubtestReport names a file to which every Run appends, for each
	// subtest the hosts ran that has none of its own, how long it took
	// (the longest of the hosts'; see reportSubtests): the scenarios
	// that share a guest, where its time goes. CI prints the longest.
	EnvSubtestReport = "SESSFS_NFS_SUBTEST_REPORT"
)

// Config describes the guest that Run boots.
type Config struct {
	// Hosts is the number of client hosts, named hostA, hostB, ...
	// Default: enough for the roles passed to Run, at least 1. Max 26.
	Hosts int
	// Delay is the netem delay on each end of every host's link, e.g.
	// "500us" or "1ms": a one-way latency of Delay and an RTT of 2*Delay.
	// Default "": no added delay.
	Delay string
	// Delegations lets the server grant NFSv4 delegations. Default false,
	// as on AWS EFS, which never grants them.
	Delegations bool
	// Timeout bounds the guest run from when its hosts' commands could
	// start: its go, or its hosts' mounts when those came later (see
	// bootGuest). Default 5 minutes;
	// Run shortens it when the test's own deadline (go test -timeout) is
	// nearer, so that a hung guest is reported with its diagnostics rather
	// than by the testing package's panic.
	Timeout time.Duration
	// Lease is the server's NFSv4 lease and grace time, whole seconds,
	// at least 5 s. Default 10 s (nfsd and EFS use 90 s), so that lease-loss
	// tests take seconds. In the guest, [Lease] reports it.
	Lease time.Duration
	// MountOptions replaces the options every host mounts the export
	// with. Default "": the harness's (EFSMountOptions, unless
	// NFS_MOUNT_OPTS in the environment names others).
	MountOptions string
	// Squash is the export's user mapping, in place of no_root_squash
	// (every client user is itself on the server, root too):
	// AccessPointSquash(uid, gid) for an EFS access point, or
	// "root_squash" for EFS without one where IAM denies root (root is
	// nobody, uid 65534). Default "": no_root_squash. In the guest,
	// [Squash] reports it.
	Squash string
	// Squashed adds a second export beside the first, a file system of
	// its own with this user mapping (as Squash takes it: e.g.
	// AccessPointSquash for an EFS access point), which every host
	// mounts at [SquashedMount] too. A scenario that needs such an export
	// (TestNFSSessgc/AccessPoint) then runs in a guest booted for others,
	// on the first export, rather than in a boot of its own, which CI's
	// guests, taking turns, wait for. Default "": no second
	// export. In the guest, [Squashed] reports it.
	Squashed string
}

// NoRootSquash is the export's user mapping when Config.Squash is "".
const NoRootSquash = "no_root_squash"

// AccessPointSquash is the Config.Squash of an EFS access point whose
// POSIX user is uid:gid: the server makes every client user uid:gid, root
// too, as nfsd's all_squash with anonuid and anongid does; and the
// export's top directory is uid:gid's, mode 0755, as the access point's
// root directory is.
func AccessPointSquash(uid, gid int) string {
	return fmt.Sprintf("all_squash,anonuid=%d,anongid=%d", uid, gid)
}

func (c Config) squash() string {
	if c.Squash == "" {
		return NoRootSquash
	}
	return c.Squash
}

// Squash reports the export's user mapping in the guest (Config.Squash,
// or NoRootSquash), and "" outside it.
func Squash() string { return os.Getenv("NFS_SQUASH") }

// Squashed reports the second export's user mapping in the guest
// (Config.Squashed), and "" outside it or when the guest has none.
func Squashed() string { return os.Getenv("NFS_SQUASHED") }

// SquashedMount returns this host's mount point of the second export
// (Config.Squashed), or "" outside the harness or when the guest has none.
func SquashedMount() string { return os.Getenv("NFS_SQUASHED_MNT") }

// EFSMountOptions are the harness's default mount options, those AWS
// recommends for EFS.
const EFSMountOptions = "vers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport"

// DefaultLease is the harness's lease and grace time when Config.Lease is 0.
const DefaultLease = 10 * time.Second

func (c Config) lease() time.Duration {
	if c.Lease <= 0 {
		return DefaultLease
	}
	return c.Lease
}

func (c Config) hosts(roles map[string]func(*testing.T)) int {
	n := c.Hosts
	for h := range roles {
		if i := hostIndex(h); i > n {
			n = i
		}
	}
	return max(n, 1)
}

// hostIndex returns 1 for "hostA", 2 for "hostB", ..., 0 for anything else.
func hostIndex(h string) int {
	if len(h) == 5 && strings.HasPrefix(h, "host") && h[4] >= 'A' && h[4] <= 'Z' {
		return int(h[4]-'A') + 1
	}
	return 0
}

// HostName returns the name of the i'th host (1-based): "hostA" for 1.
func HostName(i int) string { return "host" + string(rune('A'+i-1)) }

// InGuest reports whether this process runs as one of the harness's hosts,
// that is, whether NFS_HOST and NFS_MNT are set.
func InGuest() bool { return os.Getenv("NFS_HOST") != "" && os.Getenv("NFS_MNT") != "" }

// Host returns this host's name (hostA, ...; "server" under
// nfs-harness.sh --server-local), or "" outside the harness.
func Host() string { return os.Getenv("NFS_HOST") }

// Hosts returns the number of hosts the harness runs, or 0 outside it.
func Hosts() int { n, _ := strconv.Atoi(os.Getenv("NFS_HOSTS")); return n }

// Mount returns this host's mount point of the shared export, or "" outside
// the harness.
func Mount() string { return os.Getenv("NFS_MNT") }

// ExportPath returns the path, on the server, of p, a path under this
// host's mount (Mount): the exported directory itself, which every host's
// process can reach in the guest. A file written there goes past every
// client: no RPC, no client's cache, at the cost of a local write in the
// guest rather than several round trips. A test that needs many files on
// the export, and measures what a client does with them rather than how
// they were written, writes them there. It fails outside the harness or
// for a path not under Mount.
func ExportPath(p string) (string, error) {
	exp, mnt := os.Getenv("NFS_EXPORT"), Mount()
	if exp == "" || mnt == "" {
		return "", fmt.Errorf("nfstest: ExportPath(%s): not in the harness's guest (NFS_EXPORT, NFS_MNT unset)", p)
	}
	rel, err := filepath.Rel(mnt, p)
	if err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("nfstest: ExportPath(%s): not under this host's mount %s", p, mnt)
	}
	return filepath.Join(exp, rel), nil
}

// Lease returns the server's NFSv4 lease time in the harness (NFS_LEASE),
// or DefaultLease outside it. Tests that wait for a lease to expire derive
// their cuts and bounds from it rather than from fixed numbers.
func Lease() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("NFS_LEASE")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return DefaultLease
}

// Available reports why NFS tests cannot run here, or nil if they can: in
// the harness's guest they always can; elsewhere Run needs Linux, root, the
// UML and NFS tools, and scripts/nfs-harness.sh.
func Available() error {
	if InGuest() {
		return nil
	}
	if runtime.GOOS != "linux" {
		return fmt.Errorf("nfstest: needs Linux (have %s)", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New("nfstest: needs root to boot the UML NFS guest")
	}
	const install = "apt-get install -y --no-install-recommends user-mode-linux nfs-kernel-server kmod iproute2; .ci/run installs them"
	for _, c := range []string{"linux.uml", "rpc.nfsd", "rpc.mountd", "rpcbind", "exportfs", "insmod", "tc", "ip", "unshare"} {
		if _, err := lookPath(c); err != nil {
			return fmt.Errorf("nfstest: %s not installed (%s)", c, install)
		}
	}
	if m, _ := filepath.Glob("/usr/lib/uml/modules/*/kernel/fs/nfsd/nfsd.ko"); len(m) == 0 {
		return fmt.Errorf("nfstest: no UML nfsd module in /usr/lib/uml/modules (%s)", install)
	}
	if _, err := harnessPath(); err != nil {
		return err
	}
	return nil
}

// lookPath is exec.LookPath that also searches the sbin directories, which
// a non-login root shell may lack from PATH.
func lookPath(c string) (string, error) {
	if p, err := exec.LookPath(c); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, c)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// HarnessOff reports, as an error that says so, a $NFSTEST_HARNESS that
// names no file (docs/testing.md: NFSTEST_HARNESS=/nonexistent): the way
// to skip every test that boots a User-Mode-Linux guest, those that boot
// one of their own without the harness (fsstore's TestPowerLossUML) as
// well as the NFS tests. Such a test skips on it, or fails with
// SESSFS_REQUIRE_NFS=1, as Require does.
func HarnessOff() error {
	p := os.Getenv(EnvHarness)
	if p == "" {
		return nil
	}
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("nfstest: %s=%s: %v", EnvHarness, p, err)
	}
	return nil
}

// harnessPath finds scripts/nfs-harness.sh: $NFSTEST_HARNESS, else in a
// parent of the working directory (go test runs in the package directory),
// else relative to this source file.
func harnessPath() (string, error) {
	if p := os.Getenv(EnvHarness); p != "" {
		if err := HarnessOff(); err != nil {
			return "", err
		}
		return p, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, d := range starts {
		for ; ; d = filepath.Dir(d) {
			p := filepath.Join(d, "scripts", "nfs-harness.sh")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return "", fmt.Errorf("nfstest: scripts/nfs-harness.sh not found above the working directory; set %s", EnvHarness)
}

// Require skips the test when Available reports an error, or fails it when
// SESSFS_REQUIRE_NFS=1.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%v (and %s=1 forbids skipping)", err, EnvRequire)
		}
		t.Skip(err)
	}
}

// Run runs roles[h] on host h, for every host that has a role, all at once
// against one shared export, in a fresh guest configured by cfg. Keys of
// roles are host names: "hostA", "hostB", ... Hosts without a role only
// mount the export. Run returns when every host is done; it fails t (with
// that host's output) for each host whose role failed.
//
// Run must be called from the top-level test function itself or from
// subtests with unique names (it re-runs the test binary with -test.run
// selecting t.Name()), and the test must call Run the same way when
// re-executed in the guest. Code before Run runs on the parent and on every
// host; put host work in roles. A top-level test whose guest Start booted
// and which is reached before that guest has ended is made parallel (see
// Start).
func Run(t *testing.T, cfg Config, roles map[string]func(t *testing.T)) {
	t.Helper()
	n := cfg.hosts(roles)
	for h := range roles {
		if hostIndex(h) == 0 {
			t.Fatalf("nfstest: role key %q is not a host name (hostA, hostB, ...)", h)
		}
	}
	if n > 26 {
		t.Fatalf("nfstest: %d hosts; at most 26", n)
	}
	if InGuest() {
		runRole(t, cfg, n, roles)
		return
	}
	Require(t)
	if l := cfg.lease(); l < 5*time.Second || l%time.Second != 0 {
		t.Fatalf("nfstest: Config.Lease %v: want whole seconds, at least 5 s", l)
	}
	g := takeStarted(t.Name(), cfg, n, func() {
		// Its guest still runs: the package's other tests run first,
		// beside it, rather than after it (see Start).
		if !strings.Contains(t.Name(), "/") {
			t.Parallel()
		}
	})
	if g != nil {
		// Start booted it while the tests before this one ran.
		t.Cleanup(func() { os.RemoveAll(g.state) })
		for _, l := range g.logs {
			t.Log(l)
		}
	} else {
		deadline, hasDeadline := t.Deadline()
		g = bootGuest(t.Name(), cfg, n, t.TempDir(), deadline, hasDeadline, nil, func(format string, args ...any) {
			t.Helper()
			t.Logf(format, args...)
		})
	}
	if g.err != nil {
		t.Fatal(g.err)
	}
	state, code := g.state, g.code
	if code == 125 {
		t.Fatalf("nfstest: harness failed to set up the guest:\n%s%s", g.out.String(), diagnose(state, nil))
	}
	names := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		names = append(names, HostName(i))
	}
	failed := false
	for _, h := range names {
		hout, _ := os.ReadFile(filepath.Join(state, h+".out"))
		rcb, rerr := os.ReadFile(filepath.Join(state, h+".rc"))
		rc, perr := strconv.Atoi(strings.TrimSpace(string(rcb)))
		switch {
		case rerr != nil || perr != nil:
			failed = true
			t.Errorf("nfstest: %s: no exit code (harness exit %d; timeout %v?)\n%s", h, code, g.timeout, indent(hout))
		case rc != 0:
			failed = true
			t.Errorf("nfstest: %s failed (exit %d):\n%s", h, rc, indent(hout))
		case testing.Verbose() && roles[h] != nil:
			t.Logf("nfstest: %s passed:\n%s", h, indent(hout))
		}
	}
	reportSubtests(state, names, t.Logf)
	if code != 0 && !failed {
		failed = true
		t.Errorf("nfstest: harness exited %d:\n%s", code, g.out.String())
	}
	if failed {
		t.Logf("nfstest: diagnostics of the failed guest run (state dir %s):%s", state, diagnose(state, names))
	}
}

// guestRun is one run of the harness as seen from the host: where its
// results are, how it ended, and what to tell the test.
type guestRun struct {
	state   string        // the harness's state dir
	out     bytes.Buffer  // the harness's own output
	code    int           // its exit code
	timeout time.Duration // the guest's timeout, as the test deadline left it
	err     error         // the run could not be made; the test fails with it
	logs    []string      // what a Start run would have logged (see bootGuest)
}

// bootGuest runs the test called name on n hosts of a guest configured by
// cfg, the harness's results going to state, and returns how it went.
//
// The guest boots ahead of its turn: bootGuest takes the line for the
// machine-wide lock (lockLine: one guest boots ahead at a time), starts
// the harness, which boots the guest and mounts the hosts while another
// guest runs, then waits for the lock itself (lockGuests) and gives the
// go. Booting and mounting took 13-40 s of every guest's turn, and the
// guests of go test ./... run one after another. Each wait lasts until the
// test binary's deadline (when hasDeadline). locked, if not nil, is called
// once the lock is taken or the run has failed before. logf is told what a
// test would log on the way.
func bootGuest(name string, cfg Config, n int, state string, deadline time.Time, hasDeadline bool, locked func(), logf func(format string, args ...any)) *guestRun {
	var lockedOnce sync.Once
	turn := func() {
		if locked != nil {
			lockedOnce.Do(locked)
		}
	}
	defer turn()
	g := &guestRun{state: state}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	script, err := harnessPath()
	if err != nil {
		g.err = err
		return g
	}
	// Built before taking the machine-wide lock: building needs no guest.
	exe, err := guestBinary()
	if err != nil {
		g.err = fmt.Errorf("nfstest: test binary: %v", err)
		return g
	}
	for _, p := range []string{exe, state} {
		if hiddenInGuest(p) {
			g.err = fmt.Errorf("nfstest: %s is hidden inside the guest (its /run and /var/lib/nfs are private); use a build/temp dir elsewhere, e.g. under /tmp", p)
			return g
		}
	}
	asked := time.Now()
	leave, line, err := lockLine(deadline, hasDeadline, state, logf)
	if err != nil {
		g.err = err
		return g
	}
	defer leave()
	// How long the guest may wait for its go: until the deadline.
	waitGo := 6 * time.Hour
	if hasDeadline {
		waitGo = max(time.Until(deadline)-lockMargin, 30*time.Second)
	}
	secs := int(cfg.Timeout / time.Second)
	args := []string{script, "-q", "-n", strconv.Itoa(n), "-s", state, "-t", strconv.Itoa(max(secs, 30)),
		"--wait-go", strconv.Itoa(int(waitGo / time.Second)),
		"--lease", strconv.Itoa(int(cfg.lease() / time.Second))}
	if cfg.Delay != "" {
		args = append(args, "-d", cfg.Delay)
	}
	if cfg.Squash != "" {
		args = append(args, "--squash", cfg.Squash)
	}
	if cfg.Squashed != "" {
		args = append(args, "--squashed", cfg.Squashed)
	}
	if cfg.Delegations {
		args = append(args, "--delegations")
	} else {
		args = append(args, "--no-delegations")
	}
	args = append(args, "--", exe, "-test.run", guestRunPattern(name, flagValue("test.run")), "-test.v",
		"-test.timeout", guestTestTimeout(cfg.Timeout).String())
	if skip := flagValue("test.skip"); skip != "" {
		// The guest's tests have the parent's names: the same pattern
		// skips the same subtests.
		args = append(args, "-test.skip", skip)
	}
	cmd := exec.Command("bash", args...)
	cmd.Env = harnessEnv(os.Environ(), cfg)
	cmd.Stdout, cmd.Stderr = &g.out, &g.out
	booted := time.Now()
	if err := cmd.Start(); err != nil {
		g.err = fmt.Errorf("nfstest: running %s: %v", script, err)
		return g
	}
	exited := make(chan struct{})
	var werr error
	go func() {
		werr = cmd.Wait()
		close(exited)
	}()
	// The harness clears its state dir's results first: the go, and the
	// timeline's lines, come after.
waitStarted:
	for !exists(filepath.Join(state, "guest.started")) {
		select {
		case <-exited:
			break waitStarted
		case <-time.After(startPoll): // a file the harness writes: no event to wait on
		}
	}
	if line != "" {
		timeline(state, "parent", fmt.Sprintf("took the line %s after %v", line, time.Since(asked).Round(time.Millisecond)))
	}
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		select {
		case <-exited:
			stop()
		case <-ctx.Done():
		}
	}()
	release, err := lockGuests(ctx, deadline, hasDeadline, &cfg, state, logf)
	stop()
	var start time.Time
	var elapsed time.Duration // how long the guest held the lock
	select {
	case <-exited: // the harness gave up by itself (setup failed): report that
		if err == nil {
			release()
		}
	default:
		if err != nil {
			writeGo(state, "cancel")
			<-exited
			g.err = err
			return g
		}
		var once sync.Once
		unlock := func() { once.Do(release) }
		defer unlock()
		leave()
		turn()
		g.timeout = cfg.Timeout
		start = time.Now()
		writeGo(state, fmt.Sprintf("go %d", int(cfg.Timeout/time.Second)))
		// Every host's command has exited once the guest has created
		// guest.done: the next guest may go while this one powers off
		// (some seconds, more on a busy machine).
	held:
		for {
			select {
			case <-exited:
				break held
			case <-time.After(startPoll): // a file the guest writes: no event to wait on
				if exists(filepath.Join(state, "guest.done")) {
					break held
				}
			}
		}
		elapsed = time.Since(start).Round(100 * time.Millisecond)
		unlock()
		<-exited
	}
	if start.IsZero() {
		start = time.Now()
	}
	waited := start.Sub(asked)
	if werr != nil {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			g.err = fmt.Errorf("nfstest: running %s: %v", script, werr)
			return g
		}
		g.code = ee.ExitCode()
	}
	// The guest was ready (booted, every host mounted) when it created
	// guest.ready: the part of that before the go was off the lock.
	var setup, ahead time.Duration
	if fi, err := os.Stat(filepath.Join(state, "guest.ready")); err == nil {
		setup = fi.ModTime().Sub(booted)
		ahead = min(setup, start.Sub(booted))
	}
	logf("nfstest: %d host(s), delay=%q, delegations=%v: guest ran %v after its go (booted and mounted in %v, %v of it ahead of the go)",
		n, cfg.Delay, cfg.Delegations, elapsed, setup.Round(100*time.Millisecond), ahead.Round(100*time.Millisecond))
	reportGuest(guestReport{name: name, ran: elapsed, code: g.code, waited: waited, began: start, setup: setup, ahead: ahead}, logf)
	timeline(state, "parent", fmt.Sprintf("harness exited %d", g.code))
	return g
}

// writeGo gives the guest that boots ahead its go ("go SECS": its
// timeout) or tells it to power off ("cancel"): written whole, then
// renamed, as the guest polls for the name.
func writeGo(state, msg string) {
	tmp := filepath.Join(state, "guest.go.tmp")
	if err := os.WriteFile(tmp, []byte(msg+"\n"), 0o644); err == nil {
		os.Rename(tmp, filepath.Join(state, "guest.go"))
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// guestTestTimeout is the -test.timeout of the test binary in the guest:
// short enough that, when a role hangs, the testing package's panic (with
// every goroutine's stack) comes before the harness's watchdog, which fires
// 10 s before the guest's timeout and counts from boot, while the role's
// clock starts only after setup (10-20 s on a busy machine).
func guestTestTimeout(guest time.Duration) time.Duration {
	const setup = 40 * time.Second
	if guest >= 2*setup {
		return guest - setup
	}
	return guest / 2
}

// runRole runs this host's role, in the guest.
func runRole(t *testing.T, cfg Config, n int, roles map[string]func(*testing.T)) {
	t.Helper()
	if got := os.Getenv("NFS_DELEGATIONS") == "1"; got != cfg.Delegations {
		t.Skipf("nfstest: test wants delegations=%v; this harness has %v", cfg.Delegations, got)
	}
	if got := os.Getenv("NETEM_DELAY"); got != cfg.Delay {
		t.Skipf("nfstest: test wants delay %q; this harness has %q", cfg.Delay, got)
	}
	if got := Squash(); got != cfg.squash() {
		t.Skipf("nfstest: test wants the export's %s; this harness has %q", cfg.squash(), got)
	}
	if got := Squashed(); got != cfg.Squashed {
		t.Skipf("nfstest: test wants a second export with %q; this harness has %q", cfg.Squashed, got)
	}
	if got := Lease(); got != cfg.lease() {
		t.Skipf("nfstest: test wants lease %v; this harness has %v", cfg.lease(), got)
	}
	// The harness passes its hosts' commands the options it mounted with.
	// A test that names none runs with any, as NFS_MOUNT_OPTS set them.
	if got := os.Getenv("MOUNT_OPTS"); cfg.MountOptions != "" && got != cfg.MountOptions {
		t.Skipf("nfstest: test wants mount options %q; this harness has %q", cfg.MountOptions, got)
	}
	if Hosts() < n {
		t.Skipf("nfstest: test wants %d hosts; this harness has %d", n, Hosts())
	}
	h := Host()
	fn := roles[h]
	if fn == nil {
		t.Logf("nfstest: no role for %s", h)
		return
	}
	t.Logf("nfstest: running as %s (mount %s)", h, Mount())
	fn(t)
}

// RunPattern returns a -test.run pattern that selects exactly the test or
// subtest named name (as t.Name() reports it).
func RunPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// guestRunPattern returns the guest's -test.run pattern: the test or
// subtest named name, and of the subtests below it those that run, the
// parent's -test.run pattern, selects. So `go test -run
// TestNFSStore/delegations=false/LoadStorm` runs one scenario in the guest,
// not every scenario of the test that boots it.
func guestRunPattern(name, run string) string {
	p := RunPattern(name)
	if run == "" {
		return p
	}
	if below := splitRunPattern(run); len(below) > strings.Count(name, "/")+1 {
		p += "/" + strings.Join(below[strings.Count(name, "/")+1:], "/")
	}
	return p
}

// splitRunPattern splits a -test.run pattern at the slashes that separate
// its levels, as the testing package does: not inside brackets or
// parentheses, nor escaped.
func splitRunPattern(s string) []string {
	var parts []string
	brackets, parens, start := 0, 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			brackets++
		case ']':
			brackets = max(brackets-1, 0) // an unmatched ']' is a literal
		case '(':
			if brackets == 0 {
				parens++
			}
		case ')':
			if brackets == 0 {
				parens--
			}
		case '\\':
			i++
		case '/':
			if brackets == 0 && parens == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// flagValue returns the value of the test binary's flag name, or "" when
// it has none.
func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// harnessEnv is the harness's environment, given this process's: the
// hosts' commands get it too.
func harnessEnv(env []string, cfg Config) []string {
	// Not the Start child's job (envStart): the hosts' test binaries,
	// this one again, would take it for theirs.
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, envStart+"=") })
	// The script takes the machine-wide lock itself when run by hand;
	// here lockGuests holds it (or it is off).
	env = append(env, "NFS_HARNESS_LOCKED=1")
	if cfg.MountOptions != "" {
		env = append(env, "NFS_MOUNT_OPTS="+cfg.MountOptions)
	}
	return env
}

func hiddenInGuest(p string) bool {
	for _, d := range []string{"/run", "/var/lib/nfs", "/proc", "/sys", "/dev"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func indent(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// guestReport is one guest run, as reportGuest writes it.
type guestReport struct {
	name   string
	ran    time.Duration // how long the harness ran
	code   int           // its exit code
	waited time.Duration // how long the run waited for the machine-wide lock
	began  time.Time     // when the guest had its go, the lock taken
	setup  time.Duration // how long it took to boot and mount
	ahead  time.Duration // how much of that came before its go
}

// reportGuest appends the guest run's line to the EnvGuestReport file, if
// one is named: the seconds it held the machine-wide lock first (CI sorts
// and sums them), then the test, the harness's exit code, how long the
// run waited for the lock, how long the guest took to boot and mount and
// how much of that was ahead of its go (off the lock), and when it began
// (Unix seconds), from which CI tells how long the lock stood free
// between the guests. One short write with
// O_APPEND: the test binaries of several packages append to the file.
func reportGuest(r guestReport, logf func(format string, args ...any)) {
	path := os.Getenv(EnvGuestReport)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = fmt.Fprintf(f, "%7.1f s  %s (exit %d; waited %.1f s for the guest lock; booted and mounted in %.1f s, %.1f s of it ahead of its go; began %.1f)\n",
			r.ran.Seconds(), r.name, r.code, r.waited.Seconds(), r.setup.Seconds(), r.ahead.Seconds(), float64(r.began.UnixMilli())/1000)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		logf("nfstest: %s: %v", EnvGuestReport, err)
	}
}

// subtestResult matches go test -v's line for a finished test or subtest.
var subtestResult = regexp.MustCompile(`^\s*--- (?:PASS|FAIL|SKIP): (\S+) \(([0-9.]+)s\)$`)

// leafSubtests returns, from a host's go test -v output, how long each
// subtest that has none of its own took, in seconds.
func leafSubtests(out []byte) map[string]float64 {
	took := map[string]float64{}
	for _, l := range strings.Split(string(out), "\n") {
		m := subtestResult.FindStringSubmatch(l)
		if m == nil || !strings.Contains(m[1], "/") {
			continue
		}
		if d, err := strconv.ParseFloat(m[2], 64); err == nil {
			took[m[1]] = d
		}
	}
	for name := range took {
		if i := strings.LastIndex(name, "/"); i >= 0 {
			for p := name[:i]; ; {
				delete(took, p)
				j := strings.LastIndex(p, "/")
				if j < 0 {
					break
				}
				p = p[:j]
			}
		}
	}
	return took
}

// reportSubtests appends to the file EnvSubtestReport names, when it is
// set, one line per subtest without subtests of its own that the hosts
// (names, whose output is in state) ran: the longest time a host took
// for it, the subtest and that host. Failing to is logged: it is a
// report.
func reportSubtests(state string, names []string, logf func(format string, args ...any)) {
	path := os.Getenv(EnvSubtestReport)
	if path == "" {
		return
	}
	took, by := map[string]float64{}, map[string]string{}
	for _, h := range names {
		out, _ := os.ReadFile(filepath.Join(state, h+".out"))
		for name, d := range leafSubtests(out) {
			if _, ok := took[name]; !ok || d > took[name] {
				took[name], by[name] = d, h
			}
		}
	}
	if len(took) == 0 {
		return
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(took)) {
		fmt.Fprintf(&b, "%7.1f s  %s (%s)\n", took[name], name, by[name])
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = f.WriteString(b.String())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		logf("nfstest: %s: %v", EnvSubtestReport, err)
	}
}
