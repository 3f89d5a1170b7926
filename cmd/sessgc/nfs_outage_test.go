//go:build unix

package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/run"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
	"github.com/sessfs/sessfs/lock"
)

// envBin passes the sessgc binary that TestMain built on the parent to the
// NFS harness's hosts, which see the parent's files and environment.
const envBin = "SESSFS_TEST_SESSGC_BIN"

// sessgcGuest is TestNFSSessgc's guest, which TestMain boots while the
// other tests run (nfstest.Start, with NFSTEST_EARLY=1). Its hosts run the
// sessgc binary TestMain built (envBin). Its second export is the access
// point's (Config.Squashed).
var sessgcGuest = nfstest.Early{Test: "TestNFSSessgc", Config: nfstest.Config{
	Hosts: 2, Delay: "1ms", Squashed: nfstest.AccessPointSquash(apUID, apGID),
	// Both scenarios, each waiting for the other host at most some
	// minutes when one fails.
	Timeout: 6 * time.Minute,
}}

// TestNFSSessgc runs sessgc's NFS scenarios in one guest, one after the
// other on both hosts: AccessPoint (accessPointRoles), on the guest's
// second export, then SweepUnderOutage (sweepUnderOutageRoles), which
// cuts hostA's link and so comes last. Each had a guest of its own, and
// CI's guests take turns: in a CI run (2026-12-07) the access point's
// asked for the lock 13 s after the outage's was done, booted on it and
// held it 38 s, where its scenario takes 20-35 s in this guest. One
// scenario runs alone with go test -run 'TestNFSSessgc/AccessPoint'.
func TestNFSSessgc(t *testing.T) {
	nfstest.Require(t)
	ap, sweep := accessPointRoles(), sweepUnderOutageRoles()
	role := func(h string) func(*testing.T) {
		return func(t *testing.T) {
			t.Run("AccessPoint", ap[h])
			// The outage starts on both hosts together, whatever the
			// access point's scenario did.
			nfstest.Barrier(t, "access-point-done", 3*time.Minute)
			t.Run("SweepUnderOutage", sweep[h])
		}
	}
	nfstest.Run(t, sessgcGuest.Config, map[string]func(*testing.T){"hostA": role("hostA"), "hostB": role("hostB")})
}

// sweepUnderOutageRoles are TestNFSSessgc/SweepUnderOutage's roles: a
// sweep on hostA is in the middle of its work, holding the fleet lock,
// when hostA's link to the NFS server goes down for longer than the lease. sessgc must exit 4 ("unresponsive") while
// the server is still unreachable, although its calls to the server hang;
// so must a census, and a run with --textfile started while the server is
// unreachable; hostB must get the fleet lock once hostA's lease has
// expired, without hostA coming back, and sweep; and when hostA is back,
// nothing is half-done: every expired record is gone, every live one is
// there, no other file is left in the data directory, and hostA sweeps
// again.
//
// "While the server is still unreachable" is an order of events, not a
// time: hostA's link stays down until its three processes have exited
// and hostB has swept, and comes back by itself only after cutCap, which
// nothing that works takes. A process that exits after the link came
// back, or hostB getting the fleet lock only then, fails the test
// whatever the machine's speed.
//
// Exit codes, summaries, textfile metrics, that order and what is left in
// the store are always asserted. sessgc's own time to give up (its
// summary's duration, against --max-duration and its stop grace) follows
// the outage tests' policy (nfstest.Timing): asserted with
// SESSFS_NFS_OUTAGE_TIMING=1 for a guest that was not saturated before
// the outage (see sweepSaturated), reported otherwise. The wall time of
// each process, starting and exiting two Go processes (sessgc and its
// worker) in the one-CPU guest included, is only reported: it measures
// the guest's CPU, which the other hosts, the server and the machine's
// other work share, as much as sessgc (13.9 s for a census of --max-duration
// 2s once in CI, with the guest's CPU 96% busy throughout, although the
// census gave up in time). hostA's figures go to SESSFS_NFS_OUTAGE_REPORT.
func sweepUnderOutageRoles() map[string]func(*testing.T) {
	const (
		expired, live = 300, 30
		rate          = 20 // removals/s: the sweep takes expired/rate = 15 s unhindered
		// The budget must outlast the harness's cut, which in a busy
		// one-CPU guest once came 5.5 s after it was asked for: with
		// 6 s, the sweep ended on its budget before the link went down.
		maxDuration = 12 * time.Second
		statsMax    = 2 * time.Second
		// Starting and ending a process in the one-CPU guest of a loaded
		// machine: 3.5 s once in CI, around a pass abandoned on time, and
		// 9 s or more when the guest's CPU was saturated. Reported, not
		// asserted (see above).
		startExit = 6 * time.Second
		// steadyWindow is how long hostA measures the guest's CPU while
		// its sweep goes on at rate, before it asks for the cut.
		steadyWindow = time.Second
	)
	lease := nfstest.Lease()
	// The cut ends when hostA has seen its processes out and hostB has
	// swept (Cut.EndOnSignal); cutCap only bounds it for a test that
	// failed. It is far longer than the lease, so that the server expires
	// hostA's state (and with it the fleet lock) while hostA is still cut
	// off, and than what the three processes need (40 s in all on the
	// slowest run seen), so that a process still running when the link
	// comes back by itself has hung on the server. The guest's run must
	// fit in its Timeout with it.
	cutCap := max(2*time.Minute, 4*lease+4*maxDuration)
	// exitedCutOff fails the test when the link was back before the
	// process what had exited: it waited for the server.
	exitedCutOff := func(t *testing.T, cut *nfstest.Cut, what string, took time.Duration) {
		t.Helper()
		if _, up := cut.Times(); !up.IsZero() {
			t.Errorf("%s exited after %v, only once hostA's link had come back up by itself (it stays down until hostA's processes have exited and hostB has swept, or for %v): it waited for the unreachable server",
				what, took.Round(time.Millisecond), cutCap)
		}
	}
	bound := maxDuration + pass.StopGrace(maxDuration)
	storeDir := func(t *testing.T) string { return filepath.Join(nfstest.Dir(t), "store") }
	return map[string]func(*testing.T){
		"hostA": func(t *testing.T) {
			dir := storeDir(t)
			abortOnFailure(t)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			st := &store{t: t, dir: dir, s: s}
			old := st.save(expired)
			st.expire(old...)
			keep := st.save(live)
			s.Close()
			writeIDs(t, filepath.Join(nfstest.Dir(t), "ids"), old, keep)

			cmd := command([]string{"run", "--dir", dir, "--json", "-v", "--rate", fmt.Sprint(rate),
				"--max-duration", maxDuration.String()})
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out := lines(t, cmd)
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			var outLines []string
			for range 3 { // sweeping, so holding the fleet lock
				outLines = append(outLines, waitLine(t, out, `"event":"remove"`))
			}
			if err := nfstest.Signal(filepath.Join(nfstest.Dir(t), "sweeping")); err != nil {
				t.Fatal(err)
			}
			// The guest under the scenario's steady load: the sweep at its
			// capped rate, hostB polling the fleet lock.
			cpu0 := nfstest.ReadCPU()
			time.Sleep(steadyWindow) // a measurement window, not a wait for an event
			busyBefore, known := nfstest.ReadCPU().BusySince(cpu0)
			nfstest.Event("guest CPU busy %.0f%% under the sweep", 100*busyBefore)
			timing := nfstest.NewTiming(t, sweepSaturated(busyBefore, known, rate))
			asked := time.Since(start)
			cut, err := nfstest.CutLink("hostA", cutCap)
			if err != nil {
				t.Fatal(err)
			}
			down := time.Since(start)
			cpuDown := nfstest.ReadCPU()
			nfstest.Event("sessgc sweeping, link cut")
			var werr error
			select {
			case werr = <-exited:
			case <-time.After(cutCap / 2): // a diagnosis for a hang, which exitedCutOff judges
				t.Logf("sessgc still running %v after it started, with the server unreachable (--max-duration %v + %v to stop); its threads:\n%s",
					time.Since(start).Round(time.Millisecond), maxDuration, pass.StopGrace(maxDuration), threads(cmd.Process.Pid))
				werr = <-exited // once the link is back
			}
			took := time.Since(start)
			exitedCutOff(t, cut, "sessgc run, cut off while sweeping,", took)
			busyCut, _ := nfstest.ReadCPU().BusySince(cpuDown)
			nfstest.Event("sessgc exited after %v: %v", took.Round(time.Millisecond), werr)
			for l := range out {
				outLines = append(outLines, l)
			}
			r := result{stdout: strings.Join(outLines, "\n") + "\n", stderr: stderr.String(), code: exitCode(t, werr)}
			_, sum := summary(t, r)
			t.Logf("link cut asked for %v and down %v after sessgc started", asked.Round(time.Millisecond), down.Round(time.Millisecond))
			t.Logf("sessgc exited %d after %v (bound %v + %v to start and exit); summary: stopped_early %v, stop_reason %q, removed %d; stderr: %s",
				r.code, took.Round(time.Millisecond), bound, startExit, sum.StoppedEarly, sum.StopReason, sum.Removed, r.stderr)
			if r.code != 4 || sum.StopReason != "unresponsive" || !sum.StoppedEarly || sum.ExitCode != 4 {
				t.Errorf("exit %d, stop_reason %q, stopped_early %v, exit_code %d; want 4, unresponsive, true, 4",
					r.code, sum.StopReason, sum.StoppedEarly, sum.ExitCode)
				if down > maxDuration {
					t.Errorf("the test did not do what it meant to: the link went down %v after sessgc started (asked for at %v), after its budget of %v had run out",
						down.Round(time.Millisecond), asked.Round(time.Millisecond), maxDuration)
				}
			}
			// sessgc's own time, from its start to giving up (its
			// summary's duration), is held to the bound; the margin
			// around it is for starting and ending the process in a
			// one-CPU guest on a loaded machine. What matters is exiting
			// before the server is back: that is asserted above, always.
			own := time.Duration(sum.DurationSecs * float64(time.Second))
			t.Logf("sessgc's own time %v; starting and exiting took %v", own.Round(time.Millisecond), (took - own).Round(time.Millisecond))
			if own > bound+time.Second {
				timing.Miss("sessgc gave up after %v of work with the server unreachable; want at most --max-duration %v + %v to stop",
					own.Round(time.Millisecond), maxDuration, pass.StopGrace(maxDuration))
			}
			if took > bound+startExit {
				t.Logf("sessgc took %v with the server unreachable, over --max-duration %v + %v to stop (+%v to start and exit); reported, not asserted: it measures the guest's CPU",
					took.Round(time.Millisecond), maxDuration, pass.StopGrace(maxDuration), startExit)
			}
			// It waited for three removals before the cut: an abandoned
			// pass reports what it removed, not nothing.
			if sum.Removed < 3 || sum.Sessions != sum.Removed {
				t.Errorf("abandoned pass reports removed %d (sessions %d); want at least the 3 seen before the cut", sum.Removed, sum.Sessions)
			}
			// A census on the unreachable server gives up on time too.
			shortBound := statsMax + pass.StopGrace(statsMax)
			cpu1 := nfstest.ReadCPU()
			statsStart := time.Now()
			nfstest.Event("sessgc stats starting")
			rs := runGC(t, []string{"stats", "--dir", dir, "--max-duration", statsMax.String()})
			statsTook := time.Since(statsStart)
			exitedCutOff(t, cut, "sessgc stats", statsTook)
			busyStats, _ := nfstest.ReadCPU().BusySince(cpu1)
			nfstest.Event("sessgc stats exited %d after %v", rs.code, statsTook.Round(time.Millisecond))
			if rs.code != 4 {
				t.Errorf("sessgc stats --max-duration %v with the server unreachable: exit %d after %v; want 4\n%s",
					statsMax, rs.code, statsTook.Round(time.Millisecond), rs.stderr)
			}
			if statsTook > shortBound+startExit {
				t.Logf("sessgc stats --max-duration %v with the server unreachable took %v, over %v + %v (+%v to start and exit); reported, not asserted: it measures the guest's CPU",
					statsMax, statsTook.Round(time.Millisecond), statsMax, pass.StopGrace(statsMax), startExit)
			}

			// So does a run started while the server is unreachable, with
			// its metrics on local disk (the documented cron line): its
			// checks of --dir and --textfile, made before the watchdog,
			// spend its budget too.
			prom := filepath.Join(t.TempDir(), "sessgc.prom")
			cpu2 := nfstest.ReadCPU()
			runStart := time.Now()
			nfstest.Event("sessgc run --textfile starting")
			rr := runGC(t, []string{"run", "--dir", dir, "--json", "--max-duration", statsMax.String(), "--textfile", prom})
			runTook := time.Since(runStart)
			exitedCutOff(t, cut, "sessgc run --textfile", runTook)
			busyRun, _ := nfstest.ReadCPU().BusySince(cpu2)
			nfstest.Event("sessgc run --textfile exited %d after %v", rr.code, runTook.Round(time.Millisecond))
			_, rsum := summary(t, rr)
			runOwn := time.Duration(rsum.DurationSecs * float64(time.Second))
			if rr.code != 4 || rsum.StopReason != "unresponsive" || rsum.ExitCode != 4 {
				t.Errorf("sessgc run --textfile --max-duration %v started with the server unreachable: exit %d, stop_reason %q, exit_code %d after %v; want 4, unresponsive, 4\n%s",
					statsMax, rr.code, rsum.StopReason, rsum.ExitCode, runTook.Round(time.Millisecond), rr.stderr)
			}
			if runOwn > shortBound+time.Second {
				timing.Miss("sessgc run --textfile --max-duration %v started with the server unreachable gave up after %v of its own, its checks included; want at most %v + %v",
					statsMax, runOwn.Round(time.Millisecond), statsMax, pass.StopGrace(statsMax))
			}
			if runTook > shortBound+startExit {
				t.Logf("sessgc run --textfile --max-duration %v started with the server unreachable took %v, over %v + %v (+%v to start and exit); reported, not asserted: it measures the guest's CPU",
					statsMax, runTook.Round(time.Millisecond), statsMax, pass.StopGrace(statsMax), startExit)
			}
			checkValues(t, promFile(t, prom, dir), map[string]float64{
				"sessgc_last_run_exit_code": 4,
				"sessgc_last_run_success":   0,
				"sessgc_stopped_early":      1,
			})
			rep := fmt.Sprintf("sessgc %s: guest CPU busy %.0f%% under the sweep at %d/s before the outage; the cut asked %v and down %v after sessgc started; "+
				"the sweep cut off: exit %d after %v (its own %v; bound %v, +%v to start and exit), CPU busy %.0f%% from the cut to its exit; "+
				"stats: exit %d after %v (bound %v, +%v), CPU %.0f%%; run --textfile: exit %d after %v (its own %v; bound %v, +%v), CPU %.0f%%; %s",
				nfstest.Host(), 100*busyBefore, rate, asked.Round(time.Millisecond), down.Round(time.Millisecond),
				r.code, took.Round(time.Millisecond), own.Round(time.Millisecond), bound, startExit, 100*busyCut,
				rs.code, statsTook.Round(time.Millisecond), shortBound, startExit, 100*busyStats,
				rr.code, runTook.Round(time.Millisecond), runOwn.Round(time.Millisecond), shortBound, startExit, 100*busyRun,
				timing.Summary())
			t.Log(rep)
			nfstest.Report(t, rep)

			// The cut has done its work once hostB has swept, which it
			// says through the guest's own control directory (hostA's
			// link is down), and hostA's processes above have exited: the
			// link comes back then.
			ctx, cancel := context.WithTimeout(context.Background(), cutCap+time.Minute)
			defer cancel()
			if err := cut.EndOnSignal(ctx, t, "swept"); err != nil {
				t.Fatal(err)
			}
			if waitEither(ctx, t, filepath.Join(nfstest.Dir(t), "swept"), filepath.Join(nfstest.Dir(t), "abort-hostB")) != "swept" {
				t.Fatal("hostB failed")
			}
			checkSwept(t, dir, old, keep)
			// hostA sweeps again: it gets the fleet lock, finds nothing
			// to remove, and nothing it cannot examine.
			r = runGC(t, []string{"run", "--dir", dir, "--json"})
			if _, sum := summary(t, r); r.code != 0 || sum.Skipped || sum.Removed != 0 || sum.Errors != 0 {
				t.Errorf("hostA's sweep after the outage: exit %d, skipped %v, removed %d, errors %d; want 0, false, 0, 0\n%s%s",
					r.code, sum.Skipped, sum.Removed, sum.Errors, r.stdout, r.stderr)
			}
		},
		"hostB": func(t *testing.T) {
			dir := storeDir(t)
			abortOnFailure(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if waitEither(ctx, t, filepath.Join(nfstest.Dir(t), "sweeping"), filepath.Join(nfstest.Dir(t), "abort-hostA")) != "sweeping" {
				t.Fatal("hostA failed before its sweep got going")
			}
			// The fleet lock is hostA's until the server expires hostA's
			// lease: poll for it (each try is one LOCK call). The bound
			// runs from when hostA's link went down, which the harness
			// may take seconds to do after hostA asked: its control
			// files are in the guest, outside the cut.
			seen := time.Now()
			var downAt time.Time
			fleet := filepath.Join(dir, fsstore.LockDir, run.FleetLockName)
			var l *lock.FileLock
			for {
				// hostA's link stays down until this host has swept, or
				// comes back by itself after cutCap: the lock must come
				// from the server's expiring hostA's lease, not from
				// hostA's return. Looked at before each try, so that a
				// lock this host did not get was held before the return.
				if m, _ := filepath.Glob(filepath.Join(os.Getenv("NFS_CTL"), "hostA-*.up")); len(m) > 0 && !downAt.IsZero() {
					t.Fatalf("the fleet lock of hostA's abandoned sweep was still held when hostA's link came back by itself, %v after it went down (lease %v)", time.Since(downAt).Round(time.Millisecond), lease)
				}
				var err error
				l, err = lock.TryLockFile(fleet)
				if err == nil {
					break
				}
				if !errors.Is(err, lock.ErrLocked) {
					t.Fatal(err)
				}
				if downAt.IsZero() {
					if m, _ := filepath.Glob(filepath.Join(os.Getenv("NFS_CTL"), "hostA-*.down")); len(m) > 0 {
						downAt = time.Now()
					}
				}
				if downAt.IsZero() && time.Since(seen) > time.Minute {
					t.Fatalf("hostA's link still not down %v after its sweep got going", time.Since(seen).Round(time.Millisecond))
				}
				time.Sleep(100 * time.Millisecond) // another host's lock: no event to wait on
			}
			l.Unlock()
			if downAt.IsZero() {
				t.Fatalf("hostB got the fleet lock %v after hostA's sweep got going, before hostA's link went down: hostA's sweep had ended", time.Since(seen).Round(time.Millisecond))
			}
			took := time.Since(downAt)
			t.Logf("hostB got the fleet lock %v after hostA's link went down (lease %v)", took.Round(time.Millisecond), lease)
			nfstest.Event("hostB got the fleet lock %v after hostA's link went down", took.Round(time.Millisecond))
			nfstest.Report(t, fmt.Sprintf("sessgc %s: got the fleet lock %v after hostA's link went down (lease %v)", nfstest.Host(), took.Round(time.Millisecond), lease))
			r := runGC(t, []string{"run", "--dir", dir, "--json"})
			if _, sum := summary(t, r); r.code != 0 || sum.Skipped || sum.Errors != 0 {
				t.Errorf("hostB's sweep: exit %d, skipped %v, errors %d; want 0, false, 0\n%s%s", r.code, sum.Skipped, sum.Errors, r.stdout, r.stderr)
			}
			// hostA, cut off, waits for this to end its cut.
			if err := nfstest.SignalLocal(t, "swept"); err != nil {
				t.Fatal(err)
			}
			old, keep := readIDs(t, filepath.Join(nfstest.Dir(t), "ids"))
			checkSwept(t, dir, old, keep)
			if err := nfstest.Signal(filepath.Join(nfstest.Dir(t), "swept")); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// sweepSaturated says why the guest could not carry the scenario's steady
// load before the outage, or returns "": hostA's sweep capped at rate
// removals a second and hostB polling the fleet lock every 100 ms, a
// light load, kept the guest's CPU busier than nfstest.BusyMax. Starting
// and ending a process then waits seconds for the CPU, which says nothing
// about sessgc: the timing bounds are only reported. A CPU reading that
// failed (known false) says nothing either way, and the bounds hold.
func sweepSaturated(busy float64, known bool, rate int) string {
	if !known || busy <= nfstest.BusyMax {
		return ""
	}
	return fmt.Sprintf("the guest's CPU was %.0f%% busy under a sweep of %d removals a second and another host's polling, before the outage", 100*busy, rate)
}

func writeIDs(t *testing.T, path string, old, keep []string) {
	t.Helper()
	b, _ := json.Marshal([2][]string{old, keep})
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func readIDs(t *testing.T, path string) (old, keep []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids [2][]string
	if err := json.Unmarshal(b, &ids); err != nil {
		t.Fatal(err)
	}
	return ids[0], ids[1]
}

// checkSwept checks the store after a complete sweep: the expired records
// gone, the live ones there, and nothing else in the data directory (no
// temp file or other remains of a removal cut short).
func checkSwept(t *testing.T, dir string, old, keep []string) {
	t.Helper()
	st := &store{t: t, dir: dir}
	// Another host removed the records: refresh this host's view of every
	// shard directory, or cached lookups may still show them.
	data := filepath.Join(dir, fsstore.DataDir)
	nfstest.RefreshDir(data)
	shards, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		nfstest.RefreshDir(filepath.Join(data, sh.Name()))
	}
	var left, lost int
	for _, id := range old {
		if st.exists(id) {
			left++
		}
	}
	for _, id := range keep {
		if !st.exists(id) {
			lost++
		}
	}
	var other []string
	err = filepath.WalkDir(filepath.Join(dir, fsstore.DataDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (len(d.Name()) != 32 || strings.Trim(d.Name(), "0123456789abcdef") != "") {
			other = append(other, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 || lost != 0 || len(other) != 0 {
		t.Errorf("after the sweep: %d of %d expired records left, %d of %d live ones gone, other files %q", left, len(old), lost, len(keep), other)
	}
}

// abortOnFailure tells the other host, when this one fails, to stop
// waiting for it: it signals abort-HOST.
func abortOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			nfstest.Signal(filepath.Join(nfstest.Dir(t), "abort-"+nfstest.Host()))
		}
	})
}

// waitEither waits for one of the files another host creates and returns
// the name of the first seen.
func waitEither(ctx context.Context, t *testing.T, paths ...string) string {
	t.Helper()
	for {
		for _, p := range paths {
			nfstest.RefreshDir(filepath.Dir(p))
			if _, err := os.Stat(p); err == nil {
				return filepath.Base(p)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("none of %q appeared: %v", paths, ctx.Err())
		case <-time.After(50 * time.Millisecond): // another host's file: no event to wait on
		}
	}
}

// threads describes a process's threads for a diagnosis: state, kernel
// wait channel and kernel stack of each.
func threads(pid int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d", pid)
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		stat, _ := os.ReadFile(filepath.Join(task, "stat"))
		wchan, _ := os.ReadFile(filepath.Join(task, "wchan"))
		stack, _ := os.ReadFile(filepath.Join(task, "stack"))
		st := string(stat)
		if i := strings.LastIndexByte(st, ')'); i >= 0 && i+3 < len(st) {
			st = st[i+2 : i+3]
		}
		fmt.Fprintf(&b, "\n  task %s: state %s, wchan %s\n    %s", filepath.Base(task), st, wchan,
			strings.ReplaceAll(strings.TrimSpace(string(stack)), "\n", "\n    "))
	}
	return b.String()
}
