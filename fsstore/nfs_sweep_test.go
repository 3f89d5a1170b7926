//go:build unix

package fsstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
	"github.com/sessfs/sessfs/internal/proctest"
)

// The sweep, the marker and the lost-lock window on two real NFS client
// hosts (see nfs_test.go for the harness), in TestNFSStore's guest with
// delegations off, as on AWS EFS (see nfsScenariosFor).
var nfsSweepScenarios = []nfsScenario{
	{name: "MarkerRaise", hostA: nfsMarkerRaise, hostB: nfsMarkerRaise},
	{name: "LoadWhileMovedAside", hostA: nfsMovedAsideA, hostB: nfsMovedAsideB},
	{name: "TouchedAfterScan", hostA: nfsTouchedA, hostB: nfsTouchedB},
	{name: "DeletedWhileAside", hostA: nfsDeletedAsideA, hostB: nfsDeletedAsideB},
	{name: "AsideNameTaken", hostA: nfsNameTakenA, hostB: nfsNameTakenB},
	{name: "PutBackDuringLoad", hostA: nfsPutBackA, hostB: nfsPutBackB},
	{name: nfsRemovalScenario, hostA: nfsRemovalBudgetA, hostB: nfsRemovalBudgetB},
}

// nfsRemovalScenario is the removal budget scenario's name: the rescan
// (nfs_rescan_test.go) walks the live sessions it leaves.
const nfsRemovalScenario = "RemovalRPCBudget"

// nfsLostLockWindow cuts hostA's link for longer than the lease, three
// times: it runs last. Its first cut also serves LeaseLoss, which with
// delegations off runs inside it (see nfsLostLockA).
var nfsLostLockWindow = nfsScenario{name: "LostLockWindow", hostA: nfsLostLockA, hostB: nfsLostLockB}

// nfsSweepHelperEnv selects the role of this file's child processes.
const nfsSweepHelperEnv = "SESSFS_NFS_SWEEP_HELPER"

// TestNFSSweepHelperProcess is not a test: it is the body of the child
// processes of the sweep's scenarios in TestNFSStore.
func TestNFSSweepHelperProcess(t *testing.T) {
	proctest.Main(t, nfsSweepHelperEnv, func(role string) error {
		switch role {
		case "raise":
			return nfsRaiseChild()
		}
		return fmt.Errorf("unknown role %q", role)
	})
}

// nfsRaiseChild, for each line the parent sends (a trial: the store's
// directory, the store's idle timeout and a session's, "" for none,
// separated by tabs), opens the store with that idle timeout, saves a
// session with its own (if any), closes the store and says done. One
// process serves every trial: starting the race-built test binary takes
// seconds in the guest, and a process per raise and trial took 24 of
// them (some 40 s of MarkerRaise's 52 s, alone on the machine).
func nfsRaiseChild() error {
	nfsSay("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			return fmt.Errorf("raise: %q: want dir, idle and record idle, tab-separated", sc.Text())
		}
		if err := nfsRaiseOnce(f[0], f[1], f[2]); err != nil {
			return err
		}
		nfsSay("done")
	}
	return sc.Err()
}

// nfsRaiseOnce opens the store in dir with idle timeout idle and, unless
// recordIdle is "", saves a session with that idle timeout.
func nfsRaiseOnce(dir, idle, recordIdle string) error {
	d, err := time.ParseDuration(idle)
	if err != nil {
		return err
	}
	s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(d))
	if err != nil {
		return err
	}
	defer s.Close()
	if recordIdle != "" {
		ri, err := time.ParseDuration(recordIdle)
		if err != nil {
			return err
		}
		id, err := fsstore.NewID()
		if err != nil {
			return err
		}
		sess := &fsstore.Session{ID: id, Data: []byte("x"), Idle: ri, Deadline: time.Now().Add(30 * 24 * time.Hour)}
		if err := s.Save(context.Background(), sess); err != nil {
			return err
		}
	}
	return s.Close()
}

// nfsMarkerRaise: in every trial, two processes on each host raise a fresh
// store's marker at once (from WithIdleTimeout and from a session's own
// idle timeout); the largest value must win, as seen from both hosts.
// Each process opens the trial's store afresh (see nfsRaiseChild).
func nfsMarkerRaise(t *testing.T) {
	const trials = 6
	mine := map[string][][2]time.Duration{
		"hostA": {{2 * time.Hour, 6 * time.Hour}, {3 * time.Hour, 0}},
		"hostB": {{4 * time.Hour, 0}, {5 * time.Hour, 7 * time.Hour}},
	}[nfstest.Host()]
	var kids []*child
	for range mine {
		kids = append(kids, proctest.Start(t, "TestNFSSweepHelperProcess", nfsSweepHelperEnv, "raise", nil))
	}
	for _, k := range kids {
		k.Expect(t, "ready")
	}
	for i := 0; i < trials; i++ {
		dir := filepath.Join(nfstest.Dir(t), fmt.Sprintf("raise-%d", i))
		if nfstest.Host() == "hostA" {
			if err := os.MkdirAll(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
		nfsBarrier(t, fmt.Sprintf("raise-%d-created", i), nfsWait)
		nfsBarrier(t, fmt.Sprintf("raise-%d-ready", i), nfsWait)
		for j, k := range kids {
			// Rotate which process starts first, so the largest value is
			// not always written last.
			r := mine[(j+i)%len(mine)]
			rec := ""
			if r[1] != 0 {
				rec = r[1].String()
			}
			k.Send(t, dir+"\t"+r[0].String()+"\t"+rec)
		}
		for _, k := range kids {
			k.Expect(t, "done")
		}
		nfsBarrier(t, fmt.Sprintf("raise-%d-done", i), nfsWait)
		if err := nfstest.RefreshDir(dir); err != nil {
			t.Fatal(err)
		}
		if got := markerIdle(t, dir); got != 7*time.Hour {
			t.Errorf("trial %d: marker %v seen from %s, want the largest idle in use, 7h", i, got, nfstest.Host())
		}
	}
	for _, k := range kids {
		k.Finish(t)
	}
}

// nfsMovedAside*: hostA sweeps and stops after judging an expired record
// of hostB's, and again after moving it aside; hostB saves a fresh record
// over it in between, then Loads while the sweep holds it aside. The Load
// must see the fresh record, and the sweep must put it back, though
// hostA's client believes the aside name holds the judged file (it moved
// its own cached entry there). In the "held open" round hostB keeps the
// expired file open across its save, so that the server keeps it alive
// (with no link) and hostA's forced GETATTR does not fail with ESTALE.
var nfsMovedAsideRounds = []string{"plain", "held open", "plain again"}

func nfsMovedAsideA(t *testing.T) {
	ctx := nfsCtx(t, 3*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	for r, round := range nfsMovedAsideRounds {
		var judged string
		var judgedIno uint64
		oldCheck := "not run"
		s.SetSweepHooksForTest(nil,
			func(p string) {
				judged = p
				var st syscall.Stat_t
				if err := syscall.Lstat(p, &st); err == nil {
					judgedIno = uint64(st.Ino)
				}
				nfsSignal(t, fmt.Sprintf("judged-%d", r))
				nfsWaitSig(t, fmt.Sprintf("saved-%d", r), nfsWait)
			},
			func(p string) {
				// What the old check, a plain lstat of the aside name,
				// would have concluded on this client.
				var st syscall.Stat_t
				aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
				switch err := syscall.Lstat(aside, &st); {
				case err != nil:
					oldCheck = err.Error()
				case uint64(st.Ino) == judgedIno:
					oldCheck = "same inode as judged: it would have unlinked hostB's fresh record"
				default:
					oldCheck = "a different inode: it would have put the record back"
				}
				nfsSignal(t, fmt.Sprintf("moved-%d", r))
				nfsWaitSig(t, fmt.Sprintf("loaded-%d", r), nfsWait)
			})
		nfsWaitSig(t, fmt.Sprintf("planted-%d", r), nfsWait)
		st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
		s.SetSweepHooksForTest(nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("round %q: sweep %+v; a plain lstat of the aside name saw %s", round, st, oldCheck)
		if judged == "" {
			t.Fatalf("round %q: the sweep judged nothing expired", round)
		}
		if st.Sessions != 0 {
			t.Errorf("round %q: the sweep removed %d sessions; hostB's fresh record was among them", round, st.Sessions)
		}
		// A failed put-back leaves the record aside, reported; the next
		// sweep settles it.
		if st.SkippedRenewed+st.Errors != 1 {
			t.Errorf("round %q: the sweep neither put the record back nor left it aside reported", round)
		}
		if st, err = s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond}); err != nil || st.Sessions != 0 || st.Errors != 0 {
			t.Errorf("round %q: settling sweep: %+v, %v", round, st, err)
		}
		nfsSignal(t, fmt.Sprintf("settled-%d", r))
		nfsWaitSig(t, fmt.Sprintf("checked-%d", r), nfsWait)
	}
}

func nfsMovedAsideB(t *testing.T) {
	ctx := nfsCtx(t, 3*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	old := time.Now().Add(-2 * time.Hour)
	for r, round := range nfsMovedAsideRounds {
		id := nfsID("aside", r)
		p := s.RecordPathForTest(id)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("expired")}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		nfsSignal(t, fmt.Sprintf("planted-%d", r))
		nfsWaitSig(t, fmt.Sprintf("judged-%d", r), nfsWait)
		var held *os.File
		if round == "held open" {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			held = f
		}
		want := "fresh " + round
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(want)}); err != nil {
			t.Fatal(err)
		}
		nfsSignal(t, fmt.Sprintf("saved-%d", r))
		nfsWaitSig(t, fmt.Sprintf("moved-%d", r), nfsWait)
		if got, err := s.Load(ctx, id); err != nil || string(got.Data) != want {
			t.Errorf("round %q: Load after the Save returned, while hostA's sweep holds the record aside: %v, %v; want %q", round, nfsData(got), err, want)
		}
		nfsSignal(t, fmt.Sprintf("loaded-%d", r))
		nfsWaitSig(t, fmt.Sprintf("settled-%d", r), nfsWait)
		if held != nil {
			held.Close()
		}
		if got, err := s.Load(ctx, id); err != nil || string(got.Data) != want {
			t.Errorf("round %q: Load after the sweeps: %v, %v; want %q", round, nfsData(got), err, want)
		}
		nfsSignal(t, fmt.Sprintf("checked-%d", r))
	}
}

// nfsLostLockA measures the lost-lock window of Locked.Save. First, for a
// few hundred locked read-modify-write cycles, the time from the last lock
// check before the rename to the rename's return: the part of a save
// during which only the fenced temp file keeps a rename delayed by a cut
// that outlasts the lease from overwriting another host's save. Then,
// nfsLostLockCuts times, hostA runs such cycles back to back and cuts its
// own link at a random moment for longer than the lease; hostB takes the
// lock once the server expires hostA's lease and saves; when the link is
// back, hostB's save must still be the record (or the base of a later
// cycle of hostA's), whatever hostA's interrupted cycle reports.
//
// The first cut also serves LeaseLoss (nfs_test.go), which lost its cut of
// its own with delegations off to this one (5-15 s of guest time): hostA
// holds the lock of another session, on another stripe, across it, and
// hostB takes that lock and saves too before it lets the cut end; the
// subtest LeaseLoss then makes LeaseLoss's assertions.
const nfsLostLockCuts = 3

func nfsLostLockA(t *testing.T) {
	ctx := nfsCtx(t, nfsLostLockCuts*nfsCrossCut()+3*time.Minute)
	s := openNFSStore(t)
	id := nfsID("window", 1)
	// LeaseLoss's lock, held across the first cut, taken before hostB
	// waits for it. On the window's stripe, the cycles would wait for it.
	if s.StripeForTest(nfsLeaseID) == s.StripeForTest(id) {
		t.Fatalf("%s and %s share lock stripe %s: pick another ID", nfsLeaseID, id, s.StripeForTest(id))
	}
	lease := nfsLeaseHoldA(t, ctx, s)
	defer lease.l.Unlock()

	var mu sync.Mutex
	var checked time.Time
	var windows []time.Duration
	s.SetLockCheckHookForTest(func(stage string) {
		mu.Lock()
		defer mu.Unlock()
		switch stage {
		case "rename":
			checked = time.Now()
		case "after":
			windows = append(windows, time.Since(checked))
		}
	})
	// cycle is one locked read-modify-write writing v; it returns what it
	// loaded.
	cycle := func(v string) (string, error) {
		l, err := s.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			return "", err
		}
		defer l.Unlock()
		sess, err := l.Load(ctx)
		if errors.Is(err, fsstore.ErrNotFound) {
			sess, err = &fsstore.Session{ID: id}, nil
		}
		if err != nil {
			return "", err
		}
		loaded := string(sess.Data)
		sess.Data = []byte(v)
		return loaded, l.Save(ctx, sess)
	}
	for i := 0; i < 300; i++ {
		if _, err := cycle(fmt.Sprintf("A-warm-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	ws := append([]time.Duration(nil), windows...)
	windows = nil
	mu.Unlock()
	sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
	t.Logf("WINDOW| lock check before the rename to the rename's return, %d locked saves: p50 %v, p90 %v, p99 %v, max %v",
		len(ws), ws[len(ws)/2], ws[len(ws)*9/10], ws[len(ws)*99/100], ws[len(ws)-1])

	for c := 0; c < nfsLostLockCuts; c++ {
		var stop atomic.Bool
		type outcome struct {
			value, loaded string
			err           error
			start         time.Time
			returned      time.Time
		}
		done := make(chan outcome, 1)
		bval := fmt.Sprintf("B-%d", c)
		var sawB atomic.Bool // some cycle of this round built on hostB's save
		go func() {
			for i := 0; ; i++ {
				v := fmt.Sprintf("A-%d-%d", c, i)
				start := time.Now()
				loaded, err := cycle(v)
				if loaded == bval {
					sawB.Store(true)
				}
				if stop.Load() || err != nil {
					done <- outcome{v, loaded, err, start, time.Now()}
					return
				}
			}
		}()
		d := time.Duration(rand.IntN(200)) * time.Millisecond
		time.Sleep(d) // a random moment in the cycles; not waiting for an event
		nfsSignal(t, fmt.Sprintf("cutting-%d", c))
		cutAt := time.Now()
		cut, err := nfstest.CutLink("hostA", nfsCut())
		if err != nil {
			t.Fatal(err)
		}
		downAt := time.Now()
		// The cycle in flight now is cut off wherever it is: the one to
		// judge once the link is back.
		stop.Store(true)
		// Over once hostB has taken the lock and saved (see nfsEndCut).
		if err := cut.EndOnSignal(nfsCtx(t, nfsCrossCut()), t, fmt.Sprintf("b-saved-%d", c)); err != nil {
			t.Fatal(err)
		}
		o := <-done
		nfsWaitSig(t, fmt.Sprintf("b-saved-%d", c), nfsCrossCut())
		got, lerr := s.Load(ctx, id)
		class := "did not write"
		switch {
		case lerr == nil && string(got.Data) == o.value && sawB.Load():
			class = "locked again after hostB's save, built on it"
		case lerr == nil && string(got.Data) == o.value && o.err == nil:
			class = "SILENT CLOBBER"
			t.Errorf("cut %d: hostA's save %q succeeded over hostB's", c, o.value)
		case lerr == nil && string(got.Data) == o.value:
			// Reported or not, hostB's acknowledged save is gone: the
			// fenced temp file must keep a late rename from doing this.
			class = "CLOBBER"
			t.Errorf("cut %d: hostA's save %q overwrote hostB's acknowledged save (hostA's error: %v)", c, o.value, o.err)
		case lerr == nil && string(got.Data) == bval:
		default:
			t.Errorf("cut %d: record after the cut: %v, %v", c, nfsData(got), lerr)
		}
		t.Logf("CUT| %d: link down %v after the request; the cycle in flight (%q, loaded %q) started %v before the link went down, returned %v after: %v (%s); record now %q",
			c, downAt.Sub(cutAt).Round(time.Millisecond), o.value, o.loaded, downAt.Sub(o.start).Round(time.Microsecond),
			o.returned.Sub(downAt).Round(time.Millisecond), o.err, class, nfsData(got))
		nfsSignal(t, fmt.Sprintf("checked-%d", c))
		if c == 0 {
			t.Run("LeaseLoss", func(t *testing.T) {
				defer nfsAbortOnFailure(t)
				nfsLeaseLostA(t, ctx, lease)
			})
		}
	}
	s.SetLockCheckHookForTest(nil)
}

func nfsLostLockB(t *testing.T) {
	ctx := nfsCtx(t, nfsLostLockCuts*nfsCrossCut()+3*time.Minute)
	s := openNFSStore(t)
	id := nfsID("window", 1)
	nfsLeaseTryB(t, s)
	for c := 0; c < nfsLostLockCuts; c++ {
		seen := nfsCutsDown(t)
		nfsWaitSig(t, fmt.Sprintf("cutting-%d", c), 2*time.Minute)
		// Compete for the lock only once hostA's link is down, so that
		// hostB's save falls in the cut.
		deadline := time.Now().Add(nfsWait)
		for len(nfsCutsDown(t)) == len(seen) {
			if time.Now().After(deadline) {
				t.Fatalf("cut %d: hostA's link did not go down within %v", c, nfsWait)
			}
			time.Sleep(10 * time.Millisecond) // a local directory; polling is cheap
		}
		down := time.Now()
		l, err := s.Lock(nfsCtx(t, nfsCrossCut()), id, fsstore.Exclusive)
		if err != nil {
			t.Fatalf("cut %d: Lock while hostA is cut off: %v", c, err)
		}
		sess, err := l.Load(ctx)
		if errors.Is(err, fsstore.ErrNotFound) {
			sess, err = &fsstore.Session{ID: id}, nil
		}
		if err == nil {
			sess.Data = []byte(fmt.Sprintf("B-%d", c))
			err = l.Save(ctx, sess)
		}
		l.Unlock()
		if err != nil {
			t.Fatalf("cut %d: hostB's locked save: %v", c, err)
		}
		if c == 0 {
			// LeaseLoss's lock, before the cut may end.
			nfsLeaseTakeB(t, ctx, s, down)
		}
		nfsSignal(t, fmt.Sprintf("b-saved-%d", c))
		nfsEndCut(t, fmt.Sprintf("b-saved-%d", c))
		nfsWaitSig(t, fmt.Sprintf("checked-%d", c), nfsCrossCut()+nfsWait)
		if c == 0 {
			t.Run("LeaseLoss", func(t *testing.T) {
				defer nfsAbortOnFailure(t)
				nfsLeaseRelockedB(t, ctx, s)
			})
		}
	}
}

// nfsCutsDown lists the harness's records of hostA's links taken down
// (files NAME.down in the guest-local control directory, see
// nfstest.CutLink).
func nfsCutsDown(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(os.Getenv("NFS_CTL"), "hostA-*.down"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// nfsTouched*: hostA's sweep judges hostB's record expired from its
// READDIR; hostB then renews its mtime (a Touch from a host whose clock
// lags, as a SETATTR); hostA's client still caches the old mtime. The
// sweep must put the record back.
func nfsTouchedA(t *testing.T) {
	ctx := nfsCtx(t, 2*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	s.SetSweepHooksForTest(nil, func(string) {
		nfsSignal(t, "judged")
		nfsWaitSig(t, "touched", nfsWait)
	}, nil)
	nfsWaitSig(t, "planted", nfsWait)
	st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
	s.SetSweepHooksForTest(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sweep: %+v", st)
	if st.Sessions != 0 || st.SkippedRenewed != 1 {
		t.Errorf("sweep %+v: want the touched record put back, nothing removed", st)
	}
	nfsSignal(t, "swept")
}

func nfsTouchedB(t *testing.T) {
	ctx := nfsCtx(t, 2*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	id := nfsID("touched", 1)
	p := s.RecordPathForTest(id)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("touched")}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	nfsSignal(t, "planted")
	nfsWaitSig(t, "judged", nfsWait)
	now := time.Now()
	if err := os.Chtimes(p, now, now); err != nil {
		t.Fatal(err)
	}
	nfsSignal(t, "touched")
	nfsWaitSig(t, "swept", nfsWait)
	if got, err := s.Load(ctx, id); err != nil || string(got.Data) != "touched" {
		t.Errorf("Load after the sweep: %v, %v; want the touched session", nfsData(got), err)
	}
}

// nfsDeletedAside*: hostA's sweep judges hostB's record expired; hostB
// touches it (so the sweep will put it back), and deletes it while hostA
// holds it aside. hostB's client has the aside name cached as missing (a
// Load looked there before the record existed), so a Delete that trusted
// its cache would not see hostA's move. The session must stay deleted on
// both hosts. hostB logs the RPCs of that Delete and of plain ones.
func nfsDeletedAsideA(t *testing.T) {
	ctx := nfsCtx(t, 2*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	id := nfsID("deleted-aside", 1)
	s.SetSweepHooksForTest(nil, func(string) {
		nfsSignal(t, "judged")
		nfsWaitSig(t, "touched", nfsWait)
	}, func(string) {
		nfsSignal(t, "aside")
		nfsWaitSig(t, "deleted", nfsWait)
	})
	nfsWaitSig(t, "planted", nfsWait)
	st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
	s.SetSweepHooksForTest(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sweep: %+v", st)
	if st.Sessions != 0 || st.SkippedRenewed != 0 || st.Errors != 0 {
		t.Errorf("sweep %+v: want the deleted record neither removed by the sweep nor put back", st)
	}
	if got, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("hostA: Load after the sweep: %v, %v; want ErrNotFound: a deleted session came back", nfsData(got), err)
	}
	nfsSignal(t, "swept")
}

func nfsDeletedAsideB(t *testing.T) {
	ctx := nfsCtx(t, 2*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	id := nfsID("deleted-aside", 1)
	p := s.RecordPathForTest(id)
	// Caches the name and the aside name as missing.
	if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Load before the Save: %v, want ErrNotFound", err)
	}
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("logged in")}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	nfsSignal(t, "planted")
	nfsWaitSig(t, "judged", nfsWait)
	now := time.Now()
	if err := os.Chtimes(p, now, now); err != nil {
		t.Fatal(err)
	}
	nfsSignal(t, "touched")
	nfsWaitSig(t, "aside", nfsWait)
	m := newNFSMeter(t)
	m.measure("Delete, record aside on the other host", func() error { return s.Delete(ctx, id) })
	nfsSignal(t, "deleted")
	nfsWaitSig(t, "swept", nfsWait)
	if got, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("hostB: Load after the sweep: %v, %v; want ErrNotFound: a deleted session came back", nfsData(got), err)
	}
	// The common case: a Delete of a record under its name, no sweep.
	for i := range nfsRPCReps {
		other := nfsID("deleted-plain", i)
		if err := s.Save(ctx, &fsstore.Session{ID: other, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		m.measure("Delete", func() error { return s.Delete(ctx, other) })
	}
	m.report([]nfsBudget{{"Delete, record aside on the other host", 0}, {"Delete", 0}})
}

// nfsPutBack*: hostA's sweep judges hostB's record expired and stops;
// hostB renews it (a Save, as from a host whose clock lags the file
// server's by more than Grace); the sweep moves the renewed record aside
// and stops again. hostB starts a read of the session, which finds the
// name empty and stops before it looks at the aside name; hostA's sweep
// then finds the record renewed and puts it back (link to the name,
// unlink of the aside name), with no lock of the session. hostB's read
// goes on, finds the aside name empty, and must find the record under its
// name, where it is back on the server: hostB's client has that name
// cached as missing since the read's first look, and answers a look from
// that entry, without an RPC, until it fetches the directory's attributes
// again. Each round reads another way: under the lock with no looks again
// (LoadLockedOnly, as httpsession's Exclusive mode reads), CompareAndSwap
// creating the session (version 0: ErrConflict, not a fresh session saved
// over the live one), and Load, which looks again on NFS.
var nfsPutBackRounds = []string{"LoadLockedOnly", "CompareAndSwap version 0", "Load"}

func nfsPutBackA(t *testing.T) {
	ctx := nfsCtx(t, 2*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	for r, round := range nfsPutBackRounds {
		name := filepath.Base(s.RecordPathForTest(nfsID("put-back", r)))
		s.SetSweepHooksForTest(nil, func(p string) {
			if filepath.Base(p) == name {
				nfsSignal(t, fmt.Sprintf("pb-judged-%d", r))
				nfsWaitSig(t, fmt.Sprintf("pb-renewed-%d", r), nfsWait)
			}
		}, func(p string) {
			if filepath.Base(p) == name {
				nfsSignal(t, fmt.Sprintf("pb-aside-%d", r))
				nfsWaitSig(t, fmt.Sprintf("pb-missed-%d", r), nfsWait)
			}
		})
		nfsWaitSig(t, fmt.Sprintf("pb-planted-%d", r), nfsWait)
		st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
		s.SetSweepHooksForTest(nil, nil, nil)
		nfsSignal(t, fmt.Sprintf("pb-swept-%d", r)) // put back: the Sweep returned
		if err != nil {
			t.Fatal(err)
		}
		if st.Sessions != 0 || st.SkippedRenewed != 1 || st.Errors != 0 {
			t.Errorf("round %q: sweep %+v: want the renewed record put back, nothing removed", round, st)
		}
		nfsWaitSig(t, fmt.Sprintf("pb-checked-%d", r), nfsWait)
	}
}

func nfsPutBackB(t *testing.T) {
	ctx := nfsCtx(t, 2*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	old := time.Now().Add(-2 * time.Hour)
	for r, round := range nfsPutBackRounds {
		id := nfsID("put-back", r)
		p := s.RecordPathForTest(id)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("expired")}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		nfsSignal(t, fmt.Sprintf("pb-planted-%d", r))
		nfsWaitSig(t, fmt.Sprintf("pb-judged-%d", r), nfsWait)
		want := "renewed, " + round
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(want)}); err != nil {
			t.Fatal(err)
		}
		nfsSignal(t, fmt.Sprintf("pb-renewed-%d", r))
		nfsWaitSig(t, fmt.Sprintf("pb-aside-%d", r), nfsWait)
		paused := false
		s.SetAsideLookHookForTest(func(string) {
			if !paused {
				paused = true
				nfsSignal(t, fmt.Sprintf("pb-missed-%d", r))
				nfsWaitSig(t, fmt.Sprintf("pb-swept-%d", r), nfsWait)
			}
		})
		var (
			got *fsstore.Session
			err error
		)
		switch round {
		case "LoadLockedOnly":
			var l *fsstore.Locked
			if l, err = s.Lock(ctx, id, fsstore.Exclusive); err == nil {
				got, err = l.LoadLockedOnly(ctx)
				l.Unlock()
			}
		case "CompareAndSwap version 0":
			err = s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("a fresh session")})
		case "Load":
			got, err = s.Load(ctx, id)
		}
		s.SetAsideLookHookForTest(nil)
		if !paused {
			nfsSignal(t, fmt.Sprintf("pb-missed-%d", r))
			nfsWaitSig(t, fmt.Sprintf("pb-swept-%d", r), nfsWait)
			t.Fatalf("round %q: the read found the record under its name while hostA's sweep held it aside (%v, %v): the scenario's premise failed", round, nfsData(got), err)
		}
		switch {
		case round == "CompareAndSwap version 0":
			if !errors.Is(err, fsstore.ErrConflict) {
				t.Errorf("round %q: CompareAndSwap creating the session while hostA's sweep put it back: %v; want ErrConflict: the session is live", round, err)
			}
		case err != nil || string(got.Data) != want:
			t.Errorf("round %q: read while hostA's sweep put the record back: %v, %v; want %q", round, nfsData(got), err, want)
		}
		if got, err := s.Load(ctx, id); err != nil || string(got.Data) != want {
			t.Errorf("round %q: Load after the sweep: %v, %v; want %q", round, nfsData(got), err, want)
		}
		nfsSignal(t, fmt.Sprintf("pb-checked-%d", r))
	}
}

// nfsNameTaken*: a live record lies aside (.tmp-gc-<name>, as a sweep on
// hostA that died between its move and its settle leaves it), and a Load
// on hostA falls back to it, which leaves hostA's client with the name
// cached as missing; hostB then saves a fresh record under the name. Within
// the directory's attribute cache time (acdirmin, 30 s) hostA must count
// the copy aside as the sweep will treat it: removed as a stale temp file,
// since its put-back fails with EEXIST, not restorable. One round each asks Stats,
// the dry run, and the name check they share (nameTaken) alone; each ends
// with a real sweep on hostA, which must agree, and Loads of hostB's
// record on both hosts. Measured on the 6.1 client with a check that did
// not fetch the directory afresh: the name check alone sent no RPC and
// called the name free (link(2) of a name cached as missing trusts that
// entry, as lstat does); Stats and the dry run counted right all the same,
// because they open the shard directory to list it before they look the
// name up, and that open fetches its attributes (close-to-open), which
// drops the cached entry.
var nfsNameTakenRounds = []string{"Stats", "dry run", "name check"}

func nfsNameTakenA(t *testing.T) {
	ctx := nfsCtx(t, 2*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	for r, round := range nfsNameTakenRounds {
		id := nfsID("name-taken", r)
		p := s.RecordPathForTest(id)
		aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
		held := fmt.Sprintf("held aside %d", r)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(held)}); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p, aside); err != nil { // the dead sweep's move
			t.Fatal(err)
		}
		if got, err := s.Load(ctx, id); err != nil || string(got.Data) != held {
			t.Fatalf("round %q: Load of the record aside: %v, %v; want %q", round, nfsData(got), err, held)
		}
		loaded := time.Now()
		nfsSignal(t, fmt.Sprintf("nt-loaded-%d", r))
		nfsWaitSig(t, fmt.Sprintf("nt-saved-%d", r), nfsWait)
		// The premise: this client still believes the name is free. A
		// plain lstat answers from the cached entry, sending nothing.
		var lst syscall.Stat_t
		if err := syscall.Lstat(p, &lst); !errors.Is(err, syscall.ENOENT) {
			t.Errorf("round %q: %v after the Load, a plain lstat of the name found %v, not its cached 'no such file': the scenario did not set up what it tests",
				round, time.Since(loaded).Round(time.Millisecond), err)
		}
		before, err := nfstest.RPCStats("")
		if err != nil {
			t.Fatal(err)
		}
		// Live counts the previous rounds' records and hostB's at p.
		live := int64(r + 1)
		switch round {
		case "Stats":
			st, err := s.Stats(ctx, fsstore.StatsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st.Restorable != 0 || st.Live != live || st.StaleTemps != 1 || st.Errors != 0 {
				t.Errorf("round %q: Stats: restorable %d, live %d, stale temps %d, errors %d; want restorable 0, live %d, stale temps 1: hostB's record holds the name, so the sweep removes the copy aside",
					round, st.Restorable, st.Live, st.StaleTemps, st.Errors, live)
			}
		case "dry run":
			sw, err := s.Sweep(ctx, fsstore.SweepOptions{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if sw.Restored != 0 || sw.Live != live || sw.Sessions != 0 || sw.Temps != 1 || sw.Errors != 0 {
				t.Errorf("round %q: dry run %+v; want restored 0, live %d, no session and one temp removed: hostB's record holds the name, so the sweep removes the copy aside as a temp file",
					round, sw, live)
			}
		case "name check":
			if taken, err := s.NameTakenForTest(p); err != nil || !taken {
				t.Errorf("round %q: name taken %v, %v; want true: hostB saved a record under it", round, taken, err)
			}
		}
		after, err := nfstest.RPCStats("")
		if err != nil {
			t.Fatal(err)
		}
		d := nfstest.Diff(before, after)
		var ops []string
		for _, op := range slices.Sorted(maps.Keys(d)) {
			ops = append(ops, fmt.Sprintf("%s=%d", op, d[op]))
		}
		t.Logf("round %q: %v after the Load; RPCs: %s", round, time.Since(loaded).Round(time.Millisecond), strings.Join(ops, " "))
		sw, err := s.Sweep(ctx, fsstore.SweepOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sw.Restored != 0 || sw.Live != live || sw.Sessions != 0 || sw.Temps != 1 || sw.Errors != 0 {
			t.Errorf("round %q: sweep %+v; want restored 0, live %d, no session and one temp (the copy aside) removed", round, sw, live)
		}
		if err := syscall.Lstat(aside, &lst); !errors.Is(err, syscall.ENOENT) {
			t.Errorf("round %q: the copy aside after the sweep: lstat %v, want ENOENT", round, err)
		}
		want := fmt.Sprintf("saved on hostB %d", r)
		if got, err := s.Load(ctx, id); err != nil || string(got.Data) != want {
			t.Errorf("round %q: hostA: Load after the sweep: %v, %v; want %q", round, nfsData(got), err, want)
		}
		nfsSignal(t, fmt.Sprintf("nt-swept-%d", r))
		nfsWaitSig(t, fmt.Sprintf("nt-checked-%d", r), nfsWait)
	}
}

func nfsNameTakenB(t *testing.T) {
	ctx := nfsCtx(t, 2*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour))
	for r, round := range nfsNameTakenRounds {
		id := nfsID("name-taken", r)
		want := fmt.Sprintf("saved on hostB %d", r)
		nfsWaitSig(t, fmt.Sprintf("nt-loaded-%d", r), nfsWait)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(want)}); err != nil {
			t.Fatal(err)
		}
		nfsSignal(t, fmt.Sprintf("nt-saved-%d", r))
		nfsWaitSig(t, fmt.Sprintf("nt-swept-%d", r), nfsWait)
		if got, err := s.Load(ctx, id); err != nil || string(got.Data) != want {
			t.Errorf("round %q: hostB: Load after hostA's sweep: %v, %v; want %q", round, nfsData(got), err, want)
		}
		nfsSignal(t, fmt.Sprintf("nt-checked-%d", r))
	}
}

// nfsRemovalSessions and nfsRemovalExpired size the RPC budget scenario:
// 2,000 expired sessions in the default 256 shards (7.8 per shard, as in
// the find -delete comparison's 20,000 with a tenth expired,
// scripts/nfs-gc-bench.sh), beside as many live ones. The directories' own
// RPCs (READDIR, GETATTR, ACCESS) are shared by the removals in them, so
// the removals per shard set the figure, and a sparser store costs more per
// removal; a shard's live records ride in the READDIRs it sends anyway. The
// live count is not the 18,000 of that comparison because writing them took
// 2-3 minutes of the guest: measured, both sizes send the same 2.65 RPCs
// per removal, op for op.
const (
	nfsRemovalSessions = 4000
	nfsRemovalExpired  = 2000
)

// nfsRemovalWriters is how many goroutines write sessions over NFS (the
// rescan's own, when it runs without the removal budget scenario). The
// guest has one CPU, which the writes saturate: more writers only queue,
// and a queue that long made some saves take over 10 s (when the store's
// ceiling counted a whole operation, that was a 503). Measured in the
// guest with the host's two cores busy otherwise: with 32 writers the
// removal budget scenario, which wrote its 4,000 over NFS then, took
// 32-35 s and its saves p99 1.1-1.4 s, max 1.8-2.6 s (and one CI run, on
// a busier machine, had a save over 10 s); with 8 writers it took 28 s,
// p99 0.25 s, max 0.52 s.
const nfsRemovalWriters = 8

// nfsRemovalBudget*: hostA writes the sessions and ages nfsRemovalExpired;
// hostB, whose client has seen none of them, sweeps with sessgc's default
// concurrency and counts every RPC the sweep sends. The budget is 3 RPCs
// per removed session, all told: the READDIRs and directory GETATTRs that
// judge the live ones from their attributes, and the removals themselves.
// find -delete costs 1.39 on the same layout (docs/benchmarks.md).
//
// hostA writes them with the store itself, but on the server, in the
// exported directory (nfstest.ExportPath), not through its NFS mount: what
// the scenario measures is the sweep's RPCs from a client that has seen
// none of the records, whoever wrote them. 4,000 saves over NFS took 27 s
// of the guest's single CPU on a quiet machine, against 20 s on the
// server's tmpfs (64 s against 44 s on a loaded one): each save on NFS
// is round trips that the server and the client both serve on that CPU.
// The records, the shards and their times are the same either way, and
// so are the sweep's RPCs, op for op (2.65 per removal).
func nfsRemovalBudgetA(t *testing.T) {
	ctx := nfsCtx(t, 6*time.Minute)
	openNFSStore(t, fsstore.WithIdleTimeout(time.Hour), fsstore.WithDurability(fsstore.DurabilityNone))
	dir, err := nfstest.ExportPath(nfsStoreDir(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.OnNFS() {
		t.Fatalf("store %s: OnNFS() = true on the server's own export directory", dir)
	}
	old := time.Now().Add(-2 * time.Hour)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, nfsRemovalWriters)
	took := make([]time.Duration, nfsRemovalSessions)
	for range nfsRemovalWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < nfsRemovalSessions; i = int(next.Add(1)) - 1 {
				id := nfsID("budget", i)
				start := time.Now()
				err := s.Save(ctx, &fsstore.Session{ID: id, Data: make([]byte, 960)})
				took[i] = time.Since(start)
				if err == nil && i < nfsRemovalExpired {
					err = os.Chtimes(s.RecordPathForTest(id), old, old)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(took)
	t.Logf("SAVES| %d saves on the server's export directory by %d goroutines: p50 %v, p99 %v, max %v", nfsRemovalSessions, nfsRemovalWriters, took[len(took)/2], took[len(took)*99/100], took[len(took)-1])
	nfsSignal(t, "written")
	nfsWaitSigEvery(t, "swept", 5*time.Minute, nfsIdleLook)
}

func nfsRemovalBudgetB(t *testing.T) {
	ctx := nfsCtx(t, 6*time.Minute)
	// As sessgc opens it: no idle of its own. Before hostA writes, so
	// that this client has seen none of the sessions.
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Second), fsstore.WithCreate(false))
	nfsWaitSigEvery(t, "written", 5*time.Minute, nfsIdleLook)
	before, err := nfstest.RPCStats("")
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	after, err := nfstest.RPCStats("")
	if err != nil {
		t.Fatal(err)
	}
	d := nfstest.Diff(before, after)
	t.Logf("sweep: %+v", st)
	if st.Sessions != nfsRemovalExpired || st.Live != nfsRemovalSessions-nfsRemovalExpired || st.Errors != 0 {
		t.Errorf("sweep %+v: want %d removed, %d live, no errors", st, nfsRemovalExpired, nfsRemovalSessions-nfsRemovalExpired)
	}
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, fmt.Sprintf("%s=%.2f", op, float64(d[op])/float64(max(st.Sessions, 1))))
	}
	per := float64(d.Total()) / float64(max(st.Sessions, 1))
	t.Logf("RPC| sweep, per removed session (%d of %d sessions removed, lease renewals excluded) | %.2f | budget 3 | %s",
		st.Sessions, nfsRemovalSessions, per, strings.Join(parts, " "))
	if per > 3 {
		t.Errorf("the sweep sent %.2f RPCs per removed session (%s), budget 3", per, d)
	}
	// Exactly the expired set is gone: list every shard once.
	left := map[string]bool{}
	data := filepath.Dir(filepath.Dir(s.RecordPathForTest(nfsID("budget", 0))))
	shards, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		nfstest.RefreshDir(filepath.Join(data, sh.Name()))
		ents, err := os.ReadDir(filepath.Join(data, sh.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			left[filepath.Join(data, sh.Name(), e.Name())] = true
		}
	}
	wrong := 0
	for i := 0; i < nfsRemovalSessions; i++ {
		if expired := i < nfsRemovalExpired; left[s.RecordPathForTest(nfsID("budget", i))] == expired {
			wrong++
		}
	}
	if wrong != 0 || len(left) != nfsRemovalSessions-nfsRemovalExpired {
		t.Errorf("after the sweep: %d sessions on the wrong side, %d files left; want exactly the %d live ones", wrong, len(left), nfsRemovalSessions-nfsRemovalExpired)
	}
	nfsSignal(t, "swept")
}
