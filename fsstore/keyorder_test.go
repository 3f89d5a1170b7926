package fsstore

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
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

// A record that does not authenticate under its key (forged by someone
// without the key, or moved from another key) is no record: it is not
// believed, and the next host that makes the key newest replaces it.
func TestKeyOrderForgedRecordReplaced(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := testKeyring(t, 1), testKeyring(t, 2)
	for _, kr := range []*keyring{k1, k2} {
		if err := kr.recordNewest(dir, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Key 2's record put in place of key 1's: it would say key 1 became
	// newest after key 2.
	b, err := os.ReadFile(keyNewestPath(dir, 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyNewestPath(dir, 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyNewestPath(dir, 1), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if seq, err := keyBecameNewest(dir, 1, k1.aeads[1]); !errors.Is(err, errNoKeyOrder) {
		t.Fatalf("key 1 with key 2's record: number %d, %v; want errNoKeyOrder", seq, err)
	}
	if err := k1.recordNewest(dir, 0o600); err != nil {
		t.Fatal(err)
	}
	if seq, err := keyBecameNewest(dir, 1, k1.aeads[1]); err != nil || seq != 3 {
		t.Errorf("key 1 recorded again over the forged record: number %d, %v; want 3", seq, err)
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
	taken, err := recordNewestAt(dir, 7, kr.aeads[7], 3, 0o600, false)
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

// Something planted at a key's record that is no file to read (a symbolic
// link, here to another key's record) fails no Open: it is no record, and
// is replaced.
func TestKeyOrderPlantedLinkReplaced(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := testKeyring(t, 1), testKeyring(t, 2)
	if err := k2.recordNewest(dir, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(keyNewestPath(dir, 2), keyNewestPath(dir, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := keyBecameNewest(dir, 1, k1.aeads[1]); !errors.Is(err, errNoKeyOrder) {
		t.Fatalf("a symbolic link at key 1's record: %v; want errNoKeyOrder", err)
	}
	if err := k1.recordNewest(dir, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(keyNewestPath(dir, 1))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("key 1's record after it was recorded again: %v, %v; want a regular file", fi, err)
	}
	if seq, err := keyBecameNewest(dir, 1, k1.aeads[1]); err != nil || seq != 2 {
		t.Errorf("key 1: number %d, %v; want 2", seq, err)
	}
}
