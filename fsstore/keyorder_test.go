package fsstore

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func testKeyring(t *testing.T, ids ...uint32) *keyring {
	t.Helper()
	keys := make([]Key, len(ids))
	for i, id := range ids {
		keys[i] = Key{ID: id, Secret: make([]byte, 32)}
		rand.Read(keys[i].Secret)
	}
	kr, err := newKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// Hosts that make keys newest at the same instant each take a number of
// their own, by links the file system makes for one of them only; hosts
// that record the same key agree on one number, the first recorded; and a
// key recorded later has a larger number, whatever the files' times.
func TestKeyOrderRecordedOnceInOrder(t *testing.T) {
	dir := t.TempDir()
	old := testKeyring(t, 1)
	if err := old.recordNewest(dir, 0o600); err != nil {
		t.Fatal(err)
	}
	// Eight hosts: four make key 2 newest, four key 3 (a fleet split
	// mid-rotation), all at once.
	k2, k3 := testKeyring(t, 2), testKeyring(t, 3)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		kr := k2
		if i%2 == 1 {
			kr = k3
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- kr.recordNewest(dir, 0o600)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	at := map[uint32]uint64{}
	for _, kr := range []*keyring{old, k2, k3} {
		seq, err := keyBecameNewest(dir, kr.newest, kr.aeads[kr.newest])
		if err != nil {
			t.Fatalf("key %d: %v", kr.newest, err)
		}
		at[kr.newest] = seq
		if _, err := os.Lstat(keyOrderPath(dir, seq)); err != nil {
			t.Errorf("key %d's number %d is not in the sequence: %v", kr.newest, seq, err)
		}
	}
	if at[1] != 1 || at[2] == at[3] || at[2] <= 1 || at[3] <= 1 {
		t.Errorf("numbers %v: want key 1 first, keys 2 and 3 after it, apart", at)
	}
	// Recorded again (a restart, a reload): nothing changes.
	before, _ := filepath.Glob(filepath.Join(dir, ".key*"))
	if err := k2.recordNewest(dir, 0o600); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(dir, ".key*"))
	if seq, err := keyBecameNewest(dir, 2, k2.aeads[2]); err != nil || seq != at[2] || len(after) != len(before) {
		t.Errorf("key 2 recorded again: number %d (%v), %d files (%d before); want %d, nothing written", seq, err, len(after), len(before), at[2])
	}
	// No temp file is left.
	if tmp, _ := filepath.Glob(filepath.Join(dir, tempPrefix+"*")); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

// A record that is not valid (forged by someone without the key, moved
// from another key, damaged, or something planted there) is no record: it
// is not believed, and not recorded again with a fresh number, which would
// make the key look newer than keys made newest after it.
func TestKeyOrderBadRecordLeft(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, dir string)
	}{{
		// Key 2's record put in place of key 1's: it would say key 1
		// became newest after key 2.
		name: "forged",
		plant: func(t *testing.T, dir string) {
			b, err := os.ReadFile(keyNewestPath(dir, 2))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(keyNewestPath(dir, 1), b, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	}, {
		name: "damaged",
		plant: func(t *testing.T, dir string) {
			if err := os.WriteFile(keyNewestPath(dir, 1), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
	}, {
		name: "symbolic link",
		plant: func(t *testing.T, dir string) {
			if err := os.Symlink(keyNewestPath(dir, 2), keyNewestPath(dir, 1)); err != nil {
				t.Fatal(err)
			}
		},
	}, {
		name: "directory",
		plant: func(t *testing.T, dir string) {
			if err := os.Mkdir(keyNewestPath(dir, 1), 0o700); err != nil {
				t.Fatal(err)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k1, k2 := testKeyring(t, 1), testKeyring(t, 2)
			if err := k1.recordNewest(dir, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := k2.recordNewest(dir, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(keyNewestPath(dir, 1)); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, dir)
			if seq, err := keyBecameNewest(dir, 1, k1.aeads[1]); !errors.Is(err, errBadKeyOrder) {
				t.Fatalf("key 1's record %s: number %d, %v; want errBadKeyOrder", tc.name, seq, err)
			}
			if err := k1.recordNewest(dir, 0o600); !errors.Is(err, errBadKeyOrder) {
				t.Errorf("key 1 recorded over a record %s: %v; want errBadKeyOrder", tc.name, err)
			}
			if _, err := os.Lstat(keyOrderPath(dir, 3)); err == nil {
				t.Errorf("key 1 took number 3 over a record %s", tc.name)
			}
			if _, err := keyBecameNewest(dir, 1, k1.aeads[1]); !errors.Is(err, errBadKeyOrder) {
				t.Errorf("key 1's record %s after recordNewest: %v; want it left", tc.name, err)
			}
		})
	}
}

// A listing that lags behind the sequence (an NFS client's cached
// directory) costs failed links, not a shared number.
func TestKeyOrderTakenNumbersSkipped(t *testing.T) {
	dir := t.TempDir()
	// Numbers 1..5 taken by other hosts. A number tried below the last
	// one taken (as one from a stale listing is) fails without
	// overwriting it.
	for seq := uint64(1); seq <= 5; seq++ {
		if err := os.WriteFile(keyOrderPath(dir, seq), []byte("another host's"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kr := testKeyring(t, 7)
	taken, err := recordNewestAt(dir, 7, kr.aeads[7], 3, 0o600)
	if err != nil || !taken {
		t.Fatalf("number 3, already taken: taken %v, %v", taken, err)
	}
	if b, _ := os.ReadFile(keyOrderPath(dir, 3)); string(b) != "another host's" {
		t.Errorf("number 3 overwritten: %q", b)
	}
	if err := kr.recordNewest(dir, 0o600); err != nil {
		t.Fatal(err)
	}
	if seq, err := keyBecameNewest(dir, 7, kr.aeads[7]); err != nil || seq != 6 {
		t.Errorf("key 7: number %d, %v; want 6", seq, err)
	}
}

// Hosts that lose a number to a host recording the same key stop there:
// that host's number stands. Seventy hosts took numbers while this one
// listed the store (a listing that lags, as an NFS client's may), one of
// them recording key 7: this host must not try 64 more numbers and fail.
func TestKeyOrderLostNumberStopsAtTheRecord(t *testing.T) {
	dir := t.TempDir()
	kr := testKeyring(t, 7)
	stale := func(dir string, _ uint64) (uint64, error) {
		for seq := uint64(1); seq < 70; seq++ {
			if err := os.WriteFile(keyOrderPath(dir, seq), []byte("another host's"), 0o600); err != nil {
				return 0, err
			}
		}
		if _, err := recordNewestAt(dir, 7, kr.aeads[7], 70, 0o600); err != nil {
			return 0, err
		}
		return 0, nil
	}
	if err := kr.recordNewestListed(dir, 0o600, stale); err != nil {
		t.Fatalf("key 7, recorded by another host meanwhile: %v", err)
	}
	if seq, err := keyBecameNewest(dir, 7, kr.aeads[7]); err != nil || seq != 70 {
		t.Errorf("key 7: number %d, %v; want the other host's 70", seq, err)
	}
	if _, err := os.Lstat(keyOrderPath(dir, 71)); err == nil {
		t.Errorf("number 71 taken after key 7 was recorded")
	}
}

// The guard's verdict from a record it could not read is an error for
// that record, not a fallback to the check files, and is not kept: the
// record is judged again at its next meeting, here once it reads.
func TestRollbackGuardRetriesAfterReadError(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "store")
	kr := testKeyring(t, 2, 1)
	k1, k2 := &keyring{newest: 1, aeads: kr.aeads}, &keyring{newest: 2, aeads: kr.aeads}
	// Not a directory yet: every read of a record fails with ENOTDIR.
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	g := &rollbackGuard{dir: dir}
	if err := g.check(kr, 1); err == nil || errors.Is(err, ErrKeyRollback) {
		t.Fatalf("records unreadable: %v; want the read's error", err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Key 2 made newest first, key 1 after it: [2, 1] is stale.
	for _, r := range []*keyring{k2, k1} {
		if err := r.recordNewest(dir, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.check(kr, 1); !errors.Is(err, ErrKeyRollback) {
		t.Errorf("records readable since: %v; want ErrKeyRollback", err)
	}
}

// TestRollbackGuardCheckFileUnreadable: judged by the key check files (no
// record of the order), a check file that could not be looked at (EIO on a
// mount, not missing) is no verdict, and not kept: taken for an allowance,
// it let a stale key set move every record under the hosts' newest key
// back under its own for the rest of the pass.
func TestRollbackGuardCheckFileUnreadable(t *testing.T) {
	dir := t.TempDir()
	kr := testKeyring(t, 1, 2) // stale: the hosts made key 2 newest since
	old := time.Now().Add(-time.Hour)
	for id, mtime := range map[uint32]time.Time{1: old, 2: time.Now()} {
		p := keyCheckPath(dir, id)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	failing := true
	g := &rollbackGuard{dir: dir, lstat: func(p string) (fs.FileInfo, error) {
		if failing && p == keyCheckPath(dir, 2) {
			return nil, &fs.PathError{Op: "lstat", Path: p, Err: syscall.EIO}
		}
		return os.Lstat(p)
	}}
	if err := g.check(kr, 2); !errors.Is(err, syscall.EIO) {
		t.Fatalf("check file unreadable: %v; want its error, no verdict", err)
	}
	failing = false
	if err := g.check(kr, 2); !errors.Is(err, ErrKeyRollback) {
		t.Errorf("check file readable since: %v; want ErrKeyRollback", err)
	}
}

// A file the guard may not read (permission denied, here a check file)
// fails every record under the key the same way until the operator fixes
// it: the first check returns ErrKeyOrderUnreadable, naming the file; the
// later ones of the pass return it as already reported, without another
// look; a key set reloaded meanwhile is judged afresh.
func TestRollbackGuardUnreadableKept(t *testing.T) {
	dir := t.TempDir()
	kr := testKeyring(t, 1, 2)
	for _, id := range []uint32{1, 2} {
		if err := os.WriteFile(keyCheckPath(dir, id), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var looks int
	g := &rollbackGuard{dir: dir, lstat: func(p string) (fs.FileInfo, error) {
		looks++
		if p == keyCheckPath(dir, 2) {
			return nil, &fs.PathError{Op: "lstat", Path: p, Err: syscall.EACCES}
		}
		return os.Lstat(p)
	}}
	err := g.check(kr, 2)
	if !errors.Is(err, ErrKeyOrderUnreadable) || !errors.Is(err, fs.ErrPermission) || errors.Is(err, errKeyOrderReported) {
		t.Fatalf("check file unreadable: %v; want ErrKeyOrderUnreadable, reported", err)
	}
	if !strings.Contains(err.Error(), keyCheckPath(dir, 2)) {
		t.Errorf("the error does not name %s: %v", keyCheckPath(dir, 2), err)
	}
	first := looks
	for range 3 {
		if err := g.check(kr, 2); !errors.Is(err, errKeyOrderReported) || !errors.Is(err, ErrKeyOrderUnreadable) {
			t.Fatalf("check of the next record under key 2: %v; want it left as already reported", err)
		}
	}
	if looks != first {
		t.Errorf("%d more looks at the check files after the first judgement, want 0", looks-first)
	}
	if err := g.check(testKeyring(t, 1, 2), 2); errors.Is(err, errKeyOrderReported) || !errors.Is(err, ErrKeyOrderUnreadable) {
		t.Errorf("another key set: %v; want judged afresh and reported", err)
	}
}

// A number planted far beyond the sequence (by a writer of the mount,
// who needs no key to name a file .keyorder-N) is not taken for the last
// one: .keyorder-18446744073709551615 stopped every host from recording a
// key as newest ("the sequence is at its end"), and with it the rekey's
// order and the hosts' judgement of their newest key. Numbers within
// keyOrderTries of the sequence are passed as before.
func TestKeyOrderPlantedFarNumberSkipped(t *testing.T) {
	for _, tc := range []struct {
		name    string
		planted []uint64
		want    uint64 // key 2's number, key 1's being 1
	}{
		{"at the end", []uint64{math.MaxUint64}, 2},
		{"far", []uint64{1 << 40, 1<<40 + 1}, 2},
		{"near, then far", []uint64{30, 90, 1 << 40}, 91},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k1, k2 := testKeyring(t, 1), testKeyring(t, 2, 1)
			k2.aeads[1], k2.ids[1] = k1.aeads[1], k1.ids[1]
			if err := k1.recordNewest(dir, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.planted {
				if err := os.WriteFile(keyOrderPath(dir, n), []byte("planted"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := k2.recordNewest(dir, 0o600); err != nil {
				t.Fatalf("key 2 made newest: %v", err)
			}
			if seq, err := keyBecameNewest(dir, 2, k2.aeads[2]); err != nil || seq != tc.want {
				t.Errorf("key 2: number %d, %v; want %d", seq, err, tc.want)
			}
		})
	}
}

// The reach of lastKeyOrder (keyOrderTries past the numbers it reached)
// never makes a host take a number at or below one taken before it, in
// the sequences hosts make: a key made newest later always gets a larger
// number, whatever keys the host holds (a brand-new key set, which has
// no record to start from; an old key, whose record is far behind; keys
// whose records it cannot read), past numbers taken by hosts that died
// before recording their key (more of them in a row than the reach), and
// past a number planted within reach.
func TestKeyOrderReachKeepsLaterLarger(t *testing.T) {
	// takeRun records n keys, IDs from first on, one after the other,
	// each by a host that holds it alone.
	takeRun := func(t *testing.T, dir string, first uint32, n int) {
		t.Helper()
		for id := first; id < first+uint32(n); id++ {
			if err := testKeyring(t, id).recordNewest(dir, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	// orphans takes n numbers after last without recording a key: hosts
	// that linked .keyorder-N and died before .keynewest-ID.
	orphans := func(t *testing.T, dir string, last uint64, n int) {
		t.Helper()
		f := filepath.Join(dir, "orphan")
		if err := os.WriteFile(f, []byte("a number whose host died"), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(f)
		for seq := last + 1; seq <= last+uint64(n); seq++ {
			if err := os.Link(f, keyOrderPath(dir, seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	old := testKeyring(t, 1)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		kr    *keyring // makes its newest key newest last
		want  uint64
	}{
		{"a brand-new key set after a long sequence", func(t *testing.T, dir string) {
			takeRun(t, dir, 10, 3*keyOrderTries)
		}, testKeyring(t, 900), 3*keyOrderTries + 1},
		{"an old key far behind", func(t *testing.T, dir string) {
			noErr(t, old.recordNewest(dir, 0o600))
			takeRun(t, dir, 10, 3*keyOrderTries)
		}, withKey(testKeyring(t, 900), old, 1), 3*keyOrderTries + 2},
		{"more hosts died than the reach", func(t *testing.T, dir string) {
			noErr(t, old.recordNewest(dir, 0o600))
			orphans(t, dir, 1, 2*keyOrderTries)
		}, withKey(testKeyring(t, 900), old, 1), 2*keyOrderTries + 2},
		{"a brand-new key set past hosts that died", func(t *testing.T, dir string) {
			noErr(t, old.recordNewest(dir, 0o600))
			orphans(t, dir, 1, 2*keyOrderTries)
			takeRun(t, dir, 10, 2)
		}, testKeyring(t, 900), 2*keyOrderTries + 4},
		{"a brand-new key set past a number planted within reach", func(t *testing.T, dir string) {
			noErr(t, old.recordNewest(dir, 0o600))
			noErr(t, os.WriteFile(keyOrderPath(dir, keyOrderTries), []byte("planted"), 0o600))
			takeRun(t, dir, 10, 1)
		}, testKeyring(t, 900), keyOrderTries + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			noErr(t, tc.kr.recordNewest(dir, 0o600))
			got, err := keyBecameNewest(dir, tc.kr.newest, tc.kr.aeads[tc.kr.newest])
			if err != nil || got != tc.want {
				t.Fatalf("key %d made newest last: number %d, %v; want %d", tc.kr.newest, got, err, tc.want)
			}
			ents, err := os.ReadDir(dir)
			noErr(t, err)
			for _, e := range ents {
				if n, ok := keyOrderNumber(e.Name()); ok && n > got {
					t.Errorf("key %d made newest last took %d, below %s", tc.kr.newest, got, e.Name())
				}
			}
		})
	}
}

// withKey returns kr with key id of other added, as a host holds it.
func withKey(kr, other *keyring, id uint32) *keyring {
	kr.aeads[id], kr.ids[id] = other.aeads[id], other.ids[id]
	return kr
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
