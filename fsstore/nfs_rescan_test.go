//go:build unix

package fsstore_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/mountinfo"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// nfsRescanSessions is the number of live sessions the rescan scenarios
// walk twice: 7.8 per shard, as in the removal budget scenario.
const nfsRescanSessions = 2000

// nfsRescanBudget is the most RPCs per live session a second pass over
// shards unchanged since this host listed them may send: a directory's
// share (a GETATTR per shard directory, 256 for 2,000 sessions, and the
// pass's clock file), where a GETATTR per file is 1 and more.
const nfsRescanBudget = 0.25

// A second pass over shards unchanged since this host listed them: the
// client lists them from its cache, with the attributes it cached for
// their files, which on the default mount expire 3 to 60 s after they were
// fetched (acregmin, acregmax). hostA mounts the export again with both at
// 0 (its other mount keeps the guest's options), so that every cached
// attribute has expired at once, as after a minute's wait on the default
// mount. A pass that judged each file by a fresh stat sent a GETATTR per
// live session here; on Linux the sweep and Stats count the records their
// cached attributes show live, and the budget is a directory's share.
// Both passes walk the live sessions the removal budget scenario left
// (RemovalRPCBudget, just before: as many live ones as this needs, in the
// same shards, never seen by the second mount), rather than saving as
// many again: that took 14 s of a quiet guest, 30 s of a busy one. Run
// without that scenario (go test -run), hostA saves its own. hostB waits.
// It runs in TestNFSStore's guest with delegations off (see
// nfsScenariosFor): a guest of its own cost CI some 15 s for 2 s of work.
var nfsRescanScenario = nfsScenario{name: "Rescan", hostA: nfsRescan, hostB: func(t *testing.T) {
	// The barrier has hostB make the scenario's signal directory itself:
	// had it first looked for the directory before hostA made it, its
	// client would have cached it as missing for up to acdirmax (60 s),
	// and the wait below would have lasted as long (22 s once).
	nfsBarrier(t, "start", nfsWait)
	// hostA's saves took twice as long as in a guest of their own while
	// hostB looked every 20 ms: a look a second leaves hostA the CPU.
	nfsWaitSigEvery(t, "rescanned", 4*time.Minute, time.Second)
}}

// nfsRescanMountOptions are those of hostA's mount for the rescan: the
// EFS options, with no time for which a cached attribute counts as fresh.
const nfsRescanMountOptions = nfstest.EFSMountOptions + ",acregmin=0,acregmax=0"

func nfsRescan(t *testing.T) {
	ctx := nfsCtx(t, 4*time.Minute)
	nfsBarrier(t, "start", nfsWait)
	mnt := nfstest.MountAgain(t, nfsRescanMountOptions)
	// Without these the second passes would find the attributes fresh and
	// pass for the wrong reason.
	m, err := mountinfo.Lookup(mnt)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"acregmin", "acregmax"} {
		if v, ok := m.Option(o); !ok || v != "0" {
			t.Fatalf("the rescan's mount %s has %s=%q (options %s); want 0", mnt, o, v, m.Options)
		}
	}
	store, id, fill := nfsRescanStore(t)
	rel, err := filepath.Rel(nfstest.Mount(), store)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, rel)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if !s.OnNFS() {
		t.Fatalf("store %s: OnNFS() = false on the rescan's NFS mount", dir)
	}
	if fill {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, nfsRemovalWriters)
		for range nfsRemovalWriters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < nfsRescanSessions; i = int(next.Add(1)) - 1 {
					if err := s.Save(ctx, &fsstore.Session{ID: nfsID("rescan", i), Data: make([]byte, 960)}); err != nil {
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
	}
	// The first pass after this host's saves, which changed every shard,
	// reads them with READDIR; the second lists them from the cache. The
	// sweep's passes leave the shards unchanged, so Stats' first is a
	// second already.
	t.Run("Sweep", func(t *testing.T) {
		nfsRescanPasses(t, mnt, "sweep", func() error {
			st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: 4})
			if err == nil && (st.Live != nfsRescanSessions || st.Removed() != 0 || st.Errors != 0) {
				err = fmt.Errorf("sweep %+v: want %d live, none removed, no errors", st, nfsRescanSessions)
			}
			return err
		})
	})
	t.Run("Stats", func(t *testing.T) {
		if fsstore.SweepJudgesCachedFirstForTest && !s.LooksCachedFirstForTest() {
			t.Fatal("a store on NFS does not look at the cached attributes first")
		}
		// The records' size: what LiveBytes adds up, from cached
		// attributes or fresh ones.
		fi, err := os.Lstat(s.RecordPathForTest(id))
		if err != nil {
			t.Fatal(err)
		}
		size := fi.Size()
		nfsRescanPasses(t, mnt, "stats", func() error {
			st, err := s.Stats(ctx, fsstore.StatsOptions{Concurrency: 4})
			if err == nil && (st.Live != nfsRescanSessions || st.LiveBytes != nfsRescanSessions*size ||
				st.Expired != 0 || st.Errors != 0) {
				err = fmt.Errorf("stats %+v: want %d live of %d bytes, none expired, no errors", st, nfsRescanSessions, nfsRescanSessions*size)
			}
			return err
		})
	})
	if !t.Failed() { // else runNFSScenarios signals hostB to give up
		nfsSignal(t, "rescanned")
	}
}

// nfsRescanStore returns the store the rescan walks (on hostA's first
// mount), one of its live sessions, and whether hostA must save the
// sessions itself: the removal budget scenario's store, once that
// scenario has run in this half (its hostB signalled "swept" after
// checking that exactly its live sessions are left), else this
// scenario's own.
func nfsRescanStore(t *testing.T) (dir, id string, fill bool) {
	t.Helper()
	if nfsRemovalSessions-nfsRemovalExpired != nfsRescanSessions {
		t.Fatalf("the removal budget scenario leaves %d live sessions; the rescan wants %d", nfsRemovalSessions-nfsRemovalExpired, nfsRescanSessions)
	}
	removal := filepath.Join(filepath.Dir(nfstest.Dir(t)), strings.ReplaceAll(filepath.Join(filepath.Dir(t.Name()), nfsRemovalScenario), "/", "_"))
	if _, err := os.Stat(filepath.Join(removal, "sig", "swept")); err == nil {
		t.Logf("walking the %d live sessions %s left", nfsRescanSessions, nfsRemovalScenario)
		return filepath.Join(removal, "store"), nfsID("budget", nfsRemovalExpired), false
	}
	t.Logf("%s has not run in this half: saving %d sessions", nfsRemovalScenario, nfsRescanSessions)
	return nfsStoreDir(t), nfsID("rescan", 0), true
}

// nfsRescanPasses runs pass twice, counting the RPCs of each on the mount
// mnt, and fails the test when the second sends more than nfsRescanBudget
// per live session.
func nfsRescanPasses(t *testing.T, mnt, what string, pass func() error) {
	t.Helper()
	run := func(label string) (float64, nfstest.Stats) {
		t.Helper()
		before, err := nfstest.RPCStats(mnt)
		if err != nil {
			t.Fatal(err)
		}
		if err := pass(); err != nil {
			t.Fatalf("%s %s: %v", label, what, err)
		}
		after, err := nfstest.RPCStats(mnt)
		if err != nil {
			t.Fatal(err)
		}
		d := nfstest.Diff(before, after)
		var parts []string
		for _, op := range slices.Sorted(maps.Keys(d)) {
			parts = append(parts, fmt.Sprintf("%s=%d", op, d[op]))
		}
		per := float64(d.Total()) / nfsRescanSessions
		t.Logf("RPC| %s %s of %d live sessions, attributes cached 0 s, per file | %.3f | %s", label, what, nfsRescanSessions, per, strings.Join(parts, " "))
		return per, d
	}
	run("first")
	if per, d := run("second"); per > nfsRescanBudget {
		t.Errorf("the second %s over unchanged shards sent %.3f RPCs per live session (%s), budget %.2f: a directory's share", what, per, d, nfsRescanBudget)
	}
}
