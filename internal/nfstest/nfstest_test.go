package nfstest_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/nfstest"
)

// waitTimeout bounds every cross-host wait in these tests.
const waitTimeout = 60 * time.Second

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return c
}

// writeAtomic commits data to path by temp file + fsync + rename.
func writeAtomic(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp-" + nfstest.Host()
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestHarness checks the harness on two hosts, in one guest boot with
// delegations off (as on AWS EFS). With delegations on, the store's suite
// (fsstore's TestNFSStore/delegations=true) makes the same cross-host
// renames through the store, and more: a name hostB had looked up and not
// found, then a replacement of a record hostB had read, each seen by its
// next Load. A boot of its own here would add a guest's start to CI and
// nothing that suite does not check.
//
// RenameAcrossHosts: a file that hostA commits by temp+rename is seen whole
// by hostB, first as a new name that hostB had already looked up and not
// found (a cached negative lookup), then as a replacement of a file hostB
// had read.
//
// RPCCounts checks RPCStats against what the Linux NFS client is known to
// send: a stat within the attribute cache time sends nothing, and
// open+read+close of a file without a delegation sends one OPEN (counted
// as OPEN_NOATTR when the client opens by file handle) and one CLOSE.
//
// SquashedExport: the second export (Config.Squashed) maps root to the
// access point's user, where the first keeps root root: a file root makes
// on each is owned so.
//
// CutLink (last) takes hostA's own link down for a moment (shorter than
// the lease) and checks the mount works again afterwards.
func TestHarness(t *testing.T) {
	nfstest.Run(t, harnessGuest, map[string]func(*testing.T){
		"hostA": func(t *testing.T) {
			t.Run("RenameAcrossHosts", renameAcrossHostsA)
			t.Run("RPCCounts", testRPCCounts)
			t.Run("SquashedExport", testSquashedExport)
			t.Run("CutLink", testCutLink)
		},
		"hostB": func(t *testing.T) { t.Run("RenameAcrossHosts", renameAcrossHostsB) },
	})
}

// harnessGuest is TestHarness's guest, which TestMain boots while the
// other tests run (nfstest.Start, with NFSTEST_EARLY=1).
var harnessGuest = nfstest.Config{Hosts: 2, Delay: "1ms", Timeout: 3 * time.Minute, Squashed: nfstest.AccessPointSquash(apUID, apUID)}

// apUID is the user of harnessGuest's second export, an access point's.
const apUID = 1234

func testSquashedExport(t *testing.T) {
	if got, want := nfstest.Squashed(), nfstest.AccessPointSquash(apUID, apUID); got != want {
		t.Fatalf("Squashed() = %q, want %q", got, want)
	}
	for _, c := range []struct {
		dir  string
		want uint32
	}{
		{nfstest.Dir(t), 0},
		{nfstest.SquashedDir(t), apUID},
	} {
		p := filepath.Join(c.dir, "f")
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if uid, gid := fileOwner(t, fi); uid != c.want || gid != c.want {
			t.Errorf("%s, made by root: owned by %d:%d; want %d:%d", p, uid, gid, c.want, c.want)
		}
	}
}

func renameAcrossHostsA(t *testing.T) {
	d := nfstest.Dir(t)
	target := filepath.Join(d, "data", "session")
	sig := filepath.Join(d, "sig") // signals live apart from the data dir
	if err := os.MkdirAll(filepath.Dir(target), 0o777); err != nil {
		t.Fatal(err)
	}
	nfstest.Barrier(t, "start", 0)
	if err := nfstest.WaitFile(ctx(t), filepath.Join(sig, "looked")); err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, target, "v1")
	if err := nfstest.Signal(filepath.Join(sig, "written")); err != nil {
		t.Fatal(err)
	}
	nfstest.Barrier(t, "read-v1", 0)
	writeAtomic(t, target, "v2")
	if err := nfstest.Signal(filepath.Join(sig, "replaced")); err != nil {
		t.Fatal(err)
	}
	nfstest.Barrier(t, "done", 0)
}

func renameAcrossHostsB(t *testing.T) {
	d := nfstest.Dir(t)
	target := filepath.Join(d, "data", "session")
	sig := filepath.Join(d, "sig") // signals live apart from the data dir
	nfstest.Barrier(t, "start", 0)
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("before hostA wrote: stat = %v, want not-exist", err)
	}
	if err := nfstest.Signal(filepath.Join(sig, "looked")); err != nil {
		t.Fatal(err)
	}
	if err := nfstest.WaitFile(ctx(t), filepath.Join(sig, "written")); err != nil {
		t.Fatal(err)
	}
	// Informational: does a plain stat see the new name, or does the
	// cached negative lookup hide it (until the data dir's attributes
	// expire)?
	start := time.Now()
	for {
		_, err := os.Stat(target)
		if err == nil {
			t.Logf("plain stat saw hostA's rename after %v", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > time.Second {
			t.Logf("plain stat still says %v after 1s: a cached negative lookup; WaitFile refreshes the dir", err)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := nfstest.WaitFile(ctx(t), target); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "v1" {
		t.Fatalf("read %q, %v; want v1", b, err)
	}
	nfstest.Barrier(t, "read-v1", 0)
	if err := nfstest.WaitFile(ctx(t), filepath.Join(sig, "replaced")); err != nil {
		t.Fatal(err)
	}
	// Close-to-open: open after hostA's rename sees v2.
	if b, err := os.ReadFile(target); err != nil || string(b) != "v2" {
		t.Fatalf("after replace: read %q, %v; want v2", b, err)
	}
	nfstest.Barrier(t, "done", 0)
}

func testCutLink(t *testing.T) {
	p := filepath.Join(nfstest.Dir(t), "f")
	if err := os.WriteFile(p, []byte("before"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cut, err := nfstest.CutLink(nfstest.Host(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := cut.Wait(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("link back after %v, want >= 2s", d)
	}
	start = time.Now()
	if err := os.WriteFile(p, []byte("after"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "after" {
		t.Fatalf("after the cut: read %q, %v", b, err)
	}
	t.Logf("first write+read after the link came back took %v", time.Since(start).Round(time.Millisecond))
}

func testRPCCounts(t *testing.T) {
	p := filepath.Join(nfstest.Dir(t), "f")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	measure := func(what string, f func()) nfstest.Stats {
		before, err := nfstest.RPCStats("")
		if err != nil {
			t.Fatal(err)
		}
		f()
		after, err := nfstest.RPCStats("")
		if err != nil {
			t.Fatal(err)
		}
		d := nfstest.Diff(before, after)
		t.Logf("%s: %v", what, d)
		return d
	}
	d := measure("cached stat", func() {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	})
	if d.Total() != 0 {
		t.Errorf("stat with cached attributes sent RPCs: %v", d)
	}
	d = measure("open+read+close", func() {
		if b, err := os.ReadFile(p); err != nil || string(b) != "hello" {
			t.Fatalf("read %q, %v", b, err)
		}
	})
	// With the name cached the client opens by file handle, which
	// mountstats counts as OPEN_NOATTR rather than OPEN.
	if d["OPEN"]+d["OPEN_NOATTR"] != 1 || d["CLOSE"] != 1 {
		t.Errorf("open+read+close sent %v; want one OPEN (or OPEN_NOATTR) and one CLOSE", d)
	}
}
