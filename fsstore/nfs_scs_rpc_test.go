//go:build unix

package fsstore_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// The round trips of scsstore's operations on a warm client, with its
// delete guard (the default) and without (WithoutDeleteGuard): what the
// guard costs each Commit and Delete. hostA measures; hostB writes the
// sessions hostA then finds, commits or deletes as "other host wrote
// last", as a fleet without sticky load balancing does.

// nfsSCSRPCBudgets are scsstore's operations and their budgets, checked
// against the median repetition as nfsRPCBudgets are. The sums are those
// of the fsstore operations each one is made of (see nfsRPCBudgets).
var nfsSCSRPCBudgets = []nfsBudget{
	// Find is the same with the guard and without: a Load, and a
	// tombstone is told apart from the payload it reads.
	{"scs Find, this host wrote last", 3},
	{"scs Find, other host wrote last", 6},
	// The guard's commit is Lock+Load+Save+Unlock (nfsRPCBudgets: 11 and
	// 14), a new session's Load a miss: the directory's GETATTR, the
	// OPENs of the name, of the sweep's aside name and of a locked
	// Delete's, which answer "no such file", and the directory's GETATTR
	// again before the name's last look (see readMovedAside), with no
	// looks again (Locked.LoadLockedOnly; a Load would send five GETATTRs
	// more).
	{"scs Commit, new session, guard", 13},
	{"scs Commit, new session, no guard", 4},
	{"scs Commit, this host wrote last, guard", 11},
	{"scs Commit, this host wrote last, no guard", 4},
	{"scs Commit, other host wrote last, guard", 14},
	// A Save where another host wrote last looks the name up (LOOKUP,
	// ACCESS) before its RENAME replaces it.
	{"scs Commit, other host wrote last, no guard", 7},
	// The guard's delete is a Save under the lock, with no Load. Without
	// the guard a Delete's six unlinks (see Store.delete) but the locked
	// Delete's aside name start with the directory's GETATTR; the removals
	// of names already gone are answered from the client's cache, but
	// where another host wrote last, which takes a LOOKUP of that name.
	{"scs Delete, this host wrote last, guard", 8},
	{"scs Delete, this host wrote last, no guard", 6},
	{"scs Delete, other host wrote last, guard", 11},
	{"scs Delete, other host wrote last, no guard", 11},
}

// nfsSCSTokens returns n tokens (tag 0 to n-1) whose records share a
// shard directory with base's, so that no measurement pays for looking
// up, or creating, a directory this host has not used yet: on a store in
// use every shard has records, and a host serving it has visited them.
func nfsSCSTokens(st *fsstore.Store, base, tag string, n int) []string {
	dir := filepath.Dir(st.RecordPathForTest(base))
	var out []string
	for i := 0; len(out) < n; i++ {
		if id := nfsID(tag, i); filepath.Dir(st.RecordPathForTest(id)) == dir {
			out = append(out, id)
		}
	}
	return out
}

// nfsSCSCase is one of the cases measured after hostB's write, in turn.
type nfsSCSCase struct {
	name  string
	op    string // find, commit, delete
	guard bool
	token string
}

func nfsSCSCases(st *fsstore.Store) []nfsSCSCase {
	base := nfsID("scsrpc", 0)
	tok := nfsSCSTokens(st, base, "scsrpc-other", 5)
	return []nfsSCSCase{
		{"scs Find, other host wrote last", "find", true, tok[0]},
		{"scs Commit, other host wrote last, guard", "commit", true, tok[1]},
		{"scs Commit, other host wrote last, no guard", "commit", false, tok[2]},
		{"scs Delete, other host wrote last, guard", "delete", true, tok[3]},
		{"scs Delete, other host wrote last, no guard", "delete", false, tok[4]},
	}
}

// nfsSCSData is a session's data as scs encodes it: a gob of the
// deadline and a few values, some hundred bytes.
var nfsSCSData = bytes.Repeat([]byte("scs"), 70)

// nfsSCSReps is how often each case is measured: fewer than nfsRPCReps,
// since the counts are the same from one repetition to the next but for
// the client's attribute-cache expiries, and every repetition after
// another host's write costs a signal each way between the hosts.
const nfsSCSReps = 9

func nfsSCSRPCA(t *testing.T) {
	ctx := nfsCtx(t, 3*time.Minute)
	st := openNFSStore(t)
	guard, plain := scsstore.New(st), scsstore.New(st, scsstore.WithoutDeleteGuard())
	stores := []struct {
		name string
		s    *scsstore.Store
	}{{"guard", guard}, {"no guard", plain}}
	expiry := time.Now().Add(time.Hour)
	base := nfsID("scsrpc", 0)
	own := nfsSCSTokens(st, base, "scsrpc-own", 5) // find; commit guard, plain; delete guard, plain
	fresh := nfsSCSTokens(st, base, "scsrpc-new", 2*nfsSCSReps)
	cases := nfsSCSCases(st)

	// Warm up: the shard directory, each token's lock descriptor (kept
	// open by a host that serves the store), cached attributes.
	warm := append(append([]string{base}, own...), fresh...)
	for _, c := range cases {
		warm = append(warm, c.token)
	}
	for _, tok := range warm {
		l, err := st.Lock(ctx, tok, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		for _, tok := range append([]string{base}, own...) {
			if err := guard.CommitCtx(ctx, tok, nfsSCSData, expiry); err != nil {
				t.Fatal(err)
			}
			if _, found, err := guard.FindCtx(ctx, tok); err != nil || !found {
				t.Fatalf("Find after Commit: found %v, %v", found, err)
			}
		}
	}

	m := newNFSMeter(t)
	m.watch(st) // its marker re-read, due every 2 s, is no commit's or find's
	find := func(s *scsstore.Store, tok string) func() error {
		return func() error {
			b, found, err := s.FindCtx(ctx, tok)
			if err == nil && (!found || !bytes.Equal(b, nfsSCSData)) {
				err = fmt.Errorf("found %v, %d bytes; want the session committed", found, len(b))
			}
			return err
		}
	}
	commit := func(s *scsstore.Store, tok string) func() error {
		return func() error { return s.CommitCtx(ctx, tok, nfsSCSData, expiry) }
	}
	for range nfsSCSReps {
		m.measure("scs Find, this host wrote last", find(guard, own[0]))
	}
	for i, sc := range stores {
		for r := range nfsSCSReps {
			m.measure("scs Commit, new session, "+sc.name, commit(sc.s, fresh[i*nfsSCSReps+r]))
		}
		for range nfsSCSReps {
			m.measure("scs Commit, this host wrote last, "+sc.name, commit(sc.s, own[1+i]))
		}
		for range nfsSCSReps {
			// An unguarded commit writes over the tombstone of the
			// Delete before: the session is there, this host's write.
			if err := plain.CommitCtx(ctx, own[3+i], nfsSCSData, expiry); err != nil {
				t.Fatal(err)
			}
			m.measure("scs Delete, this host wrote last, "+sc.name, func() error { return sc.s.DeleteCtx(ctx, own[3+i]) })
		}
	}
	if _, found, err := guard.FindCtx(ctx, own[3]); err != nil || found {
		t.Errorf("Find after the guarded Delete: found %v, %v", found, err)
	}

	// hostB writes, then hostA measures; the cases take turns.
	for i := range len(cases) * nfsSCSReps {
		nfsSignal(t, fmt.Sprintf("a-%d", i))
		nfsWaitSig(t, fmt.Sprintf("b-%d", i), nfsWait)
		c := cases[i%len(cases)]
		s := plain
		if c.guard {
			s = guard
		}
		switch c.op {
		case "find":
			m.measure(c.name, find(s, c.token))
		case "commit":
			m.measure(c.name, commit(s, c.token))
		case "delete":
			m.measure(c.name, func() error { return s.DeleteCtx(ctx, c.token) })
		}
	}
	nfsSignal(t, fmt.Sprintf("a-%d", len(cases)*nfsSCSReps))
	m.report(nfsSCSRPCBudgets)
}

func nfsSCSRPCB(t *testing.T) {
	ctx := nfsCtx(t, 3*time.Minute)
	st := openNFSStore(t)
	// Unguarded, so that its commit replaces the tombstone hostA's
	// guarded Delete left: the session is there, written by this host.
	plain := scsstore.New(st, scsstore.WithoutDeleteGuard())
	cases := nfsSCSCases(st)
	expiry := time.Now().Add(time.Hour)
	for i := range len(cases) * nfsSCSReps {
		wait, look := nfsWait, 20*time.Millisecond
		if i == 0 {
			// hostA's measurements of its own writes come first.
			wait, look = 3*nfsWait, nfsIdleLook
		}
		nfsWaitSigEvery(t, fmt.Sprintf("a-%d", i), wait, look)
		if err := plain.CommitCtx(ctx, cases[i%len(cases)].token, nfsSCSData, expiry); err != nil {
			t.Fatal(err)
		}
		nfsSignal(t, fmt.Sprintf("b-%d", i))
	}
	nfsWaitSig(t, fmt.Sprintf("a-%d", len(cases)*nfsSCSReps), nfsWait)
}
