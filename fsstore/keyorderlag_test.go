package fsstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// sealedUnder returns the keys, of keys, that can load session id, each
// through a maintenance store (which records nothing in the store).
func sealedUnder(t *testing.T, dir, id string, keys ...fsstore.Key) []uint32 {
	t.Helper()
	var ids []uint32
	for _, k := range keys {
		m, err := fsstore.Open(dir, fsstore.WithKeys(k), fsstore.WithMaintenanceOnly())
		must(t, err)
		if _, err := m.Load(context.Background(), id); err == nil {
			ids = append(ids, k.ID)
		}
		m.Close()
	}
	return ids
}

// behindStates is a NewestKeyObserver keeping the states it was told.
type behindStates struct {
	reloadEvents
	mu     sync.Mutex
	states []bool
}

func (o *behindStates) ObserveNewestKeyBehind(behind bool) {
	o.mu.Lock()
	o.states = append(o.states, behind)
	o.mu.Unlock()
}

func (o *behindStates) seen() []bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.states)
}

// keyHost is an application host of a store, with its own keys file.
type keyHost struct {
	s    *fsstore.Store
	keys string // its keys file
	obs  *behindStates
	logs *syncBuffer
}

func openKeyHost(t *testing.T, dir string, poll time.Duration, keys ...fsstore.Key) *keyHost {
	t.Helper()
	return openKeyHostLooked(t, dir, poll, nil, keys...)
}

func openKeyHostLooked(t *testing.T, dir string, poll time.Duration, look func(uint32), keys ...fsstore.Key) *keyHost {
	t.Helper()
	h := &keyHost{keys: filepath.Join(t.TempDir(), "keys"), obs: &behindStates{reloadEvents: make(reloadEvents, 64)}, logs: &syncBuffer{}}
	writeFile0600(t, h.keys, keysFileText(keys...))
	var err error
	h.s, err = fsstore.Open(dir, fsstore.WithKeysFile(h.keys), fsstore.WithObserver(h.obs),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(h.logs, nil))), fsstore.WithKeyOrderPollForTest(poll, look))
	must(t, err)
	t.Cleanup(func() { h.s.Close() })
	return h
}

// rotate replaces the host's keys file and waits for its reload.
func (h *keyHost) rotate(t *testing.T, keys ...fsstore.Key) {
	t.Helper()
	renameOver(t, h.keys, keysFileText(keys...))
	if o := waitReload(t, h.obs.reloadEvents); o != fsstore.OutcomeOK {
		t.Fatalf("reload: %v", o)
	}
}

// sealsUnder saves a new session through the host and returns the keys
// of keys that load it.
func (h *keyHost) sealsUnder(t *testing.T, dir string, keys ...fsstore.Key) []uint32 {
	t.Helper()
	id := newID(t)
	must(t, h.s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}))
	return sealedUnder(t, dir, id, keys...)
}

func (h *keyHost) behind() string {
	b, ok := h.s.NewestKeyBehind()
	if !ok {
		return "not behind"
	}
	return fmt.Sprintf("newest %d behind %d", b.Newest, b.Newer)
}

// warned reports whether the host logged that its newest key, newest, is
// behind newer.
func (h *keyHost) warned(newest, newer uint32) bool {
	return strings.Contains(h.logs.String(), `level=WARN msg="fsstore: this host seals new sessions under a key that another host has rotated away from`) &&
		strings.Contains(h.logs.String(), fmt.Sprintf("newest_key=%d newer_key=%d", newest, newer))
}

// waitBehind polls, with a deadline that only bounds a broken store, for
// the host's state to be want.
func (h *keyHost) waitBehind(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); h.behind() != want; {
		if time.Now().After(deadline) {
			t.Fatalf("state %q, want %q; log:\n%s", h.behind(), want, h.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A host whose keys file is stale, [1, 2] with key 1 newest while the
// other hosts have made key 2 newest, sealed every new session under key
// 1, the key being rotated away from, with no sign anywhere: Health nil,
// nothing logged. Now it warns, naming both keys, and reports the state,
// whether the other hosts rotated while it ran (found by its rechecks),
// before it opened (at Open) or before its keys file gained key 2 (at
// the reload); it still works as before; and the state ends when its
// keys file catches up.
func TestStaleHostWarnsOfNewerKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	// Every host has key 2 as a standby: not behind.
	b := openKeyHost(t, dir, time.Hour, k1, k2)
	a := openKeyHost(t, dir, time.Millisecond, k1, k2)
	if got := a.behind(); got != "not behind" {
		t.Fatalf("host A with the hosts' key set: %s", got)
	}
	// The hosts rotate to key 2; A's keys file is not updated.
	b.rotate(t, k2, k1)
	a.waitBehind(t, "newest 1 behind 2")
	if !a.warned(1, 2) {
		t.Errorf("host A found behind logged no warning naming keys 1 and 2:\n%s", a.logs)
	}
	if got := a.obs.seen(); !slices.Equal(got, []bool{true}) {
		t.Errorf("NewestKeyObserver told %v, want [true]", got)
	}
	// Never refused: it still seals under its newest key, and is healthy.
	if got := a.sealsUnder(t, dir, k1, k2); !slices.Equal(got, []uint32{1}) {
		t.Errorf("host A sealed under %v, want [1]", got)
	}
	must(t, a.s.Health(ctx))

	// A host opened with the stale key set after the rotation knows at
	// Open, before any recheck.
	c := openKeyHost(t, dir, time.Hour, k1, k2)
	if got := c.behind(); got != "newest 1 behind 2" || !c.warned(1, 2) {
		t.Errorf("host opened with [1, 2] after the rotation: %s, log:\n%s", got, c.logs)
	}
	// One given key 2 by a reload that keeps key 1 newest knows then.
	d := openKeyHost(t, dir, time.Hour, k1)
	if got := d.behind(); got != "not behind" {
		t.Fatalf("host with key 1 alone: %s (it cannot judge key 2's record)", got)
	}
	d.rotate(t, k1, k2)
	d.waitBehind(t, "newest 1 behind 2")
	if !d.warned(1, 2) {
		t.Errorf("host reloaded to [1, 2] after the rotation logged no warning naming keys 1 and 2:\n%s", d.logs)
	}

	// A's keys file catches up: the state ends, at the reload.
	a.rotate(t, k2, k1)
	a.waitBehind(t, "not behind")
	if got := a.obs.seen(); !slices.Equal(got, []bool{true, false}) {
		t.Errorf("NewestKeyObserver told %v, want [true false]", got)
	}
	if !strings.Contains(a.logs.String(), "no longer behind") {
		t.Errorf("host A's end of the state is not logged:\n%s", a.logs)
	}
	if got := a.sealsUnder(t, dir, k1, k2); !slices.Equal(got, []uint32{2}) {
		t.Errorf("host A sealed under %v, want [2]", got)
	}
}

// orderFiles returns the store's key order files and their contents.
func orderFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, ".key[no]*"))
	must(t, err)
	out := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		must(t, err)
		out[filepath.Base(n)] = string(b)
	}
	return out
}

// An operator who reverts a rotation on purpose (key 2 made newest, then
// every host back to [1, 2]) gets the warning on every host, and nothing
// else: saves go on under key 1, the records of the order are left as they
// are (key 1 is not recorded again, which would make it look newer than
// key 2), and dropping key 2 from the key set ends the state.
func TestRolledBackKeyWarnsOnly(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	h := openKeyHost(t, dir, time.Hour, k1, k2)
	h.rotate(t, k2, k1)
	before := orderFiles(t, dir)
	h.rotate(t, k1, k2) // reverted
	h.waitBehind(t, "newest 1 behind 2")
	if !h.warned(1, 2) {
		t.Errorf("host reverted to [1, 2] logged no warning naming keys 1 and 2:\n%s", h.logs)
	}
	other := openKeyHost(t, dir, time.Hour, k1, k2)
	if got := other.behind(); got != "newest 1 behind 2" {
		t.Errorf("host opened with the reverted key set: %s", got)
	}
	if got := h.sealsUnder(t, dir, k1, k2); !slices.Equal(got, []uint32{1}) {
		t.Errorf("reverted host sealed under %v, want [1]", got)
	}
	if got := other.sealsUnder(t, dir, k1, k2); !slices.Equal(got, []uint32{1}) {
		t.Errorf("host opened with the reverted key set sealed under %v, want [1]", got)
	}
	if after := orderFiles(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the records of the order changed: %v, then %v", before, after)
	}
	h.rotate(t, k1) // key 2's sessions are gone: dropped
	h.waitBehind(t, "not behind")
	if got := h.obs.seen(); !slices.Equal(got, []bool{true, false}) {
		t.Errorf("NewestKeyObserver told %v, want [true false]", got)
	}
	// Close ends the state.
	other.s.Close()
	if _, ok := other.s.NewestKeyBehind(); ok {
		t.Error("closed store still behind")
	}
	if got := other.obs.seen(); !slices.Equal(got, []bool{true, false}) {
		t.Errorf("NewestKeyObserver of the closed store told %v, want [true false]", got)
	}
}

// Someone who can write the mount but has no key cannot make a host warn:
// a record it plants for a key the host holds does not authenticate, and
// the records of keys the host does not hold are not judged.
func TestForgedKeyOrderRecordNoWarning(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	first := openKeyHost(t, dir, time.Hour, k1, k2)
	first.s.Close()
	junk := make([]byte, 12+8+16)
	rand.Read(junk)
	for _, name := range []string{".keyorder-1000", ".keynewest-7", ".keynewest-9"} {
		writeFile0600(t, filepath.Join(dir, name), string(junk))
	}
	must(t, os.Link(filepath.Join(dir, ".keyorder-1000"), filepath.Join(dir, ".keynewest-2")))
	looked := make(chan uint32, 16)
	h := openKeyHostLooked(t, dir, time.Millisecond, func(id uint32) {
		select {
		case looked <- id:
		default:
		}
	}, k1, k2, mustKey(t, 7))
	// Open's look at key 2's record, then two rechecks' at least: no
	// state.
	for n := 0; n < 3; {
		select {
		case id := <-looked:
			if id == 2 {
				n++
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no recheck within 30s")
		}
	}
	if got := h.behind(); got != "not behind" {
		t.Errorf("host beside forged records: %s, log:\n%s", got, h.logs)
	}
}

// A host given its keys in code (WithKeys), not watching a keys file,
// finds the other hosts' rotation by its rechecks all the same.
func TestStaleWithKeysHostWarns(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	logs := &syncBuffer{}
	a, err := fsstore.Open(dir, fsstore.WithKeys(k1, k2), fsstore.WithKeyOrderPollForTest(time.Millisecond, nil),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	must(t, err)
	defer a.Close()
	b := openKeyHost(t, dir, time.Hour, k1, k2)
	b.rotate(t, k2, k1)
	h := &keyHost{s: a, logs: logs}
	h.waitBehind(t, "newest 1 behind 2")
	if !h.warned(1, 2) {
		t.Errorf("no warning naming keys 1 and 2:\n%s", logs)
	}
}

// A store whose hosts predate the record of the order: the hosts rotated
// from key 1 to key 2 recording nothing, and one host missed it. Upgraded,
// the hosts record their newest key at Open: key 2 first, then the stale
// host's key 1, which has no record, as a key made newest after key 2.
// Nothing in the store tells that key 1 was newest before (a standby key
// made newest looks the same), so the hosts with the right key set warn
// that key 1 is newer, and the stale host does not: what the docs tell
// operators to check before such an upgrade.
func TestUpgradedStaleHostRecordsItsKey(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	old := openKeyHost(t, dir, time.Hour, k1, k2)
	old.s.Close()
	for _, name := range []string{".keynewest-1", ".keyorder-1"} {
		must(t, os.Remove(filepath.Join(dir, name))) // what an older version left: check files only
	}
	right := openKeyHost(t, dir, time.Millisecond, k2, k1)
	stale := openKeyHost(t, dir, time.Hour, k1, k2)
	right.waitBehind(t, "newest 2 behind 1")
	if got := stale.behind(); got != "not behind" {
		t.Errorf("stale host: %s", got)
	}
	// The way out the docs give: the stale host's keys file fixed, then
	// a rotation forward to a new key, whose number is the largest.
	k3 := mustKey(t, 3)
	stale.rotate(t, k2, k1)
	stale.waitBehind(t, "newest 2 behind 1")
	for _, h := range []*keyHost{stale, right} {
		h.rotate(t, k3, k2, k1)
		h.waitBehind(t, "not behind")
	}
}

// A keys file reload that only drops or reorders keys needs nothing from
// the store, the leaked key's retirement included (see
// TestKeysFileRetireNeedsNoKeyCheck): the reads of the key order's records
// that follow it (here of key 3, a standby with no record) must not hold
// it up. Made on the reload's goroutine, a read blocked on a mount that
// does not answer held back the reload's report (KeysFileUnapplied, the
// Observer's event) and every later change of the keys file until the
// mount answered.
func TestKeysReloadWaitsForNoKeyOrderRead(t *testing.T) {
	dir := t.TempDir()
	k1, k2, k3 := mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)
	var hang sync.Once
	hung, release := make(chan struct{}), make(chan struct{})
	var blocking, onReload atomic.Bool
	h := openKeyHostLooked(t, dir, time.Hour, func(id uint32) {
		if !blocking.Load() {
			return
		}
		// A read on the keys file watcher's goroutine holds up the
		// reload for as long as it takes: said at once, rather than
		// after a wait for a report that could only come once the read
		// is let go.
		buf := make([]byte, 64<<10)
		if strings.Contains(string(buf[:runtime.Stack(buf, false)]), "(*keysWatcher)") {
			onReload.Store(true)
			hang.Do(func() { close(hung) })
			return
		}
		hang.Do(func() { close(hung) })
		<-release
	}, k2, k1, k3)
	t.Cleanup(func() { close(release) }) // before the host's Close, which waits for the read
	blocking.Store(true)
	renameOver(t, h.keys, keysFileText(k2, k3)) // key 1 retired
	// The read is begun on the reload's signal; the report may come
	// before or after it. The deadlines below guard against a hang only:
	// a reload that waited for the read some other way than by making it
	// on its own goroutine.
	select {
	case <-hung:
	case <-time.After(30 * time.Second):
		t.Fatal("the key order was not judged after the reload")
	}
	if onReload.Load() {
		t.Fatal("the key order's records are read on the keys file reload's goroutine: a read that hangs holds back the reload's report and every later change of the keys file")
	}
	if !waitReloadOK(t, h.obs.reloadEvents, 30*time.Second) {
		t.Fatal("the reload that retired key 1 was not reported within 30s: it waits for a read of the key order")
	}
	if newest, ids := h.s.KeysInUseForTest(); newest != 2 || len(ids) != 2 {
		t.Errorf("keys in use: newest %d of %v, want 2 of [2 3]", newest, ids)
	}
	renameOver(t, h.keys, keysFileText(k2))
	if !waitReloadOK(t, h.obs.reloadEvents, 30*time.Second) {
		t.Fatal("the next change of the keys file was not applied within 30s while a read of the key order hung")
	}
}
