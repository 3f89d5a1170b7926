//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// TestNFSOutageBound: a host whose link to the server is cut (its hard
// mount's calls then block until the link returns) gets ErrUnavailable at
// each operation's deadline instead of waiting with it; after three
// timeouts the breaker opens and operations fail at once; no more than the
// bound's operations stay stuck in the kernel; Health says unavailable
// while the server is gone and healthy again after, when the breaker's
// probe has closed it. A locked save given up on before its rename is
// skipped, and its lock is released only once it has returned.
func TestNFSOutageBound(t *testing.T) {
	nfstest.Require(t)
	nfstest.Run(t, nfsBoundConfig, map[string]func(*testing.T){"hostA": nfsOutageBoundA})
}

// nfsBoundConfig is TestNFSOutageBound's guest: 1 ms each way, the
// latency class of EFS within a region, for the cost measurement
// (nfsBoundCost) that runs first.
var nfsBoundConfig = nfstest.Config{Hosts: 1, Delay: "1ms", Lease: 30 * time.Second, Timeout: 5 * time.Minute}

func nfsOutageBoundA(t *testing.T) {
	const (
		bound    = 4
		deadline = time.Second
		cut      = 12 * time.Second // under the lease: the server keeps our state
	)
	obs := &boundRecorder{}
	if err := os.MkdirAll(nfsStoreDir(t), 0o777); err != nil {
		t.Fatal(err)
	}
	s, err := fsstore.Open(nfsStoreDir(t),
		fsstore.WithMaxInFlight(bound),
		fsstore.WithOpTimeout(5*time.Second),
		fsstore.WithBreaker(3, time.Second),
		fsstore.WithObserver(obs),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.OnNFS() {
		t.Fatal("store not on NFS")
	}
	bg := context.Background()
	nfsBoundCost(t, s)
	id, other := newID(t), newID(t)
	for _, i := range []string{id, other} {
		if err := s.Save(bg, &fsstore.Session{ID: i, Data: []byte("before")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Health(bg); err != nil {
		t.Fatalf("Health before the cut: %v", err)
	}
	l, err := s.Lock(bg, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := l.Load(bg)
	if err != nil {
		t.Fatal(err)
	}

	c, err := nfstest.CutLink("hostA", cut)
	if err != nil {
		t.Fatal(err)
	}
	cutAt := time.Now()
	nfstest.Event("link cut")

	// timed runs op with the deadline and checks it came back by then
	// (plus scheduling slack) with ErrUnavailable.
	timed := func(what string, op func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bg, deadline)
		defer cancel()
		start := time.Now()
		err := op(ctx)
		took := time.Since(start)
		nfstest.Event("%s during the cut: %v after %v", what, err, took.Round(time.Millisecond))
		if !errors.Is(err, fsstore.ErrUnavailable) {
			t.Errorf("%s during the cut = %v, want ErrUnavailable", what, err)
		}
		if took > deadline+time.Second {
			t.Errorf("%s during the cut took %v, deadline %v", what, took, deadline)
		}
	}

	sess.Data = []byte("during")
	timed("locked Save", func(ctx context.Context) error { return l.Save(ctx, sess) })
	if err := l.Unlock(); !errors.Is(err, fsstore.ErrUnavailable) {
		t.Errorf("Unlock with the save given up on still stuck = %v, want ErrUnavailable (released later)", err)
	}
	for i := 0; i < 2; i++ {
		timed("Load", func(ctx context.Context) error { _, err := s.Load(ctx, other); return err })
	}
	if got := s.Breaker(); got == fsstore.BreakerClosed {
		t.Errorf("breaker %v after 3 timeouts, want open", got)
	}
	// Open: operations fail at once, and take no slot.
	for i := 0; i < 10; i++ {
		timed("Load, breaker open", func(ctx context.Context) error { _, err := s.Load(ctx, other); return err })
	}
	if n := s.InFlightForTest(); n > bound {
		t.Errorf("%d operations in flight, bound %d", n, bound)
	}
	timed("Health", s.Health)

	if err := c.Wait(nfsCtx(t, cut+nfsWait)); err != nil {
		t.Fatal(err)
	}
	nfstest.Event("link back after %v", time.Since(cutAt).Round(time.Millisecond))
	ctx := nfsCtx(t, nfsWait)
	for s.Breaker() != fsstore.BreakerClosed || s.InFlightForTest() != 0 {
		if ctx.Err() != nil {
			t.Fatalf("breaker %v, %d operations in flight, %v after the link came back", s.Breaker(), s.InFlightForTest(), nfsWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
	nfstest.Event("breaker closed, nothing in flight, %v after the cut", time.Since(cutAt).Round(time.Millisecond))
	if err := s.Health(bg); err != nil {
		t.Errorf("Health after the outage: %v", err)
	}
	got, err := s.Load(bg, id)
	if err != nil || string(got.Data) != "before" {
		t.Errorf("after the outage the record is %v, %v; want \"before\" (the save given up on before its rename is skipped)", nfsData(got), err)
	}
	if n := obs.count(fsstore.OpSave, fsstore.OutcomeLate); n != 0 {
		t.Errorf("%d late saves reported, want 0", n)
	}
	// The lock given back after the stuck save returned is free.
	l2, err := s.Lock(nfsCtx(t, nfsWait), id, fsstore.Exclusive)
	if err != nil {
		t.Fatalf("Lock after the outage: %v", err)
	}
	if err := l2.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// nfsBoundCost logs what the hand-off costs a locked cycle on NFS: the
// same cycles through the bounded store and through an unbounded one on
// the same directory, alternating, medians compared. A measurement for
// docs/measurements.md, not an assertion.
func nfsBoundCost(t *testing.T, bounded *fsstore.Store) {
	plain, err := fsstore.Open(nfsStoreDir(t), fsstore.WithMaxInFlight(0))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	bg := context.Background()
	id := newID(t)
	if err := plain.Save(bg, &fsstore.Session{ID: id, Data: make([]byte, 1024)}); err != nil {
		t.Fatal(err)
	}
	cycle := func(s *fsstore.Store) time.Duration {
		start := time.Now()
		l, err := s.Lock(bg, id, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := l.Load(bg)
		if err == nil {
			sess.Data[0]++
			err = l.Save(bg, sess)
		}
		if uerr := l.Unlock(); err == nil {
			err = uerr
		}
		if err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	var b, p []time.Duration
	// The Meter counts each cycle's FREE_STATEID, which the client sends
	// after the unlock returned, with that cycle, not with the other
	// store's next one.
	m := nfstest.NewMeter(t)
	counted := func(name string, s *fsstore.Store) time.Duration {
		var d time.Duration
		m.Measure("locked cycle, "+name, func() error { d = cycle(s); return nil })
		return d
	}
	// Enough for a median of each: 200 of each took some 15 s of the
	// guest (and of CI) for a figure that is only logged.
	const cycles = 50
	for i := 0; i < cycles; i++ {
		b = append(b, counted("bounded", bounded))
		p = append(p, counted("unbounded", plain))
	}
	mb, mp := median(b), median(p)
	t.Logf("locked cycle on NFS, 1 KiB, %d each alternating: median bounded %v, unbounded %v, ratio %.3f", cycles, mb, mp, float64(mb)/float64(mp))
	m.Report([]nfstest.Budget{{Name: "locked cycle, bounded"}, {Name: "locked cycle, unbounded"}})
	nfstest.Event("locked cycle median bounded %v unbounded %v", mb, mp)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
