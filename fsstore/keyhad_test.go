package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/forge"
)

// lookCount counts a store's looks for key check files, by key ID.
type lookCount struct {
	mu sync.Mutex
	n  map[uint32]int
}

func (c *lookCount) hook(id uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[uint32]int{}
	}
	c.n[id]++
}

func (c *lookCount) take() map[uint32]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = nil
	return n
}

// A record under a key ID this process does not hold is judged by the
// key's check file: there (a host had the key, retired since) it is
// ErrUnknownKey, missing (no host had it) ErrCorrupt. A pass over many
// such records (Range, Rekey, a Load per request) looked once per record,
// an lstat each and on NFS a GETATTR of the store directory before it.
// The answer is kept per store, a check file seen for a minute, one
// missing for 2 seconds (it appears when a host first opens the store
// with the key): one look per key ID and period, whatever the records.
func TestUnknownKeyLooksOncePerKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New()
	retired, cur := mustKey(t, 1), mustKey(t, 2)
	old := openDir(t, dir, fsstore.WithKeys(retired), fsstore.WithIdleTimeout(time.Hour))
	const n = 20
	for range n {
		if err := old.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	for range n {
		if _, err := forge.Write(dir, forge.Record{ID: newID(t), Payload: bytes.Repeat([]byte{1}, 64), Encrypted: true, KeyID: 7}); err != nil {
			t.Fatal(err)
		}
	}
	s := openDir(t, dir, fsstore.WithKeys(cur), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
	var looks lookCount
	s.SetKeyCheckLookHookForTest(looks.hook)
	for _, step := range []struct {
		name    string
		advance time.Duration
		want    map[uint32]int
	}{
		{"first pass", 0, map[uint32]int{1: 1, 7: 1}},
		{"again at once", 0, nil},
		{"never-had answer expired", 2 * time.Second, map[uint32]int{7: 1}},
		{"had answer expired", time.Minute, map[uint32]int{1: 1, 7: 1}},
	} {
		clk.Advance(step.advance)
		st, err := s.Range(ctx, func(*fsstore.Record) bool { return true })
		if err != nil || st.UnknownKey != n || st.Corrupt != n {
			t.Fatalf("%s: Range %+v, %v; want %d unknown-key and %d corrupt", step.name, st, err, n, n)
		}
		if got := looks.take(); !equalLooks(got, step.want) {
			t.Errorf("%s: looked for check files %v, want %v", step.name, got, step.want)
		}
	}
}

func equalLooks(a, b map[uint32]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A never-had answer lasts 2 seconds: a host that then opens the store
// with the key writes its check file, and its records are judged
// unknown-key, not corrupt, once the answer expired.
func TestNeverHadAnswerExpires(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New()
	k1, k3 := mustKey(t, 1), mustKey(t, 3)
	s := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
	forged := newID(t)
	if _, err := forge.Write(dir, forge.Record{ID: forged, Payload: bytes.Repeat([]byte{1}, 64), Encrypted: true, KeyID: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, forged); !errors.Is(err, fsstore.ErrCorrupt) {
		t.Fatalf("Load of a record under a key no host had: %v, want ErrCorrupt", err)
	}
	other := openDir(t, dir, fsstore.WithKeys(k3), fsstore.WithIdleTimeout(time.Hour))
	real := newID(t)
	if err := other.Save(ctx, &fsstore.Session{ID: real, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	if _, err := s.Load(ctx, real); !errors.Is(err, fsstore.ErrUnknownKey) {
		t.Fatalf("Load of a record under a key a host opened the store with since: %v, want ErrUnknownKey", err)
	}
}

// A key's check file is written once, by the first host to open the
// store with the key, and the hosts without the key tell by it a record
// under the key (unknown key) from a forgery (corrupt). Removed while
// the fleet runs with the key (by hand, by a cleanup of old files), it
// made them take every live session under the key for corrupt until a
// host opened the store again: the corrupt-records alert, and
// CompareAndSwap of version 0 replacing the session. The key's record of
// when it became newest, written before any record under it, tells the
// same; and a host with the key writes the check file again from a save,
// looking at most every minute.
func TestRemovedKeyCheckWrittenAgain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		removed []string
		// corruptMeanwhile: a host without the key takes the session
		// for corrupt until the check file is written again.
		corruptMeanwhile bool
	}{
		{"check file", []string{".keycheck-2"}, false},
		{"check file and order record", []string{".keycheck-2", ".keynewest-2"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			clk := fakeclock.New()
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			// A host on the new key, one still on the old.
			newer := openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
			older := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
			id := newID(t)
			if err := newer.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			for _, name := range tc.removed {
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			load := func(when string, corrupt bool) {
				t.Helper()
				_, err := older.Load(ctx, id)
				if corrupt && !errors.Is(err, fsstore.ErrCorrupt) || !corrupt && (!errors.Is(err, fsstore.ErrUnknownKey) || errors.Is(err, fsstore.ErrCorrupt)) {
					t.Errorf("Load by a host without the key %s: %v, want corrupt %v", when, err, corrupt)
				}
			}
			load("after the removal", tc.corruptMeanwhile)
			var looks lookCount
			newer.SetKeyCheckLookHookForTest(looks.hook)
			if err := newer.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("y")}); err != nil {
				t.Fatal(err)
			}
			if got := looks.take(); got != nil {
				t.Errorf("a save within a minute of Open looked for check files %v", got)
			}
			clk.Advance(time.Minute)
			if err := newer.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("z")}); err != nil {
				t.Fatal(err)
			}
			if got, want := looks.take(), map[uint32]int{1: 1, 2: 1}; !equalLooks(got, want) {
				t.Errorf("a save a minute after Open looked for check files %v, want %v", got, want)
			}
			if _, err := os.Lstat(filepath.Join(dir, ".keycheck-2")); err != nil {
				t.Errorf("check file after a save a minute later: %v", err)
			}
			// Past the never-had answer kept from the load above.
			clk.Advance(2 * time.Second)
			load("once a save wrote the check file again", false)
			// The check file written again is the key's: a host opening
			// with another secret under its ID is refused.
			if _, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 2))); err == nil {
				t.Error("Open with another secret under key ID 2 passed the written-again check file")
			}
		})
	}
}

// A keys file reload forgets the answers kept: a key this host looked for
// as one it lacked, then held (it wrote the key's check file) and retired
// again, is judged by the check file there now, not by the answer from
// before it held it.
func TestKeysReloadForgetsKeyAnswers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New() // never moves: no answer expires by itself
	keysPath := filepath.Join(t.TempDir(), "keys")
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	writeFile0600(t, keysPath, keysFileText(k1))
	ev := make(reloadEvents, 64)
	s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
	must(t, err)
	defer s.Close()
	forged := newID(t)
	if _, err := forge.Write(dir, forge.Record{ID: forged, Payload: bytes.Repeat([]byte{1}, 64), Encrypted: true, KeyID: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, forged); !errors.Is(err, fsstore.ErrCorrupt) {
		t.Fatalf("record under a key ID no host had: %v, want ErrCorrupt", err)
	}
	renameOver(t, keysPath, keysFileText(k2, k1))
	if out := waitReload(t, ev); out != fsstore.OutcomeOK {
		t.Fatalf("reload adding key 2: %v", out)
	}
	id := newID(t)
	must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("sealed with key 2")}))
	renameOver(t, keysPath, keysFileText(k1))
	if out := waitReload(t, ev); out != fsstore.OutcomeOK {
		t.Fatalf("reload retiring key 2: %v", out)
	}
	if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrUnknownKey) || errors.Is(err, fsstore.ErrCorrupt) {
		t.Fatalf("record this host sealed under the key it retired: %v, want ErrUnknownKey alone", err)
	}
}

// A check file written again from a save (keepKeyChecks) claims no time:
// in a store whose hosts did not record the order its keys became newest
// (older versions), the rekey guard orders the keys by their check files'
// times, and an old key's check file, the oldest file a cleanup of old
// files removes, written again a minute later, made every record under
// that key look sealed under a key newer than the newest: refused as
// ErrKeyRollback by every rekey, where with the file missing it was
// rewritten, and the old key could not be retired.
func TestKeyCheckWrittenAgainKeepsRotationOrder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	old := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(time.Hour))
	id := newID(t)
	must(t, old.Save(ctx, &fsstore.Session{ID: id, Data: []byte("under key 1")}))
	host := openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
	// Keys made newest by hosts that recorded no order; key 2 an hour
	// after key 1.
	for _, pat := range []string{".keynewest-*", ".keyorder-*"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		must(t, err)
		for _, p := range m {
			must(t, os.Remove(p))
		}
	}
	for id, d := range map[int]time.Duration{1: 2 * time.Hour, 2: time.Hour} {
		at := time.Now().Add(-d)
		must(t, os.Chtimes(filepath.Join(dir, fmt.Sprintf(".keycheck-%d", id)), at, at))
	}
	must(t, os.Remove(filepath.Join(dir, ".keycheck-1")))
	clk.Advance(time.Minute)
	must(t, host.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("under key 2")}))
	if _, err := os.Lstat(filepath.Join(dir, ".keycheck-1")); err != nil {
		t.Fatalf("check file of key 1 after a save a minute later: %v", err)
	}
	gc := openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k2, k1))
	if st, err := gc.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 1 || st.Errors != 0 {
		t.Fatalf("rekey with the hosts' key set [2, 1]: %+v, %v; want the key 1 record rewritten", st, err)
	}
}

// A check file written again is given the newest key's check file's time
// by its name. A writer of the mount that puts a symlink in its place
// between the look and the setting of the times must not have this host
// set the times of the file the link leads to.
func TestKeyCheckBackdateFollowsNoSymlink(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	old := openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithIdleTimeout(time.Hour))
	must(t, old.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("under key 1")}))
	host := openDir(t, dir, fsstore.WithKeys(k2, k1), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(time.Hour))
	at := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(filepath.Join(dir, ".keycheck-2"), at, at))
	must(t, os.Remove(filepath.Join(dir, ".keycheck-1")))

	victim := filepath.Join(t.TempDir(), "victim")
	must(t, os.WriteFile(victim, []byte("another file"), 0o600))
	was := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	must(t, os.Chtimes(victim, was, was))
	swapped := false
	host.SetKeyCheckBackdateHookForTest(func(p string) {
		must(t, os.Remove(p))
		must(t, os.Symlink(victim, p))
		swapped = true
	})
	clk.Advance(time.Minute)
	must(t, host.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("under key 2")}))
	if !swapped {
		t.Fatal("the save wrote no check file again, so nothing was backdated")
	}
	fi, err := os.Stat(victim)
	must(t, err)
	if !fi.ModTime().Equal(was) {
		t.Errorf("the file a symlink put in place of .keycheck-1 leads to has mtime %v, want %v unchanged", fi.ModTime(), was)
	}
}
