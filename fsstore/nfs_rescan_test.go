//go:build unix

package fsstore_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// nfsRescanSessions is the number of live sessions the rescan scenario
// sweeps twice: 7.8 per shard, as in the removal budget scenario.
const nfsRescanSessions = 2000

// A second sweep over shards unchanged since this host listed them: the
// client lists them from its cache, with the attributes it cached for
// their files, which on the default mount expire 3 to 60 s after they were
// fetched (acregmin, acregmax). The host mounts with both at 0, so that
// every cached attribute has expired at once, as after a minute's wait on
// the default mount. A sweep that judged each file by a fresh stat sent a
// GETATTR per live session here; on Linux it keeps the records their
// cached attributes show live, and the budget is a directory's share.
func TestNFSSweepRescan(t *testing.T) {
	nfstest.Require(t)
	cfg := nfstest.Config{Hosts: 1, Timeout: 5 * time.Minute,
		MountOptions: nfstest.EFSMountOptions + ",acregmin=0,acregmax=0"}
	nfstest.Run(t, cfg, map[string]func(*testing.T){"hostA": nfsRescan})
}

func nfsRescan(t *testing.T) {
	ctx := nfsCtx(t, 4*time.Minute)
	s := openNFSStore(t, fsstore.WithIdleTimeout(time.Hour), fsstore.WithDurability(fsstore.DurabilityNone))
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
	pass := func(label string) (float64, nfstest.Stats) {
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
		if st.Live != nfsRescanSessions || st.Removed() != 0 || st.Errors != 0 {
			t.Errorf("%s sweep %+v: want %d live, none removed, no errors", label, st, nfsRescanSessions)
		}
		d := nfstest.Diff(before, after)
		var parts []string
		for _, op := range slices.Sorted(maps.Keys(d)) {
			parts = append(parts, fmt.Sprintf("%s=%d", op, d[op]))
		}
		per := float64(d.Total()) / nfsRescanSessions
		t.Logf("RPC| %s sweep of %d live sessions, attributes cached 0 s, per file | %.3f | %s", label, nfsRescanSessions, per, strings.Join(parts, " "))
		return per, d
	}
	// The first after this host's saves, which changed every shard: read
	// with READDIR.
	pass("first")
	if per, d := pass("second"); per > 0.25 {
		t.Errorf("the second sweep over unchanged shards sent %.3f RPCs per live session (%s), budget 0.25: a directory's share", per, d)
	}
}
