package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// FakeOS is an in-memory OS lock backend for the Table's tests: a test
// stands for a slow or hung server by blocking in its hooks. Set the hooks
// before the table is used.
type FakeOS struct {
	// OnUnlock, when set, runs at the start of every OS unlock, while the
	// lock is still held.
	OnUnlock func(file string)
	// OnLost, when set, runs at the start of every lost check, as the real
	// backends' check once waited for a Verify in flight on the lock.
	OnLost func(file string)

	// TryErr, when set, runs at the start of every attempt: an error it
	// returns fails the attempt, which takes nothing (a refusal: ENOLCK,
	// EIO).
	TryErr func(file string) error
	// UnlockErr, when set, runs after every OS unlock, which released the
	// lock: an error it returns is the unlock's (a refused unlock whose
	// descriptor was closed).
	UnlockErr func(file string) error

	mu      sync.Mutex
	holders map[string]*fakeLock
	// foreign: files whose lock another process or host holds.
	foreign map[string]bool
	gen     int
	// badUnlocks counts unlocks of a lock not held (see BadUnlocks).
	badUnlocks atomic.Int64
}

type fakeLock struct {
	os     *FakeOS
	file   string
	gen    int
	isLost atomic.Bool
}

// NewTableWithFakeOS returns a Table whose OS locks are os's.
func NewTableWithFakeOS(cfg Config, os *FakeOS) *Table {
	cfg.setLimits()
	os.holders = make(map[string]*fakeLock)
	os.foreign = make(map[string]bool)
	t := &Table{cfg: cfg, strategy: Flock, files: make(map[string]*fileState)}
	t.be.Store(newBackendRef(os, &cfg))
	return t
}

// lockDir: a FakeOS locks in no directory.
func (o *FakeOS) lockDir() *lockDir { return nil }

func (o *FakeOS) try(file string) (osLock, mono, error) {
	if o.TryErr != nil {
		if err := o.TryErr(file); err != nil {
			return nil, 0, err
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.holders[file] != nil || o.foreign[file] {
		return nil, 0, nil
	}
	o.gen++
	l := &fakeLock{os: o, file: file, gen: o.gen}
	o.holders[file] = l
	return l, monoNow(), nil
}

func (o *FakeOS) openFiles() int    { return 0 }
func (o *FakeOS) evictIdle(int) int { return 0 }
func (o *FakeOS) close() error      { return nil }

// Holder reports the generation of the OS lock held on file (each
// acquisition gets the next one, from 1), or 0 when none is.
func (o *FakeOS) Holder(file string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if l := o.holders[file]; l != nil {
		return l.gen
	}
	return 0
}

// MarkLost makes the OS lock held on file lost, as a server that gave it
// to somebody else.
func (o *FakeOS) MarkLost(file string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.holders[file].isLost.Store(true)
}

// MarkLostIfHeld is MarkLost when file's OS lock is held, and reports
// whether it was.
func (o *FakeOS) MarkLostIfHeld(file string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := o.holders[file]
	if l != nil {
		l.isLost.Store(true)
	}
	return l != nil
}

// TakeForeign takes file's lock for another process or host, as a
// process of the table's would, and reports whether it was free.
func (o *FakeOS) TakeForeign(file string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.holders[file] != nil || o.foreign[file] {
		return false
	}
	o.foreign[file] = true
	return true
}

// ReleaseForeign releases the lock TakeForeign took.
func (o *FakeOS) ReleaseForeign(file string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.foreign, file)
}

// BadUnlocks reports how many unlocks were of an OS lock not held (released
// twice, or never taken): errors a caller may have dropped.
func (o *FakeOS) BadUnlocks() int64 { return o.badUnlocks.Load() }

func (l *fakeLock) verify() error {
	if l.isLost.Load() {
		return fmt.Errorf("fake %s: %w", l.file, ErrLockLost)
	}
	return nil
}

func (l *fakeLock) lost() bool {
	if l.os.OnLost != nil {
		l.os.OnLost(l.file)
	}
	return l.isLost.Load()
}

func (l *fakeLock) unlock() error {
	if l.os.OnUnlock != nil {
		l.os.OnUnlock(l.file)
	}
	l.os.mu.Lock()
	defer l.os.mu.Unlock()
	if l.os.holders[l.file] != l {
		l.os.badUnlocks.Add(1)
		return errors.New("fake: unlock of a lock not held")
	}
	delete(l.os.holders, l.file)
	if l.os.UnlockErr != nil {
		return l.os.UnlockErr(l.file)
	}
	return nil
}

// HandleGen reports the generation of the fake OS lock h was granted on:
// its own, which its Verify and Unlock use, and which stays its own once
// it is released, whatever its lock file's is now. Compare it with
// FakeOS.Holder, the lock the file has, to see whether a handle got the
// lock its file has (handed over, or taken afresh after a lost one). It
// read the file's (fileState.os), which equals the handle's only while
// the table is right: a handle left with another lock than its file's,
// the fault those comparisons look for, passed them, and a released
// handle showed the next holder's lock.
func HandleGen(h *Handle) int { return h.os.(*fakeLock).gen }

// AgreeStrategy runs NewTable's agreement on a strategy in cfg.Dir as a
// process whose NFS mount has local_lock=localOnly ("" for none) would;
// linkResult, when set, replaces the outcome of the link that publishes
// StrategyFile.
func AgreeStrategy(cfg Config, localOnly string, linkResult func(error) error) (Strategy, error) {
	cfg.linkResult = linkResult
	if err := cfg.validate(); err != nil {
		return 0, err
	}
	d, err := openLockDir(cfg.Dir)
	if err != nil {
		return 0, err
	}
	defer d.close()
	return agreeStrategy(&cfg, d, localOnly)
}

// AgreeStrategyMoved is AgreeStrategy in a directory that is renamed to
// moved once NewTable has opened it: a look at cfg.Dir by its path after
// that open finds nothing there.
func AgreeStrategyMoved(cfg Config, moved string) (Strategy, error) {
	if err := cfg.validate(); err != nil {
		return 0, err
	}
	d, err := openLockDir(cfg.Dir)
	if err != nil {
		return 0, err
	}
	defer d.close()
	if err := os.Rename(cfg.Dir, moved); err != nil {
		return 0, err
	}
	return agreeStrategy(&cfg, d, "")
}

// LinkUnsupported exposes linkUnsupported.
func LinkUnsupported(err error) bool { return linkUnsupported(err) }

// PausedForTest reports whether this process leaves file alone for other
// hosts' sake now (see yieldAfterHandoffs).
func (t *Table) PausedForTest(file string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.files[file]; f != nil {
		return f.paused()
	}
	return false
}

// TenureForTest reports when file's current tenure began (see
// minHandoffHold), from its state, kept unused while the tenure matters
// (see forget); ok is false when the table has no state for file.
func (t *Table) TenureForTest(file string) (taken time.Time, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.files[file]; f != nil {
		return f.taken.time(), true
	}
	return time.Time{}, false
}

// FileLockHooks stand for gofrs/flock's calls in a FileLock: each gets the
// real call, to make or not. A nil hook makes the real call.
type FileLockHooks struct {
	TryLock func(real func() (bool, error)) (bool, error)
	Unlock  func(real func() error) error
	// WriteThrough, when set, makes Verify take the lock file for one on
	// NFS, and stands for its write-through there.
	WriteThrough func() (op string, err error)
}

func (h FileLockHooks) ops() fileOps {
	o := fileOps{try: h.TryLock, unlock: h.Unlock}
	if h.WriteThrough != nil {
		o.writeThrough = func(int) (string, error) { return h.WriteThrough() }
	}
	return o
}

// TryLockFileWithHooks is TryLockFile making its calls through h.
func TryLockFileWithHooks(path string, h FileLockHooks) (*FileLock, error) {
	return tryLockFileWith(path, h.ops())
}

// LockFileWithHooks is LockFile making its calls through h.
func LockFileWithHooks(ctx context.Context, path string, h FileLockHooks) (*FileLock, error) {
	return lockFileWith(ctx, path, h.ops())
}

// WakesForTest reports how many waiting goroutines changes of file's
// state have woken so far, -1 when the table has no state for file.
func (t *Table) WakesForTest(file string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.files[file]; f != nil {
		return f.wakes
	}
	return -1
}

// AgeFileLock makes l's last confirmation by the server d older, as if
// it had been held that much longer.
func AgeFileLock(l *FileLock, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.checked = l.checked.Add(-d)
}

// ReopenTriesForTest reports how many times the table opened its lock
// directory afresh after finding it removed or replaced (see reopen).
func (t *Table) ReopenTriesForTest() int {
	t.reopenMu.Lock()
	defer t.reopenMu.Unlock()
	return t.reopenTries
}

// NewTableWithMounts returns NewTable(cfg) whose looks at the mount of
// its lock directory (at NewTable, and at each reopen of a directory
// found replaced) are lookup's, as /proc/self/mountinfo would say.
func NewTableWithMounts(cfg Config, lookup func(dir string) (mountinfo.Mount, error)) (*Table, error) {
	cfg.mountLookup = lookup
	return NewTable(cfg)
}
