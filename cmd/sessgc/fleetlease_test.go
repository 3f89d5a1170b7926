//go:build unix

package main_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestFleetLockFollowsLeaseStrategy: the fleet locks (.sessgc,
// .sessgc-rekey) were flocks whatever the store's strategy, and a store
// runs with leases where flock excludes only one host's processes (NFS
// mounted with local_lock=flock or local_lock=all, some FUSE and SMB
// mounts): there a collector or rekey on every host ran at once. On a
// store with the lease strategy the fleet lock is a lease as well. This
// process holds the lease as another host's sessgc would (its flock, which
// does not reach that host, left free): sessgc skips the pass; once the
// lease is released it runs and leaves no lease behind.
func TestFleetLockFollowsLeaseStrategy(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1), fsstore.WithLockStrategy(lock.Lease))
	if got := st.s.LockStrategy(); got != lock.Lease {
		t.Fatalf("store strategy %v, want lease", got)
	}
	st.save(3)
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	for _, tc := range []struct {
		name, lease string
		args        []string
		json        func(t *testing.T, r result) (skipped bool, reason string, scanned int64)
	}{
		{"sweep", "sessgc", []string{"--dir", st.dir, "--json"}, func(t *testing.T, r result) (bool, string, int64) {
			_, s := summary(t, r)
			return s.Skipped, s.SkipReason, s.Scanned
		}},
		{"rekey", "sessgc-rekey", []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--json"}, func(t *testing.T, r result) (bool, string, int64) {
			s := rekeyJSON(t, r)
			return s.Skipped, s.SkipReason, s.Scanned
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := st.s.TryLockFleet(tc.lease)
			if err != nil {
				t.Fatal(err)
			}
			r := runGC(t, tc.args)
			if skipped, reason, scanned := tc.json(t, r); r.code != 0 || !skipped || reason != "fleet-lock-held" || scanned != 0 {
				t.Errorf("while another host holds the fleet lease: exit %d, skipped %v (%q), scanned %d; stderr %q", r.code, skipped, reason, scanned, r.stderr)
			}
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			r = runGC(t, tc.args)
			if skipped, _, scanned := tc.json(t, r); r.code != 0 || skipped || scanned < 3 {
				t.Errorf("after the lease is released: exit %d, skipped %v, scanned %d; stderr %q", r.code, skipped, scanned, r.stderr)
			}
			if _, err := os.Lstat(filepath.Join(st.dir, fsstore.LockDir, tc.lease+".lease")); !os.IsNotExist(err) {
				t.Errorf("lease file after the pass: %v, want none", err)
			}
		})
	}
}

// TestFleetLeaseLostMidPass: a sweep whose fleet lease was lost (its host
// stopped, or cut off from the server, for longer than the lease, and
// another host's sessgc broke the lease and took it) swept on to the end
// alongside the new holder's sweep, and exited 0 as if it had been alone:
// safe, but twice the load on the server, and no one told. It stops at
// its next removal: exit 1, stop_reason fleet-lock-lost, nothing left
// aside, and the new holder's lease left alone. Here sessgc's process
// group is stopped while this process, as the other host, takes the
// lease over.
func TestFleetLeaseLostMidPass(t *testing.T) {
	st := newStore(t, fsstore.WithLockStrategy(lock.Lease))
	const n = 200
	ids := st.save(n)
	st.expire(ids...)
	// At 0.2 removals a second the first record goes at once and the
	// next 5 s later: the stop, sent once the first is seen, comes in the
	// pass (of 1000 s) however late the test sends it, and the loss is
	// noticed by the next removal at the latest. At 20 a second the pass
	// ended in 10 s, and a test held up that long found nothing to stop.
	cmd := command([]string{"--dir", st.dir, "--json", "-v", "--rate", "0.2"})
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // sessgc and its worker
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out := lines(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	waitLine(t, out, `"event":"remove"`)

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// As a breaker on another host does once the stopped holder's lease
	// ran out: the lease goes, and the breaker's sessgc takes it.
	if err := os.Remove(filepath.Join(st.dir, fsstore.LockDir, "sessgc.lease")); err != nil {
		t.Fatalf("sessgc's lease: %v", err)
	}
	h, err := st.s.TryLockFleet("sessgc")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Unlock()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var last string
	for giveUp := time.After(time.Minute); ; { // a hang detector only: the next removal is 5 s away
		l, ok := "", false
		select {
		case l, ok = <-out:
		case <-giveUp:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatal("the sweep still ran a minute after it resumed without its fleet lease")
		}
		if !ok {
			break
		}
		last = l
	}
	code := exitCode(t, cmd.Wait())
	r := result{stdout: last + "\n", stderr: stderr.String(), code: code}
	_, s := summary(t, r)
	if code != 1 || s.ExitCode != 1 || !s.StoppedEarly || s.StopReason != "fleet-lock-lost" || s.Sessions >= n {
		t.Errorf("after its lease was taken over: exit %d, stopped_early %v (%q), exit_code %d, removed %d of %d; stderr %q",
			code, s.StoppedEarly, s.StopReason, s.ExitCode, s.Sessions, n, r.stderr)
	}
	if !strings.Contains(r.stderr, "fleet lock") || !strings.Contains(r.stderr, "lost") {
		t.Errorf("stderr %q does not say the fleet lock was lost", r.stderr)
	}
	left := 0
	for _, id := range ids {
		if st.exists(id) {
			left++
		}
	}
	if int64(left) != n-s.Sessions {
		t.Errorf("%d sessions left, the summary says %d of %d removed", left, s.Sessions, n)
	}
	if aside := asideFiles(t, st.dir); len(aside) > 0 {
		t.Errorf("records left aside: %q", aside)
	}
	if err := h.Verify(); err != nil {
		t.Errorf("the new holder's lease after the stopped sweep ended: %v", err)
	}
	if err := h.Unlock(); err != nil {
		t.Fatal(err)
	}
	r = runGC(t, []string{"--dir", st.dir, "--json"})
	if _, s2 := summary(t, r); r.code != 0 || s2.Sessions != int64(left) {
		t.Errorf("the next pass: exit %d, removed %d, want the %d left; stderr %q", r.code, s2.Sessions, left, r.stderr)
	}
}

// asideFiles lists the records a sweep moved aside (.tmp-gc-<name>) under
// dir.
func asideFiles(t *testing.T, dir string) []string {
	t.Helper()
	var aside []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-gc-") {
			aside = append(aside, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return aside
}

// TestFleetLeaseHolderSaid: a sweep killed (SIGKILL, its host down) holds
// the fleet lease until the lease runs out, and the runs meanwhile said
// "another sessgc is sweeping", which nothing was. They say whose the
// lease is by its record (pid, host), when it runs out, and that a dead
// holder looks the same until then; --json has the holder too.
func TestFleetLeaseHolderSaid(t *testing.T) {
	st := newStore(t, fsstore.WithLockStrategy(lock.Lease))
	st.save(1)
	expires := time.Now().Add(time.Hour).Truncate(time.Second)
	rec := fmt.Sprintf("sessfs-lease 1 token=0123456789abcdef0123456789abcdef expires=%019d pid=%010d host=gc-host-7", expires.UnixNano(), 4242)
	rec += strings.Repeat(" ", 159-len(rec)) + "\n"
	lease := filepath.Join(st.dir, fsstore.LockDir, "sessgc.lease")
	if err := os.WriteFile(lease, []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runGC(t, []string{"--dir", st.dir})
	for _, want := range []string{"held by pid 4242 on host gc-host-7 until " + expires.UTC().Format(time.RFC3339), "one that died"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("run while a killed sweep's lease is held: exit %d, stdout %q; want it to say %q", r.code, r.stdout, want)
		}
	}
	r = runGC(t, []string{"--dir", st.dir, "--json"})
	if want := `"fleet_lock_holder":{"host":"gc-host-7","pid":4242,"expires":"`; r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("--json: exit %d, stdout %q; want %q", r.code, r.stdout, want)
	}
}
