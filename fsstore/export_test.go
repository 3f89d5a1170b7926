package fsstore

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"slices"
	"time"

	"github.com/sessfs/sessfs/internal/fstab"
)

// Test-only access to internals for the external test package: where a
// session's record lives and which lock stripe covers it, so that tests
// can corrupt a record or pick sessions on distinct stripes without
// duplicating the naming scheme.

// RecordPathForTest returns the path of the record file of id.
func (s *Store) RecordPathForTest(id string) string {
	_, p := s.path(deriveKey(id))
	return p
}

// SetStaleStatForTest makes s's attribute fetches behave as on an NFS
// client of macOS or FreeBSD, where the client's attribute cache may
// answer them: the cache (WithCache) revalidates an entry with the
// attributes it was read with, as a stale attribute cache would, and
// neither a cache hit nor Health's fetch counts as the server's answer
// for the breaker.
func (s *Store) SetStaleStatForTest() {
	s.testHooks.staleStat = true
	if s.cache != nil {
		s.cache.staleStat = true
	}
}

// SetNFSForTest makes the store behave as on an NFS mount (looking again
// for a name missing for an instant), for tests on a local directory.
func (s *Store) SetNFSForTest() { s.nfs = true }

// SetGoneLookHookForTest runs h each time a Load looks again for a record
// it did not find, as it does on NFS (nil: none).
func (s *Store) SetGoneLookHookForTest(h func(path string)) { s.testHooks.goneLook = h }

// SetAsideLookHookForTest runs h when a Load or a rekey found no record
// under its name, before it looks at the sweep's aside name (nil: none).
func (s *Store) SetAsideLookHookForTest(h func(path string)) { s.testHooks.asideLook = h }

// SetTouchAsideLookHookForTest sets a hook run before each look of a
// Touch at an aside name, with its path.
func (s *Store) SetTouchAsideLookHookForTest(h func(path string)) { s.testHooks.touchAsideLook = h }

// NameTakenForTest reports whether the name p of a live record held aside
// holds a file, as Stats and the dry run judge it (nameTaken).
func (s *Store) NameTakenForTest(p string) (bool, error) { return s.nameTaken(p) }

// StripeForTest returns the name of the lock file that covers id.
func (s *Store) StripeForTest(id string) string {
	return stripeName(deriveKey(id).stripe, s.layout.stripes)
}

// SetSweepHooksForTest injects a link(2) replacement into the sweep's
// put-back and callbacks around its move aside (nil: none).
func (s *Store) SetSweepHooksForTest(link func(oldpath, newpath string) error, beforeMove, beforeSettle func(path string)) {
	s.testHooks.link, s.testHooks.beforeMove, s.testHooks.beforeSettle = link, beforeMove, beforeSettle
}

// SetSweepRemoveHookForTest runs h (nil: none) when the sweep found the
// file it moved aside to be the expired one it judged, with the record's
// path, right before it unlinks the aside name.
func (s *Store) SetSweepRemoveHookForTest(h func(path string)) { s.testHooks.beforeRemoveAside = h }

// SetLockCheckHookForTest runs h before a locked save verifies its lock
// right before its rename (stage "rename") and after it ("after").
func (s *Store) SetLockCheckHookForTest(h func(stage string)) { s.testHooks.beforeVerify = h }

// SetDirSyncForTest replaces the fsync of a record's directory after its
// rename (DurabilityFull) with f (nil: fsync(2) again).
func (s *Store) SetDirSyncForTest(f func(dfd int) error) { s.root.setTestDirSync(f) }

// KeylessRecheck is how often a keyless store re-reads the marker.
const KeylessRecheck = keylessRecheck

// SetMarkerUnlockHookForTest runs h when a change of the marker was
// written and its lock verified, before the lock is released, with what
// the change is: "raise max idle" or "mark store encrypted" (nil: none).
func (s *Store) SetMarkerUnlockHookForTest(h func(what string)) { s.testHooks.markerUnlock = h }

// SetMarkerCheckHookForTest runs h in a keyless store's save or load that needs
// the marker re-read: "wait" before it waits for a read under way, "read"
// before it reads the marker itself (nil: none).
func (s *Store) SetMarkerCheckHookForTest(h func(stage string)) { s.testHooks.markerCheck = h }

// RereadMarkerForTest has a keyless store re-read its marker now, as its
// next save or plaintext load would once KeylessRecheck had passed, and
// returns that read's error: the saves and loads within KeylessRecheck of
// it read no more. The NFS RPC budgets read it before each repetition.
func (s *Store) RereadMarkerForTest() error {
	r := &markerRead{start: s.cfg.now().UnixNano(), done: make(chan struct{})}
	s.markerMu.Lock()
	s.markerReading = r
	s.markerMu.Unlock()
	s.readMarkerFor(r)
	return r.err
}

// WithTestFSForTest is withTestFS: hook runs where a hung server would
// block a bounded store's work.
func WithTestFSForTest(hook func(site string)) Option { return withTestFS(hook) }

// WithTestAfterForTest is withTestAfter: the breaker's timers.
func WithTestAfterForTest(after func(time.Duration) <-chan time.Time) Option {
	return withTestAfter(after)
}

// InFlightForTest reports the bounded store's operations in flight,
// those given up on included.
func (s *Store) InFlightForTest() int64 { return s.bnd.slots.InFlight() }

// SetDeleteHookForTest runs h after each unlink of a Delete: "name" after
// the record's name, "aside" after the sweep's aside name, "delete aside"
// after a locked Delete's, "again" after the name once more, "temp" after
// the fenced temp file's name, "name last" after the name a last time
// (nil: none); a locked Delete removes the temp file first ("temp") and
// again last ("temp again"). A locked Delete moves the name aside where Store.Delete unlinks
// it: "name" and "again" run after the move, "name check" and "again
// check" after the check of the lock that follows it (the latter only
// when something moved), "aside" after the unlink of its aside name that
// follows "name check", "sweep aside" and "sweep aside check" around the
// move of the sweep's aside name, "sweep aside aside" after the unlink of
// what that move took, and "again aside" after the unlink of what the
// second move of the name took.
func (s *Store) SetDeleteHookForTest(h func(step string)) { s.testHooks.afterDelete = h }

// SetRekeyReadHookForTest makes s's Rekey call h after it read a record
// under its lock, before it writes the rewrite.
func (s *Store) SetRekeyReadHookForTest(h func(name string)) { s.testHooks.rekeyRead = h }

// SetRekeyCheckedHookForTest sets a hook run when a rekey found the record
// unchanged, right before its rename.
func (s *Store) SetRekeyCheckedHookForTest(h func(name string)) { s.testHooks.rekeyChecked = h }

// SetSwapCheckedHookForTest sets a hook run when a CompareAndSwap found
// the record it read still in place, right before its rename.
func (s *Store) SetSwapCheckedHookForTest(h func(name string)) { s.testHooks.swapChecked = h }

// SetKeysCheckHookForTest makes s's keys file reloads fail their key check
// with h's error, when h returns one.
func (s *Store) SetKeysCheckHookForTest(h func() error) {
	s.keysW.mu.Lock()
	s.testHooks.keysCheck = h
	s.keysW.mu.Unlock()
}

// SetKeysSettleHookForTest makes s's keys file watcher call h when a
// read of the file that it held back (see WithKeysFile) is due to be
// confirmed, before it reads the file again.
func (s *Store) SetKeysSettleHookForTest(h func()) {
	s.keysW.mu.Lock()
	s.keysW.settleHook = h
	s.keysW.mu.Unlock()
}

// SetKeysSettleClockForTest replaces the clock that bounds how long s's
// keys file watcher holds reads back in all.
func (s *Store) SetKeysSettleClockForTest(now func() time.Time) {
	s.keysW.mu.Lock()
	s.keysW.now = now
	s.keysW.mu.Unlock()
}

// KeysSettleMax is how long reads are held back in all.
const KeysSettleMax = keysSettleMax

// KeysSettle is how long a held read waits to be confirmed.
const KeysSettle = keysSettle

// KeysReadHooks are withKeysRead's hooks: the clock, the settle timer,
// and a call before each read of the keys file (nil: the real ones, none).
type KeysReadHooks struct {
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	Read  func()
}

func (h KeysReadHooks) internal() keysReadHooks {
	return keysReadHooks{now: h.Now, after: h.After, read: h.Read}
}

// WithKeysReadForTest is withKeysRead: hooks in Open's read of the keys
// file (WithKeysFile).
func WithKeysReadForTest(h KeysReadHooks) Option { return withKeysRead(h.internal()) }

// WithKeysPollForTest is withKeysPoll: the keys file watcher reads the
// file every d, events or not.
func WithKeysPollForTest(d time.Duration) Option { return withKeysPoll(d) }

// WithKeyOrderPollForTest is withKeyOrderPoll: an application store reads
// the records of its keys that had none every d, calling look (if not nil)
// before each read.
func WithKeyOrderPollForTest(d time.Duration, look func(id uint32)) Option {
	return withKeyOrderPoll(d, look)
}

// KeysPoll is how often the keys file watcher reads the file, events or not.
const KeysPoll = keysPoll

// KeysFromFileForTest is KeysFromFile with hooks in its reads.
func KeysFromFileForTest(path string, h KeysReadHooks) ([]Key, error) {
	return keysFromFileSettled(context.Background(), path, h.internal(), false)
}

// KeysInUseForTest returns the IDs of s's keys: the newest, and all of
// them in ascending order.
func (s *Store) KeysInUseForTest() (newest uint32, ids []uint32) {
	kr := s.keys.Load()
	if kr == nil {
		return 0, nil
	}
	for id := range kr.aeads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return kr.newest, ids
}

// SetRekeyAsideWaitHookForTest makes s's Rekey call h when it is about
// to wait for the end of the sweep that holds a record aside, or the
// sweep lock.
func (s *Store) SetRekeyAsideWaitHookForTest(h func(name string)) { s.testHooks.rekeyAsideWait = h }

// SetRekeyAsideWaitForTest bounds s's Rekey's wait for a running sweep's
// end by d instead of a minute.
func (s *Store) SetRekeyAsideWaitForTest(d time.Duration) { s.testHooks.rekeyAsideWaitFor = d }

// SetRekeyListedHookForTest makes s's Rekey call h when it has listed a
// record, before it reads it.
func (s *Store) SetRekeyListedHookForTest(h func(name string)) { s.testHooks.rekeyListed = h }

// SetSweepRelistHookForTest makes s's sweep, Stats and Rekey list, after
// the entries of a shard directory, the entries h returns for it (nil:
// none), as a file system may list names created while the listing went
// on.
func (s *Store) SetSweepRelistHookForTest(h func(dir string) []fs.DirEntry) { s.testHooks.relisted = h }

// SetSweepJudgeStatHookForTest makes s's sweep and Stats call h with the
// mtime of each stat they judge a record by: cached for the attributes the
// client has cached (only where the scans look at those first: on NFS
// where SweepJudgesCachedFirstForTest, or after
// SetSweepCachedFirstForTest), else a fresh stat. They go on with the
// mtime h returns.
func (s *Store) SetSweepJudgeStatHookForTest(h func(name string, cached bool, mtime time.Time) time.Time) {
	s.testHooks.judgeStat = h
}

// SetSweepCachedFirstForTest makes the sweep and Stats look at the cached
// attributes first on any file system, as they do on NFS, so that tests on
// a local disk can stand in for a stale NFS cache through
// SetSweepJudgeStatHookForTest.
func (s *Store) SetSweepCachedFirstForTest() { s.testHooks.cachedFirst = true }

// LooksCachedFirstForTest reports whether s's scans look at a record's
// cached attributes before a fresh stat: on NFS where the platform can,
// or after SetSweepCachedFirstForTest.
func (s *Store) LooksCachedFirstForTest() bool { return s.lookCachedFirst() }

// SweepJudgesCachedFirstForTest reports whether the platform lets the
// scans judge a record by the client's cached attributes before a fresh
// stat; they do on NFS, or after SetSweepCachedFirstForTest.
const SweepJudgesCachedFirstForTest = judgeCachedFirst

// SweepBatchForTest is how many records judged expired the sweep moves
// aside and settles at once.
const SweepBatchForTest = sweepBatch

// WithBoundClockForTest is withTestBoundClock: the clock by which a
// bounded store times its steps inside the filesystem and the server's
// answers.
func WithBoundClockForTest(now func() time.Time) Option { return withTestBoundClock(now) }

// WithHealthClockForTest is withTestHealthClock: the clock by which Health
// judges how long its probe has gone unanswered.
func WithHealthClockForTest(now func() time.Time) Option { return withTestHealthClock(now) }

// CachedUnderOtherKeysForTest reports how many of s's cache entries the key
// set in use would not open as they were opened.
func (s *Store) CachedUnderOtherKeysForTest() int {
	keys := s.keys.Load()
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if !el.Value.(*cacheEntry).validUnder(keys) {
			n++
		}
	}
	return n
}

// CachedForTest reports whether s's cache holds an entry for id.
func (s *Store) CachedForTest(id string) bool {
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.items[deriveKey(id).name]
	return ok
}

// NoteReadOnlyForTest records a write refused because the file system is
// read-only, as a refused write on the caller's goroutine does, so that
// Health tests a write of its own.
func (s *Store) NoteReadOnlyForTest() {
	s.noteReadOnly(&fs.PathError{Op: "open", Path: s.dir, Err: errors.New("read-only file system (test)")}, false)
}

// SetHandlerPanicsForTest has the panics of the store's logger's handler
// written to w, limited by the clock now.
func (s *Store) SetHandlerPanicsForTest(w io.Writer, now func() time.Time) {
	hp := handlerPanicsOf(s.cfg.logger)
	hp.mu.Lock()
	hp.w, hp.now = w, now
	hp.mu.Unlock()
}

// SetPanicLogClockForTest sets the clock that limits the log of callback
// panics recovered on the store's goroutines.
func (s *Store) SetPanicLogClockForTest(now func() time.Time) {
	s.panics.mu.Lock()
	s.panics.now = now
	s.panics.mu.Unlock()
}

// SetCachedVersionForTest sets the version of the cache's entry for id,
// leaving the identity of the file it was read from: the entry of a file
// replaced by one the identity check cannot tell apart (an inode number
// reused with the same size within one timestamp tick). It reports
// whether there was an entry.
func (s *Store) SetCachedVersionForTest(id string, v uint64) bool {
	if s.cache == nil {
		return false
	}
	k := deriveKey(id)
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k.name]
	if !ok {
		return false
	}
	el.Value.(*cacheEntry).header.Version = v
	return true
}

// SetKeyCheckLookHookForTest runs h before each look for a key's check
// file, by the key's ID (nil: none).
func (s *Store) SetKeyCheckLookHookForTest(h func(id uint32)) { s.testHooks.keyCheckLook = h }

// SetKeyCheckBackdateHookForTest sets the hook that runs between
// backdateKeyCheck's look at a check file and the setting of its times.
func (s *Store) SetKeyCheckBackdateHookForTest(h func(path string)) {
	s.testHooks.keyCheckBackdate = h
}

// WithMountsForTest makes Open read fstabPath as the host's fstab(5) and
// ask mounted whether a file system is mounted at a mount point.
func WithMountsForTest(fstabPath string, mounted func(point string) bool) Option {
	return optionFunc(func(c *config) { c.mounts = fstab.Hosts{Fstab: fstabPath, Mounted: mounted} })
}

// SetHostClockForTest replaces the clock of this host's own judgements
// (Load's, Touch's, Range's, a rekey's) with now, and nothing else: unlike
// WithClock, files keep the times the file system gives them and the
// sweep and Stats read the file server's clock, as on a host whose clock
// is stepped away from the server's. Set it before the store is used.
func (s *Store) SetHostClockForTest(now func() time.Time) { s.cfg.now = now }

// ProbeBreakerForTest runs the open breaker's probe once.
func (s *Store) ProbeBreakerForTest() error { return s.probeBreaker(nil) }

// SetSweepStatFaultForTest fails the sweep's stat of each record it
// judges, and of each lease file, with h's error, by the file's path
// (nil: none), and makes sweeps and rekeys judge a directory failing
// after run I/O errors in a row (0: FailingIORun).
func (s *Store) SetSweepStatFaultForTest(h func(path string) error, run int64) {
	s.testHooks.statFault, s.testHooks.failingRun = h, run
}

// SetKeyCheckLstatForTest makes a rekey look at the key check files with
// f in place of os.Lstat.
func (s *Store) SetKeyCheckLstatForTest(f func(string) (fs.FileInfo, error)) {
	s.testHooks.keyCheckLstat = f
}
