package fsstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"syscall"

	"github.com/sessfs/sessfs/internal/keyline"
	"github.com/sessfs/sessfs/internal/mountinfo"
	"github.com/sessfs/sessfs/internal/opwatch"
	"github.com/sessfs/sessfs/internal/ownerhint"
	"github.com/sessfs/sessfs/internal/record"
	"github.com/sessfs/sessfs/internal/shellquote"
	"github.com/sessfs/sessfs/lock"
)

// Session is one session's state as stored.
type Session struct {
	// ID is the session ID, as issued by NewID or another generator that
	// satisfies ValidID.
	ID string
	// Data is the opaque payload.
	Data []byte
	// Created is when the session was first saved. Save sets it when zero.
	Created time.Time
	// Expires is when the session expires unless saved or touched again:
	// its last activity plus the idle timeout, capped by Deadline. Set by
	// Load and Save.
	Expires time.Time
	// Deadline is the absolute end of the session whatever its activity;
	// zero means Created plus the store's lifetime (or none when that is 0).
	// Save fixes it on the first save.
	Deadline time.Time
	// Version is the record's version: 0 for a session never saved, and
	// different after every save. CompareAndSwap checks it. Save writes
	// the caller's Version plus one without reading the record it replaces
	// (see Save), or, from 0, a random starting version (below 2^53): a
	// session deleted, swept, or replaced while damaged and then created
	// again at its ID does not count from 1 again, so a CompareAndSwap by
	// a client still holding a version of the earlier record fails with
	// ErrConflict rather than overwrite the new one.
	Version uint64
	// Idle is the session's own idle timeout: it expires Idle after its
	// last Save or Touch (capped by Deadline). Zero means the store's
	// (WithIdleTimeout). Save records it in the record, so it holds for
	// every process whatever their own setting, Load reports it, and the
	// sweep never removes the session before it has passed. It must lie
	// within 1s..MaxIdleTimeout (ErrInvalidIdle otherwise). A Save with an
	// idle timeout above the largest the store has seen first raises the
	// store's marker (a few round trips, once per larger value per
	// process).
	Idle time.Duration
}

// Store is a session store in one directory. It is safe for concurrent use
// by multiple goroutines, processes and hosts sharing the directory.
//
// A Store is made by Open or OpenContext. A call that returns an error
// fails with one saying so, and panics nowhere, when made on a nil *Store
// (an Open whose error was dropped), on a Store{} not made by Open, or with
// a nil Context; such an error matches neither ErrClosed nor
// ErrUnavailable, since retrying the call does not help. A call on a
// session (Load, Save, CompareAndSwap, Touch, Delete, Lock, a Locked's)
// given a Context that has ended already fails at once with the context's
// error alone, before it reaches the file system. What the call would have
// failed with whatever the Context comes first: ErrClosed on a closed
// store, a call the application should not have made (a nil session, a
// write through a Shared lock, a Locked used after Unlock), and
// ErrUnavailable on a Locked an earlier operation was given up on.
type Store struct {
	dir     string
	dataDir string
	root    *rootDir // dir, held open: every path below it resolves from here
	cfg     config
	layout  marker
	locks   *lock.Table
	nfs     bool
	// prealloc: fallocate temp files before writing them. Only for
	// DurabilityNone on ext4, where it halves the save (auto_da_alloc, see
	// writeAtomic); with an fsync the data is written before the rename
	// anyway, and on NFS the call is an extra round trip or EOPNOTSUPP.
	// The price: after a power loss a DurabilityNone session may read as
	// zeros (ErrCorrupt) where auto_da_alloc would more often have saved
	// it; DurabilityNone promises nothing there.
	prealloc bool
	cache    *cache
	seen     seenHeaders
	// keys is swapped whole when the keys file is reloaded
	// (WithKeysFile), never to nil: an operation that seals or checks
	// takes one snapshot.
	keys  atomic.Pointer[keyring]
	keysW *keysWatcher
	// deployed, in a maintenance store, refuses saves sealed under a
	// newest key that no application host has vouched for.
	deployed deployedGuard
	// keyHad keeps what the looks for the check files of key IDs this
	// process does not hold found (keyNeverHad). keyChecksAt is when
	// this store last looked for its own keys' (keepKeyChecks), store
	// clock, Unix ns.
	keyHad      keyHadCache
	keyChecksAt atomic.Int64
	// keyOrder is what an application store knows of the order in which
	// its keys became newest (NewestKeyBehind).
	keyOrder keyOrderState
	// encrypted: the store is known to be encrypted, from the marker (at
	// Open or a later re-read) or from an encrypted record met by a Load.
	// Never cleared. markerLast is the outcome of the keyless store's
	// read of the marker begun last, among those that ended, which every
	// caller shares; markerReading is its read under way, if any, guarded
	// by markerMu. See recheckMarker.
	encrypted  atomic.Bool
	markerLast atomic.Pointer[markerRead]
	// keyFileSeen, in a keyless store, is what its saves fail with once
	// a re-read of the marker found a key file at the store's top where
	// the marker did not say encrypted (noteKeyFile); nil before.
	keyFileSeen   atomic.Pointer[keyFileRefusal]
	markerMu      sync.Mutex
	markerReading *markerRead
	bufs          sync.Pool
	closed        atomic.Bool
	// closing is closed by Close: a wait of the store's own that no
	// lock table or file operation ends, a scan's for its Rate, ends on
	// it, where it went on after Close had returned, holding the scan's
	// store-level lock (TestRateWaitEndsAtClose).
	closing chan struct{}

	// maxIdle is the marker's max idle as this process last confirmed it:
	// at least every effective idle timeout this process has written into
	// a record. raising serializes raises within the process: a
	// one-slot semaphore, not a mutex, because its holder may wait for
	// the marker's lock for as long as its own context allows, and a
	// raise behind it must end with its own (see ensureMaxIdle). ownIdle
	// is the largest of those this process has used: if the marker is
	// ever found below it, Sweep puts it back.
	maxIdle atomic.Int64
	ownIdle atomic.Int64
	raising chan struct{}

	// bnd runs operations under the bound (WithMaxInFlight); nil runs
	// them on the caller's goroutine.
	bnd      *bounder
	healthMu sync.Mutex
	health   *healthProbe // the health probe in flight, if any
	// readOnly is nonzero while the store is found read-only on this
	// host (see noteReadOnly); roSeq numbers the findings. Both change
	// under roMu only; readOnly is read without it.
	readOnly atomic.Uint64
	roMu     sync.Mutex
	roSeq    uint64
	// keysUnapplied is set while the keys file holds a change that was
	// not applied (see noteKeysFile); it changes under kuMu only, and is
	// read without it.
	keysUnapplied atomic.Bool
	kuMu          sync.Mutex

	// panics limits the log of callback panics that onOwn recovers.
	panics panicLog

	// wholeSec: whether the file system keeps whole-second times.
	wholeSec wholeSeconds

	// full is the write probe's error when a maintenance store
	// (WithMaintenanceOnly) was opened on a full file system or quota:
	// Rekey, which writes records, refuses such a store; Sweep, which
	// frees the space, does not. nil otherwise. Set by Open only.
	full error

	testHooks testHooks
}

// testHooks let tests inject failures and pauses at points no real
// process can be made to stop at reliably. All nil outside tests.
type testHooks struct {
	// link replaces link(2) in the sweep's put-back.
	link func(oldpath, newpath string) error
	// beforeVerify runs before a locked save verifies its lock right
	// before its rename ("rename") and after it ("after").
	beforeVerify func(stage string)
	// beforeMove runs after the sweep judged a record expired, before it
	// moves it aside.
	beforeMove func(path string)
	// beforeSettle runs after the sweep moved a record aside, before it
	// decides about it.
	beforeSettle func(path string)
	// beforeRemoveAside runs when the sweep found the file it moved aside
	// to be the one it judged, right before it unlinks the aside name.
	beforeRemoveAside func(path string)
	// afterDelete runs after each step of a Delete ("name", "aside",
	// "delete aside", "again", "temp", "name last"; a locked Delete's moves aside and
	// their checks too, see Store.deleteLocked).
	afterDelete func(step string)
	// markerCheck runs in a keyless store's save when the marker needs a
	// re-read: before it waits for a read under way ("wait"), or before it
	// reads the marker itself ("read").
	markerCheck func(stage string)
	// rekeyRead runs after a rekey read a record under its lock, before
	// it writes the rewrite.
	rekeyRead func(name string)
	// rekeyChecked runs when a rekey found the record unchanged, right
	// before the rename that publishes its rewrite.
	rekeyChecked func(name string)
	// swapChecked runs when a CompareAndSwap found the record it read
	// still in place (stillRead), right before its rename.
	swapChecked func(name string)
	// rekeyListed runs when a rekey has listed a record, before it reads
	// it.
	rekeyListed func(name string)
	// keysCheck, after a keys file reload's key check passed, may fail it;
	// it runs only when the check had a key to check.
	keysCheck func() error
	// relisted returns entries that the listing of a shard directory by
	// the sweep, Stats or Rekey shows after the directory's own: names
	// created while the listing went on, which a file system may list or
	// not.
	relisted func(dir string) []fs.DirEntry
	// judgeStat sees the mtime of each stat the sweep or Stats judges a
	// record by (cached: the client's cached attributes, else a fresh
	// stat) and returns the one they go on with.
	judgeStat func(name string, cached bool, mtime time.Time) time.Time
	// cachedFirst makes the sweep and Stats look at cached attributes
	// first off NFS too, where they are the file system's own
	// (Store.lookCachedFirst).
	cachedFirst bool
	// rekeyAsideWait runs when a rekey is about to wait for the end of a
	// sweep that holds a record aside, or the sweep lock (see
	// rekeyAfterSweep); not when it gives up at once, a wait having run
	// out earlier in the pass.
	rekeyAsideWait func(name string)
	// rekeyAsideWaitFor, if not zero, replaces rekeyAsideWait's bound on
	// that wait.
	rekeyAsideWaitFor time.Duration
	// staleStat makes the store take its attribute fetches for ones the
	// NFS client's attribute cache may answer, as on macOS and FreeBSD
	// (see fetchesFresh).
	staleStat bool
	// goneLook runs each time a Load on NFS looks again for a record it
	// did not find (see nfsGoneLooks), with the record's path.
	goneLook func(path string)
	// keyCheckLook runs before each look for a key's check file, by
	// the key's ID: for a record under a key this process lacks
	// (keyNeverHad), or for its own (keepKeyChecks).
	keyCheckLook func(id uint32)
	// keyCheckBackdate runs in backdateKeyCheck between its look at the
	// check file written again and the setting of its times, with its path.
	keyCheckBackdate func(path string)
	// asideLook runs when a Load (readMovedAside) or a rekey (rekeyGone)
	// found no record under its name, before it looks at the sweep's
	// aside name, with the record's path.
	asideLook func(path string)
	// touchAsideLook runs in touchAside before each look at an aside
	// name, with its path.
	touchAsideLook func(path string)
	// markerUnlock runs when a change of the marker was written and its
	// lock verified, before the lock's Unlock, with what the change is
	// ("raise max idle", "mark store encrypted").
	markerUnlock func(what string)
	// statFault, if it returns an error, fails the sweep's stat of a
	// record it judges, or of a lease file, with it, by the file's path.
	statFault func(path string) error
	// failingRun, if not 0, replaces FailingIORun in sweeps and rekeys.
	failingRun int64
	// keyCheckLstat, if set, replaces os.Lstat in a rekey's looks at the
	// key check files (rollbackGuard.lstat).
	keyCheckLstat func(string) (fs.FileInfo, error)
}

// fetchesFresh reports whether the store's attribute fetches (statNow,
// statFresh) ask the file server whatever the client has cached, so that
// their success is the server's answer: on Linux (AT_STATX_FORCE_SYNC),
// unless statx is refused (statxRefused). Elsewhere the NFS client's
// attribute cache may answer them, for up to acregmax, also while the
// server does not answer at all.
func (s *Store) fetchesFresh() bool { return s.root.forcesFresh() && !s.testHooks.staleStat }

// openRaiseTimeout bounds how long Open waits for the marker's lock, which
// is held only for the few round trips of another process's raise.
const openRaiseTimeout = time.Minute

// Open opens the store in dir, creating its layout when dir has none (unless
// WithCreate(false)). It checks that the directory exists, is writable and
// supports a working lock strategy, and returns a clear error otherwise.
//
// A relative dir is the one it names in the working directory at Open,
// by the kernel's name of that directory (as package lock takes a
// relative path), not by $PWD: a process started through a deploy's
// "current" symlink keeps the store it opened when the link is pointed
// at the next release (Dir names that store). The path is then cleaned
// as filepath.Abs cleans it: "link/../x" is x beside link.
//
// Open creates a store only in an empty directory: one that holds anything
// but a store's own names (a half-created store's, or a store's whose
// marker was removed) is ErrNotStore, as sessgc refuses it, since a store
// takes its directory for its own and such a directory is more likely a
// mistaken path (a home directory, or the mount above a store) than one
// meant for sessions. Give the store a directory of its own, such as a
// subdirectory of the mount.
//
// Open does not create a store in a directory below a mount point that
// /etc/fstab lists and that nothing is mounted on (ErrShareNotMounted): the
// share failed to mount, and the directory is on the local disk below
// the mount point, where each host would keep sessions of its own. Mount
// the share; a store already there keeps opening, as the check is made
// only when a store is created. A missing directory below such a mount
// point fails with ErrShareNotMounted too (and fs.ErrNotExist), naming
// the mount point.
//
// Open refuses a directory inside another store, created there or not
// (ErrInsideStore): the other store's data or lock directory, or a
// directory up to three levels below either, such as a shard directory. A
// store there would keep its own sessions apart from the other store's
// hosts; the other store's sweep would never expire them, and the inner
// store's sweep would remove, as old temp files, the outer store's
// sessions that an interrupted sweep left aside. The check resolves the
// symbolic links in dir's path (a look-up per component) and looks for a
// marker above each of its last four components named data or locks: for
// a usual path, none. Where the file system ignores case, a component
// such as DATA that is the store's data directory under another case is
// refused too; a directory named DATA beside data, where case tells names
// apart, is not.
//
// A process running as root is refused (fs.ErrPermission, naming the
// owner's uid), before it writes anything, a store another user owns (its
// marker's owner, or the directory's for a new store) where the files root
// creates are root's (a local disk, NFS with no_root_squash, EFS without
// an access point): the app user's hosts could not use the shard
// directories and records it made. Run it as the store's user. Where the
// file server makes root's files that user's (an EFS access point), in a
// group's store (a group-writable marker), and WithReadOnly or
// WithMaintenanceOnly, nothing is refused.
//
// On an NFS or EFS hard mount whose server does not answer, those checks
// block until it answers again; OpenContext gives up instead.
//
// Give it WithLogger: without it the store logs nothing, from Open's own
// warnings (a share that looks unmounted, a directory not setgid, flock on
// FUSE) to those only the store can tell (corrupt records, records under a
// retired key, its circuit breaker opening, its mount turning read-only, a
// lost lock). The logger of a Manager or adapter that uses the store is
// not passed to it.
func Open(dir string, opts ...Option) (*Store, error) {
	s, err := open(context.Background(), dir, opts...)
	return s, shownOpenError(dir, err)
}

// shownOpenError is Open's error err, without the words of its message
// that may be a key's secret (keyline.Redact) when dir holds one: a keys
// file's line given where the store's directory goes (the keys' variable
// set where the directory's was meant) names no directory, and every
// error of Open names it, in the application's log. It matches what err
// matches. A store that opens has a directory by that name, on the mount
// for everyone who lists its parent: a secret no more.
func shownOpenError(dir string, err error) error {
	if err == nil || !keyline.Holds(dir) {
		return err
	}
	return redactedError{err}
}

// redactedError is err, its message without the words that may be a key's
// secret.
type redactedError struct{ err error }

func (e redactedError) Error() string { return keyline.Redact(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }

// OpenContext is Open, giving up when ctx ends: it then returns an error
// matching both ErrUnavailable and ctx's error. A system call of Open's
// checks still blocked in the kernel goes on in the background, and a store
// it opens after all is closed there. So a process that starts while the
// file server is away (a new instance launched during an outage) can say
// why and exit or try again, rather than hang before it serves anything,
// its health check included. Each call that gives up leaves its blocked
// call, a goroutine and an OS thread, until the server answers, with no
// bound across calls: a process that tries again in a loop through a long
// outage piles them up, where one that exits for its supervisor to restart
// it (examples/app) frees them.
func OpenContext(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	s, err := openContext(ctx, dir, opts...)
	return s, shownOpenError(dir, err)
}

func openContext(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	if ctx == nil {
		return nil, fmt.Errorf("fsstore: open %s: %w", dir, errNilContext)
	}
	gaveUp := func() error { return fmt.Errorf("fsstore: open %s: %w (%w)", dir, ErrUnavailable, ctx.Err()) }
	if ctx.Err() != nil {
		return nil, gaveUp()
	}
	type opened struct {
		s   *Store
		err error
	}
	// Buffered: the goroutine must never block on a caller that gave up.
	done := make(chan opened, 1)
	go func() {
		s, err := open(ctx, dir, opts...)
		done <- opened{s, err}
	}()
	var r opened
	select {
	case r = <-done:
	case <-ctx.Done():
		select {
		case r = <-done: // finished as the context ended: keep what it did
		default:
			go func() {
				if r := <-done; r.s != nil {
					// On a goroutine of the store's own: Close's reports
					// to the observer, if any, have no caller (onOwn).
					r.s.onOwn(ownOpenClose, func() { r.s.Close() })
				}
			}()
			return nil, gaveUp()
		}
	}
	if r.err != nil && ctx.Err() != nil && errors.Is(r.err, ctx.Err()) {
		return nil, gaveUp() // open stopped at a step because ctx ended
	}
	return r.s, r.err
}

// ownerHint says what to do about a permission error met reading the
// store's marker, creating the store or writing in it at Open: most often
// the app server runs as another user than the one the store is for, or
// root made the directory (a mkdir without install -d -o) or something in
// the store (an app run as root once), and the bare EACCES names neither.
// A process that owns the directory already is told to chown what is in
// it, not to run as its owner; one of the group of a directory the group
// shares, where the store is another user's alone, how to share it
// (oneUserInGroupDirHint).
func ownerHint(dir string, err error) string {
	if !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	if hint := ownerhint.NotPermitted(refusedPath(dir, err), err); hint != "" {
		// EPERM: no owner or mode refuses it, root included.
		return hint
	}
	who := ownerhint.Who(os.Geteuid())
	if hint := ownerModeHint(dir, err); hint != "" {
		return hint
	}
	fi, serr := os.Stat(dir)
	if serr == nil && os.Geteuid() != 0 {
		if h := oneUserInGroupDirHint(dir, fi, who); h != "" {
			return h
		}
	}
	switch {
	case os.Geteuid() == 0 && serr == nil && ownedByRoot(fi):
		return fmt.Sprintf(": %s is refused although root, in a store whose directory is root's: the file server maps root to another user (NFS root_squash, the default), or the process lacks CAP_DAC_OVERRIDE (a container that drops capabilities); on the file server, give the store and anything in it to the user every app server and sessgc run as, and run them as that user", who)
	case os.Geteuid() == 0:
		// Root bypasses file modes: refused, it is mapped to another
		// user by the file server (NFS's root_squash, the default),
		// where a chown as root is refused too, or it runs without
		// CAP_DAC_OVERRIDE (a container that drops it).
		return fmt.Sprintf(": %s is refused although root: the file server maps root to another user (NFS root_squash, the default), or the process lacks CAP_DAC_OVERRIDE (a container that drops capabilities); run it as the user that owns %s, as every app server and sessgc must", who, dir)
	case serr == nil && ownedByRoot(fi):
		return fmt.Sprintf(": %s may not read and write the store, whose directory is root's: give it, and anything in it, to the user every app server and sessgc run as (chown -R USER %s)", who, shellquote.Quote(dir))
	case serr == nil && ownedByEuid(fi):
		return fmt.Sprintf(": %s may not read and write the store, whose directory it owns: something in it is another user's (an app server or sessgc run once as root) or its mode refuses this user: give it all to the user every app server and sessgc run as (chown -R USER %s), with the modes the store gave it", who, shellquote.Quote(dir))
	}
	return fmt.Sprintf(": %s may not read and write the store: run it as the user that owns %s, as every app server and sessgc must", who, dir)
}

// ownerModeHint is the hint for err, a refusal met in the store in dir,
// where the directory it was met in has a mode that refuses its own
// owner to create or remove files (data/ made 0500 by hand): running as
// the owner, or chowning to this user, would change nothing, and on an
// EFS access point (NFS all_squash), where every user is the access
// point's and no chown is allowed, that was all the other hints said.
// "" where the directory lets its owner in.
func ownerModeHint(dir string, err error) string {
	p := refusedPath(dir, err)
	d := p
	if p != dir {
		d = filepath.Dir(p)
	}
	fi, serr := os.Stat(d)
	if serr != nil || !fi.IsDir() || fi.Mode().Perm()&0o300 == 0o300 {
		return ""
	}
	return fmt.Sprintf(": %s is mode %#o, which refuses its own owner to create files in it, whoever that is (on an EFS access point, every user is its owner): give it back the mode the store gave it (chmod u+rwx %s)", d, fi.Mode().Perm(), shellquote.Quote(d))
}

// refusedPath is the path err, met in the store in dir, was refused on:
// the file a write replaces (its temp file, beside it, was refused), the
// path of its *fs.PathError, the new name of its *os.LinkError (a
// rename's or a link's, refused in the target's directory), or dir where
// none of them names an absolute path.
func refusedPath(dir string, err error) string {
	var te *targetError
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &te):
		return te.path
	case errors.As(err, &pe) && filepath.IsAbs(pe.Path):
		return pe.Path
	case errors.As(err, &le) && filepath.IsAbs(le.New):
		return le.New
	}
	return dir
}

// withOwnerHint returns err followed by its ownerHint, as an
// ownerhint.Error that sessgc tells from its type (it then says no more
// of the user and the fix), or err itself where there is no hint.
func withOwnerHint(dir string, err error) error {
	return ownerhint.Wrap(err, ownerHint(dir, err))
}

// hintedIn is withOwnerHint for an error put after a message that names
// dir: an error of an operation on dir itself (the open of its listing)
// gives its op and its errno, where it named dir a second time.
func hintedIn(dir string, err error) error {
	if pe, ok := err.(*fs.PathError); ok && pe.Path == dir {
		err = &opError{op: pe.Op, err: pe.Err}
	}
	return withOwnerHint(dir, err)
}

// opError is an operation's error on a path the message around it names.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

func open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	s, err := openStore(ctx, dir, opts...)
	if err != nil && errors.Is(err, syscall.ELOOP) {
		err = symlinkedDir(dir, err)
	}
	return s, descriptorsHint(err)
}

// symlinkedDir words err, an ELOOP met opening the store in dir, when
// data/ or locks/ is a symlink (records moved to another disk and linked
// back): the store follows none below its directory (see the package's
// security notes), and the bare error ("not writable: ... too many levels
// of symbolic links") sent operators to permissions and mount options.
func symlinkedDir(dir string, err error) error {
	for _, sub := range []string{DataDir, LockDir} {
		p := filepath.Join(dir, sub)
		fi, lerr := os.Lstat(p)
		if lerr != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		to, _ := os.Readlink(p)
		// The system call's error alone: what Open's step made of it
		// ("not writable") is the misleading part.
		var cause error = syscall.ELOOP
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			cause = pe
		}
		return fmt.Errorf("fsstore: store %s: %s/ is a symbolic link (to %s), and the store follows no symlink below its directory: "+
			"put the directory itself at %s (move it back), or mount the other disk there: %w", dir, sub, to, p, cause)
	}
	return err
}

// refuseSymlinkedDirs refuses, for a read-only Open, a store whose data/
// or locks/ is a symlink, as the writable Open's write probe and lock
// table refuse it (ELOOP, worded by symlinkedDir): the store follows no
// symlink below its directory (see rootDir), so every operation would
// fail with ELOOP. A missing one is no error: the store works without
// it.
func (s *Store) refuseSymlinkedDirs() error {
	for _, sub := range []string{DataDir, LockDir} {
		p := filepath.Join(s.dir, sub)
		if st, err := s.root.lstat(p); err == nil && st.typ == fs.ModeSymlink {
			return fmt.Errorf("fsstore: open %s: %w", s.dir, &fs.PathError{Op: "open", Path: p, Err: syscall.ELOOP})
		}
	}
	return nil
}

func openStore(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	c := defaultConfig()
	for i, o := range opts {
		if o == nil {
			// An option chosen at run time and left unset: refused
			// before anything is touched, as an invalid one is.
			return nil, fmt.Errorf("fsstore: open %s: option %d of %d is nil", dir, i+1, len(opts))
		}
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.logger = safeLogger(c.logger)
	if platformErr != nil {
		return nil, fmt.Errorf("fsstore: open %s: %w", dir, platformErr)
	}
	if dir == "" {
		// filepath.Abs would make it the working directory: a store of
		// this host's own, where the fleet was meant to share one.
		return nil, errors.New(`fsstore: open "": no directory given (an unset environment variable?)`)
	}
	if err := nulPath("open", dir); err != nil {
		return nil, err
	}
	abs, err := absDir(dir)
	if err != nil {
		return nil, fmt.Errorf("fsstore: open %s: %w", dir, err)
	}
	lockCfg := lock.Config{
		Dir:      filepath.Join(abs, LockDir),
		Strategy: c.strategy,
		FileMode: c.fileMode,
		MaxHeld:  c.maxHeldLocks,
		MaxOpen:  c.maxOpenLocks,
		EFS:      c.efs,
		LeaseTTL: c.leaseTTL,
	}
	if err := lockCfg.Validate(); err != nil {
		return nil, fmt.Errorf("fsstore: open %s: locks: %w", abs, err)
	}
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		// Where /etc/fstab says which share failed to mount, the error
		// names it, as for an empty directory there (ErrShareNotMounted),
		// and a caller tells the two cases apart from a mistyped path.
		if why := c.mounts.UnmountedShare(abs); why != "" {
			return nil, fmt.Errorf("fsstore: open %s: the directory does not exist: %w: %s (%w)", abs, ErrShareNotMounted, why, err)
		}
		// Not created here: a missing directory is as often a share not
		// mounted on this host, and a store made on the local disk below
		// the mount point would split the fleet's sessions. An fstab
		// line that mount(8) reads as no entry but that names the share
		// split at other white space (fstab.Hosts.MisreadShare) is said.
		if w := c.mounts.MisreadShare(abs); w != "" {
			return nil, fmt.Errorf("fsstore: open %s: the directory does not exist: %s (%w)", abs, w, err)
		}
		//
		// Through an EFS access point (NFS all_squash) every file is the
		// access point's user's whatever -o says, and install's chown to
		// another user fails (EPERM): said as well, not found out by a
		// probe file, which would be written outside the store.
		//
		// Where the parent is missing too, mkdir -m fails (ENOENT), and
		// mkdir -p -m sets the mode of the last directory alone (the
		// parents get the umask's, which on an access point are all its
		// user's anyway); install -d makes the parents 0755. The nearest
		// directory that exists is named: a missing parent is as often a
		// share not mounted, and -p would make the path on the local
		// disk below the mount point.
		if anc := existingAncestor(abs); anc != filepath.Dir(abs) {
			return nil, fmt.Errorf("fsstore: open %s: the directory does not exist, nor does its parent %s: check that the share is mounted on this host (findmnt -T %s names the file system of %s, the nearest directory that exists), and create the store's directory on it first, owned by the user the app servers run as (install -d -o USER -m 0700 %s), or through an EFS access point, which makes every file its own user's and refuses a chown to another, as any user (mkdir -p -m 0700 %s) (%w)",
				abs, filepath.Dir(abs), shellquote.Quote(anc), anc, shellquote.Quote(abs), shellquote.Quote(abs), err)
		}
		return nil, fmt.Errorf("fsstore: open %s: the directory does not exist: check that the share is mounted on this host, and create the store's directory on it first, owned by the user the app servers run as (install -d -o USER -m 0700 %s), or through an EFS access point, which makes every file its own user's and refuses a chown to another, as any user (mkdir -m 0700 %s) (%w)", abs, shellquote.Quote(abs), shellquote.Quote(abs), err)
	}
	if err != nil {
		return nil, fmt.Errorf("fsstore: open %s: %w", abs, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("fsstore: open %s: %w", abs, syscall.ENOTDIR)
	}
	// Before the marker is read: an existing store inside another is as
	// wrong as a new one, and its hosts should say so rather than go on
	// splitting the sessions.
	if root, rel := storeAround(abs); root != "" {
		return nil, fmt.Errorf("fsstore: open %s: %w: it is %s in the store %s (open %s to use that store)", abs, ErrInsideStore, rel, root, root)
	}
	// Between steps, a caller of OpenContext that gave up stops the rest:
	// a late open does no more than the call it is in.
	stopped := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fsstore: open %s: %w", abs, err)
		}
		return nil
	}
	// Stamped before the read, as a keyless store's re-reads are: what it
	// shows is at least that recent.
	readAt := c.now().UnixNano()
	m, err := readMarker(abs)
	if err := stopped(); err != nil {
		return nil, err
	}
	// A store opened without keys looks for the key files at the top of
	// the store where the marker does not say it is encrypted, or is
	// missing: they say so as surely, and the marker is not authenticated
	// (keyFileIn). Before a missing marker is created: a store whose
	// marker was removed must not be made again as a plaintext one.
	nfs := onNFS(abs)
	keyless := len(c.keys) == 0 && c.keysFile == ""
	var keyFile string
	if keyless && (err == nil && !m.encrypted || errors.Is(err, fs.ErrNotExist) && c.create && !c.readOnly) {
		var lerr error
		if keyFile, lerr = keyFileIn(abs, nfs); lerr != nil {
			return nil, errKeyFileLook(abs, lerr)
		}
		// Maintenance never saves, and may open the store; but not
		// make its missing marker again, without the line.
		if keyFile != "" && (!c.maintenanceOnly || err != nil) {
			return nil, errKeyFile(abs, keyFile)
		}
		if err := stopped(); err != nil {
			return nil, err
		}
	}
	created := false // the store was made by this Open (initStore)
	switch {
	case errors.Is(err, fs.ErrNotExist) && (!c.create || c.readOnly):
		return nil, fmt.Errorf("fsstore: open %s: %w (no %s file)", abs, ErrNotStore, MarkerFile)
	case errors.Is(err, fs.ErrNotExist):
		if err := checkRootOwner(abs, st, &c); err != nil {
			return nil, err
		}
		if err := checkCreatable(abs); err != nil {
			return nil, fmt.Errorf("fsstore: create store in %s: %w", abs, hintedIn(abs, err))
		}
		// An empty directory below a share that failed to mount (made
		// by install -d before the mount, or by a process that started
		// first) is on the local disk: a store there splits the fleet's
		// sessions, each host keeping its own, and users appear to log
		// out at random behind a round-robin load balancer.
		if why := c.mounts.UnmountedShare(abs); why != "" {
			return nil, fmt.Errorf("fsstore: create store in %s: %w: %s", abs, ErrShareNotMounted, why)
		}
		// The looser reading is a guess (fstab.Hosts.MisreadShare):
		// warned, not refused.
		if w := c.mounts.MisreadShare(abs); w != "" {
			c.logger.Warn("fsstore: creating a store that may be on the local disk below an unmounted share: "+w, "dir", abs)
		}
		if m, err = initStore(abs, &c); err != nil {
			return nil, fmt.Errorf("fsstore: create store in %s: %w", abs, hintedIn(abs, err))
		}
		if w := createModesWarning(abs, st, &c); w != "" {
			c.logger.Warn(w, "dir", abs)
		}
		created = true
	case err != nil:
		return nil, fmt.Errorf("fsstore: open %s: %w", abs, hintedIn(abs, err))
	}
	if c.shardSet && c.shardDepth != m.shardDepth {
		return nil, fmt.Errorf("fsstore: open %s: %w: store has shard depth %d, option asks for %d", abs, ErrLayoutMismatch, m.shardDepth, c.shardDepth)
	}
	if c.stripesSet && c.lockStripes != m.stripes {
		return nil, fmt.Errorf("fsstore: open %s: %w: store has %d lock stripes, option asks for %d", abs, ErrLayoutMismatch, m.stripes, c.lockStripes)
	}
	// Before anything is written (key check files, the write probe, lock
	// files): what this process would create must be the group's too.
	if err := checkGroupAccess(abs, st.Mode(), &c); err != nil {
		return nil, err
	}
	if !created {
		// Every Open says it, not the creating one's alone: the store
		// stays unshareable until someone fixes it.
		if w := openModesWarning(abs, st, &c); w != "" {
			c.logger.Warn(w, "dir", abs)
		}
	}
	if err := checkRootOwner(abs, st, &c); err != nil {
		return nil, err
	}
	root, err := openRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("fsstore: open: %w", err)
	}
	opened := false
	defer func() {
		if !opened {
			root.close()
		}
	}()
	if c.testFS != nil {
		root.setTestHook(c.testFS)
	}
	s := &Store{dir: abs, dataDir: filepath.Join(abs, DataDir), cfg: c, layout: m, root: root, deployed: deployedGuard{dir: abs}, raising: make(chan struct{}, 1), closing: make(chan struct{})}
	s.maxIdle.Store(int64(m.maxIdle))
	// A maintenance store opened without keys beside key files knows the
	// store encrypted, as from the marker: it refuses plaintext records.
	s.encrypted.Store(m.encrypted || keyFile != "")
	s.markerLast.Store(&markerRead{start: readAt})
	if c.dirSetgid && runtime.GOOS != "windows" {
		// The store's directories take the bit, and the group, only from
		// a setgid top directory (see WithPermissions): without it the
		// mode asked for is not what they get.
		if fi, err := os.Stat(abs); err == nil && fi.Mode()&fs.ModeSetgid == 0 {
			c.logger.Warn("store directory is not setgid: the directories the store creates get this process's group, not the directory's, whatever WithPermissions asks; chmod g+s it", "dir", abs)
		}
	}
	if c.keysFile != "" {
		if c.keys, err = keysFromFileSettled(ctx, c.keysFile, c.keysRead, c.keysFileTrusted); err != nil {
			return nil, err
		}
	}
	kr, err := newKeyring(c.keys)
	if err != nil && c.keysFile != "" {
		return nil, fmt.Errorf("%w (keys file %s)", err, c.keysFile)
	}
	if err != nil {
		return nil, err
	}
	s.keys.Store(kr)
	// The keyring holds what the store needs of the keys: their secrets
	// are not kept beside it, where a Store printed whole would show them.
	s.cfg.keys = nil
	if kr != nil {
		// Only an application host vouches for its keys: a maintenance
		// store (sessgc) that wrote a check file would let a rekey make
		// newest a key that no host has (see newestDeployed).
		if _, err := kr.checkKeys(abs, c.fileMode, c.vouches(), c.logger, nil); err != nil {
			return nil, err
		}
		// Checked just now: the saves look again after keyChecksRecheck.
		s.keyChecksAt.Store(c.now().UnixNano())
		if c.plaintextMigration && !c.maintenanceOnly {
			// A migration left on for good loads, in silence, the
			// sessions that anyone who can write the directory forges
			// in clear text: the downgrade encryption is for. A
			// read-only store loads them too; a maintenance store
			// (sessgc rekey --migrate-plaintext) serves none.
			c.logger.Warn("fsstore: WithPlaintextMigration is on: this host loads sessions stored in clear text, which anyone who can write the store's directory can forge; remove it once every host has keys and a pass of sessgc rekey --migrate-plaintext has ended with no errors", "dir", abs)
		}
	} else if s.layout.encrypted && !c.maintenanceOnly {
		return nil, fmt.Errorf("fsstore: open %s: %w (its %s file says so): this process would write sessions in clear text that the other hosts refuse; give it the keys file the other hosts have (WithKeysFile)", abs, ErrKeysRequired, MarkerFile)
	}
	s.nfs = nfs
	if !c.maxInFlightSet && !s.nfs && !c.efs {
		s.cfg.maxInFlight = 0 // local disk: see WithMaxInFlight
	}
	if s.cfg.maxInFlight > 0 {
		s.bnd = newBounder(s, &s.cfg)
	}
	s.prealloc = c.durability == DurabilityNone && !s.nfs && isExt4(abs)
	if err := stopped(); err != nil {
		return nil, err
	}
	if c.readOnly {
		// No write probe, and no lock table: setting one up may create
		// the lock directory and record the lock strategy. So the
		// symlinks those would meet are looked for here.
		if err := s.refuseSymlinkedDirs(); err != nil {
			return nil, err
		}
		return s.finishOpen(root, &c, &opened)
	}
	if err := s.checkWritable(); err != nil {
		if !c.maintenanceOnly || !isNoSpace(err) {
			return nil, err
		}
		// A full file system or quota: an application could save
		// nothing, but a maintenance store (sessgc) is what frees the
		// space, and a sweep only renames and removes files, which a
		// full file system allows. Refusing it kept the expired
		// sessions, and the disk full, until an operator freed space
		// by hand.
		s.full = err
		c.logger.Warn("store's file system or quota is full: opened for maintenance all the same (a sweep frees space; a rekey, which writes records, is refused)", "dir", abs, "err", err)
	}
	if err := stopped(); err != nil {
		return nil, err
	}
	s.locks, err = lock.NewTable(lockCfg)
	if err != nil {
		return nil, fmt.Errorf("fsstore: open %s: locks: %w", abs, err)
	}
	// From /proc/self/mountinfo, Linux's; elsewhere nothing is said.
	if s.nfs {
		if m, err := mountinfo.Lookup(abs); err == nil {
			if w := nfsMountWarning(m); w != "" {
				c.logger.Warn("fsstore: "+w, "dir", abs)
			}
		}
	}
	if !c.maintenanceOnly && onOverlay(abs) {
		// A container started without the share's volume: the
		// image's own directory stays, the store opens in it, and
		// each container keeps its users' sessions to itself.
		c.logger.Warn("fsstore: the store's directory is on overlayfs, a container's own writable layer, not on the share: this container's sessions are its own, other containers do not see them, and they go with the container; mount the shared volume (NFS, EFS) at this path", "dir", abs)
	}
	if s.locks.FlockOnFUSE() {
		// Kept so as not to lock beside processes that use flock here,
		// but unsafe across hosts unless the filesystem forwards locks.
		c.logger.Warn("fsstore: the store locks with flock on a FUSE mount, where flock may exclude this host's processes alone (sshfs, s3fs, rclone): unless the filesystem forwards locks to its server, move the store to the lease strategy (stop every process, remove "+filepath.Join(abs, LockDir, lock.StrategyFile)+", open once with WithLockStrategy(lock.Lease))", "dir", abs)
	}
	// The store's own idle timeout is recorded now rather than at the
	// first Save, so that the marker tells tools (sessgc, httpsession's
	// cookie lifetime) the timeout of every process that has the store
	// open.
	ctx, cancel := context.WithTimeout(ctx, openRaiseTimeout)
	err = s.ensureMaxIdle(ctx, c.idle)
	// A maintenance store never marks the store encrypted,
	// WithPlaintextMigration or not: the first application host opened
	// with keys does, and a rekey of an unmarked store, refused
	// (ErrNotEncrypted), must leave the hosts still running without keys
	// able to save.
	if err == nil && kr != nil && !s.layout.encrypted && c.vouches() {
		var wrote bool
		wrote, err = s.markEncrypted(ctx)
		if err == nil && wrote && !c.plaintextMigration && s.holdsPlaintextRecord() {
			// Keys added to a store in use without the migration
			// log every user out, each as a corrupt record on the
			// next load: say so once, here, with the way back.
			c.logger.Warn("fsstore: this host, the first opened with keys, marked the store encrypted, but the store already holds sessions stored in clear text, which every host now refuses (ErrUnencrypted, logged as corrupt records): their users get new sessions. To keep them, open every host with WithPlaintextMigration too, then run sessgc rekey --migrate-plaintext (docs/security.md, \"Turning encryption on for a store in use\")", "dir", abs)
		}
	}
	cancel()
	if err != nil {
		s.locks.Close()
		return nil, fmt.Errorf("fsstore: open %s: %w", abs, err)
	}
	return s.finishOpen(root, &c, &opened)
}

// finishOpen sets up what reads need, last of Open's steps: the cache and
// the keys file's watch. c is Open's configuration, with the keys it read
// from the keys file (s.cfg is a copy made before).
func (s *Store) finishOpen(root *rootDir, c *config, opened *bool) (*Store, error) {
	if c.cacheEntries > 0 {
		s.cache = newCache(c.cacheEntries, c.cacheBytes)
		s.cache.root = root
	}
	// Before the keys file's watch: a reload from now on asks the key
	// order's rechecks to judge its key set (rejudgeKeyOrder).
	judged := s.keys.Load() != nil && c.vouches()
	if judged {
		s.keyOrder.now = make(chan struct{}, 1)
	}
	if c.keysFile != "" {
		var err error
		if s.keysW, err = watchKeys(s, c.keysFile, c.keys); err != nil {
			if s.locks != nil {
				s.locks.Close()
			}
			return nil, err
		}
	}
	if judged {
		s.judgeKeyOrder(s.keys.Load())
		s.watchKeyOrder()
	}
	*opened = true
	return s, nil
}

// existingAncestor returns the nearest directory above path, absolute and
// missing, that exists (its parent when that does); the root at worst.
func existingAncestor(path string) string {
	dir := filepath.Dir(path)
	for {
		if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// refuseWrite returns an error matching ErrStoreReadOnly, naming op, on a
// store opened WithReadOnly, and nil on any other, or once the store is
// closed: the call then fails with ErrClosed, as on any store. Every call
// that writes or locks makes it first, before it reaches the file system
// or the bound (whose open breaker would report ErrUnavailable instead).
func (s *Store) refuseWrite(op string) error {
	if !s.cfg.readOnly || s.closed.Load() {
		return nil
	}
	return fmt.Errorf("fsstore: %s: %w (WithReadOnly): %s", op, ErrStoreReadOnly, s.dir)
}

// checkWritable creates and removes a temp file where saves will write, so
// a read-only mount or a permission problem is reported by Open rather than
// by the first request.
func (s *Store) checkWritable() error {
	if err := s.writeProbe(true); err != nil {
		if errors.Is(err, ErrNoHardLinks) {
			return fmt.Errorf("fsstore: store %s: %w", s.dir, err)
		}
		return fmt.Errorf("fsstore: store %s is not writable: %w", s.dir, hintedIn(s.dir, err))
	}
	return nil
}

// noHardLinks reports whether err, from link(2) of a file this process
// just made to a new name beside it, says that the file system makes no
// hard links: EPERM (Linux's VFS, for FAT and exFAT, and fusefat),
// ENOSYS (a FUSE file system that does not implement the call, as
// rclone's mount), EOPNOTSUPP (as s3fs answers) or ENOTSUP (how macOS
// refuses, for FAT and exFAT: a number of its own there, where Linux and
// FreeBSD give both names one; the lock package's lease strategy knows
// the same four). For a file of its own, EPERM has no other cause
// (protected_hardlinks spares the file's owner).
func noHardLinks(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOSYS) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOTSUP)
}

// writeProbe creates and removes a temp file where saves will write: the
// one test that a write works which holds for every cause of a refusal
// (a read-only mount on the client, an export the server holds read-only,
// a file system remounted read-only after an error), where asking the
// kernel about access would see only some of them. Open and Health
// (while the store is found read-only) use it. With link, Open's, it also
// links the probe to a second name: a store made elsewhere and copied onto
// a file system without hard links would open, serve, and fail every
// sweep that moved an expired session aside (ErrNoHardLinks).
//
// A maintenance store (WithMaintenanceOnly: sessgc) probes the store
// directory instead when data/ is missing (an operator emptied the store
// by removing it): creating data/ is the applications' next save's job,
// and sessgc's read-only commands may run as root, whose data/ would
// lock every application out of the store.
func (s *Store) writeProbe(link bool) error {
	dir := s.dataDir
	if s.cfg.maintenanceOnly {
		if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
			dir = s.dir
		}
	}
	probe := tempPrefix + "probe-" + randHex(8)
	if err := s.root.writeAtomic(dir, probe, nil, s.cfg.fileMode, s.cfg.dirMode, DurabilityNone, false); err != nil {
		return err
	}
	p := filepath.Join(dir, probe)
	if link && s.cfg.cacheEntries > 0 {
		// Open's probe, of a store with a cache: a file just made
		// tells whether the file system keeps whole-second times, where
		// the cache serves nothing (WholeSecondTimes). One stat, at
		// Open (a GETATTR on NFS, whose client revalidates a file it
		// renamed), and only where a cache is to use it.
		if st, err := s.root.lstat(p); err == nil && st.inWholeSeconds() {
			s.noteWholeSeconds()
		}
	}
	var lerr error
	if link {
		lerr = s.root.link(p, p+"-link")
		switch {
		case lerr == nil:
			if err := s.root.unlink(p + "-link"); err != nil {
				lerr = &fs.PathError{Op: "unlink", Path: p + "-link", Err: err}
			}
		case noHardLinks(lerr):
			lerr = fmt.Errorf("%w: link %s: %v", ErrNoHardLinks, p, lerr)
		default:
			lerr = &os.LinkError{Op: "link", Old: p, New: p + "-link", Err: lerr}
		}
	}
	if err := s.root.unlink(p); err != nil {
		return &fs.PathError{Op: "unlink", Path: p, Err: err}
	}
	return lerr
}

// IdleTimeout returns the idle timeout of sessions saved with a zero
// Session.Idle (WithIdleTimeout).
func (s *Store) IdleTimeout() time.Duration { return s.cfg.idle }

// Durability reports the durability level of Save: the one given with
// WithDurability, or the default.
func (s *Store) Durability() Durability { return s.cfg.durability }

// Dir returns the store's directory (absolute).
func (s *Store) Dir() string { return s.dir }

// String names the store by its directory, "fsstore.Store(/dir)": a Store
// handed to a logger or a format verb by mistake shows that alone, not
// its fields (what its keys file watcher holds, its lock table).
func (s *Store) String() string { return "fsstore.Store(" + s.dir + ")" }

// Format prints String for every verb (%q quotes it), as Key's does:
// verbs that do not use String, such as %#v or %x, would print the fields.
func (s *Store) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(s.String()))
		return
	}
	io.WriteString(f, s.String())
}

// LogValue is String, for log/slog.
func (s *Store) LogValue() slog.Value { return slog.StringValue(s.String()) }

// LockStrategy reports the lock strategy in use: lock.Auto on a store
// opened WithReadOnly, which takes no lock.
func (s *Store) LockStrategy() lock.Strategy {
	if s.locks == nil {
		return lock.Auto
	}
	return s.locks.Strategy()
}

// ErrFleetLockName is returned by TryLockFleet for a name the store uses
// for its own locks, or one the lock package refuses.
var ErrFleetLockName = errors.New("fsstore: not a fleet lock name")

// TryLockFleet takes, without waiting, the lock name in the store's lock
// directory, for a maintenance tool that runs one pass of a kind at a time
// across the fleet (sessgc takes "sessgc" and "sessgc-rekey"). It locks
// through the store's strategy (LockStrategy), as the sessions' locks do:
// on the lease strategy, which a store runs with where flock excludes
// only the processes of one host (NFS mounted with local_lock=flock or
// local_lock=all, some FUSE and SMB mounts), it creates the lease file
// name.lease and renews it while held, so that the lock excludes the
// other hosts too; a holder that died leaves a lease the next taker, or a
// sweep, breaks once it expired. It returns an error matching
// lock.ErrLocked when another process or host holds the lock, and one
// matching ErrFleetLockName for a name of the store's own locks (a
// stripe's, "marker", "sweep", "rekey") or that the lock package refuses
// (a name starting with '.', a path, one holding ".lease"; the error
// also matches lock.ErrInvalidName). A store opened WithReadOnly takes no
// lock: the error matches ErrStoreReadOnly. Unlock the handle when the
// pass ends.
//
// On the flock strategy the lock's file stays in the lock directory after
// Unlock, as every lock file does. Stats and Sweep know sessgc's two
// names for the store's; a file of any other name there is counted
// Foreign (Stats.Foreign, SweepOptions.OnForeign), though removing it
// while a tool may lock it lets two passes run at once.
func (s *Store) TryLockFleet(name string) (*lock.Handle, error) {
	if err := s.usable(context.Background()); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		// Before WithReadOnly's refusal, as every call says closed first.
		return nil, ErrClosed
	}
	if s.locks == nil {
		return nil, fmt.Errorf("fsstore: fleet lock %s: %w (WithReadOnly), which takes no lock: %s", name, ErrStoreReadOnly, s.dir)
	}
	if isStripeName(name) || storeLockName(name) || name == "" || name[0] == '.' {
		return nil, fmt.Errorf("%w: %q", ErrFleetLockName, name)
	}
	h, err := s.locks.TryLock(name, name, lock.Exclusive)
	if errors.Is(err, lock.ErrInvalidName) {
		// The lock package's refusal (a path, a ".lease" infix, a name
		// Windows keeps for a device) is as much a wrong name as one of
		// the store's own: the caller tests for one sentinel.
		return nil, fmt.Errorf("%w: %w", ErrFleetLockName, err)
	}
	if err != nil && !errors.Is(err, lock.ErrLocked) {
		return nil, fmt.Errorf("fsstore: fleet lock %s: %w", name, closedLock(err))
	}
	return h, err
}

// OnNFS reports whether the store is on an NFS mount.
func (s *Store) OnNFS() bool { return s.nfs }

// Close releases the store's resources: kept-open lock descriptors, the
// keys file watch and the rechecks of the key order (NewestKeyBehind).
// Held locks stay held until unlocked. Calling Close again does nothing.
//
// A closed store is not read-only (ReadOnlyFS), has no open breaker
// (Breaker), no keys file change left unapplied (KeysFileUnapplied) and no
// newest key behind another (NewestKeyBehind): Close ends those states and
// reports their end to an Observer that implements ReadOnlyFSObserver,
// BreakerObserver, KeysFileObserver or NewestKeyObserver, so
// that metrics kept from the reports, which other stores may share, no
// longer count it.
//
// Closing descriptors on NFS talks to the server, and the store's
// directory is closed only once no operation uses it: on a bounded store
// (WithMaxInFlight) Close waits for that at most the ceiling
// (WithOpTimeout) and then returns ErrUnavailable, the rest going on in the
// background, so that a process can shut down during an outage.
//
// Close does not wait for the operations under way, only for their use of
// the store's directory descriptor: an operation past that point (it holds
// a descriptor of the record's shard directory) goes on, and a write
// given up on with an error matching ErrInDoubt, still in the kernel, may
// be applied after Close has returned nil; it is logged and reported to the
// Observer (Event.Late) then, as before Close. New operations fail with
// ErrClosed. So stop the callers first (http.Server.Shutdown) and close the
// store after them.
func (s *Store) Close() (err error) {
	if err := s.usable(context.Background()); err != nil {
		return err
	}
	if s.closed.Swap(true) {
		return nil
	}
	close(s.closing)
	s.panics.flush(s.cfg.logger)
	if hp := handlerPanicsOf(s.cfg.logger); hp != nil {
		hp.flush()
	}
	// The reports come first: release may wait for a server that does
	// not answer. A panic in the observer goes up to Close's caller, on
	// whose goroutine they are made, but the store is closed all the same
	// (the rest is deferred): a second Close does nothing, and left the
	// prober running and the lock descriptors open.
	defer func() { err = s.shut() }()
	if s.bnd != nil {
		defer s.bnd.brk.shut()
	}
	defer s.endKeysFile()
	defer s.endKeyOrder()
	s.endReadOnly()
	return nil
}

// shut is Close once the end of the states is reported.
func (s *Store) shut() error {
	if s.bnd == nil {
		return s.release()
	}
	close(s.bnd.brk.stop)
	s.bnd.stopWorkers()
	done := make(chan error, 1)
	go func() { done <- s.release() }()
	t := time.NewTimer(s.bnd.timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("fsstore: close: %w: no answer within %v; closing in the background", ErrUnavailable, s.bnd.timeout)
	}
}

// release stops the keys file watch and the key order's rechecks, and
// closes the lock table and the store's directory. The watch's goroutine
// may be in a reload, which checks new keys against the store's
// directory, and the rechecks' in a read of a record: on a hung mount,
// only as long as Close waits for the rest.
func (s *Store) release() error {
	if s.keysW != nil {
		s.keysW.close()
	}
	s.stopKeyOrder()
	var err error
	if s.locks != nil {
		err = s.locks.Close()
	}
	if rerr := s.root.close(); err == nil {
		err = rerr
	}
	return err
}

func (s *Store) check(ctx context.Context, id string) (key, error) {
	if s.closed.Load() {
		return key{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return key{}, err
	}
	if err := ValidID(id); err != nil {
		return key{}, err
	}
	return s.key(id), nil
}

// key is deriveKey with the record's path built in the same allocation as
// the name, which is its tail: a locked request would otherwise build the
// name, then the path once to load and once to save.
func (s *Store) key(id string) key {
	sum := nameSum(id)
	var name [32]byte
	hex.Encode(name[:], sum[:16])
	// As path builds it (dataDir is clean and names are hex, so
	// filepath.Join's Clean has nothing to do), in a buffer on the stack
	// copied into the one allocation: a longer dataDir only costs a
	// second.
	b := make([]byte, 0, 192)
	b = append(b, s.dataDir...)
	for i := 0; i < s.layout.shardDepth; i++ {
		b = append(b, '/', name[2*i], name[2*i+1])
	}
	b = append(b, '/')
	b = append(b, name[:]...)
	// The stripe's lock file name follows in the same allocation: a Lock
	// made a string of its own for it.
	n := len(b)
	stripe := stripeOfSum(&sum)
	b = appendStripeName(b, stripe, s.layout.stripes)
	all := string(b)
	file := all[:n]
	return key{name: file[len(file)-len(name):], stripe: stripe, file: file, lockName: all[n:]}
}

// lockName is the name of k's stripe's lock file.
func (s *Store) lockName(k key) string {
	if k.lockName != "" {
		return k.lockName
	}
	return stripeName(k.stripe, s.layout.stripes)
}

// checkWrite is check for a call that writes or locks: on a store opened
// WithReadOnly it fails with ErrStoreReadOnly, after the checks of check,
// so that a closed store still reports ErrClosed.
func (s *Store) checkWrite(ctx context.Context, id, op string) (key, error) {
	k, err := s.check(ctx, id)
	if err == nil {
		err = s.refuseWrite(op)
	}
	return k, err
}

func (s *Store) path(k key) (dir, file string) {
	if k.file != "" {
		return k.file[:len(k.file)-len(k.name)-1], k.file
	}
	// One allocation: the file path is built by concatenation (dataDir is
	// clean and names are hex, so filepath.Join's Clean has nothing to do)
	// and the directory is a prefix of it.
	d := s.layout.shardDepth
	var b strings.Builder
	b.Grow(len(s.dataDir) + 3*d + 1 + len(k.name))
	b.WriteString(s.dataDir)
	for i := 0; i < d; i++ {
		b.WriteByte('/')
		b.WriteString(k.name[2*i : 2*i+2])
	}
	b.WriteByte('/')
	b.WriteString(k.name)
	file = b.String()
	return file[:len(file)-len(k.name)-1], file
}

// Load returns the session with the given ID. A missing or expired session
// is an error matching ErrNotFound; a damaged record is ErrCorrupt; a bad
// ID is ErrInvalidID.
func (s *Store) Load(ctx context.Context, id string) (*Session, error) {
	return s.LoadInto(ctx, id, nil)
}

// RecordOverhead is the most a stored record adds to its payload: its
// header and, in an encrypted store, the cipher's nonce and tag. A buffer
// with a capacity of the payload's length plus RecordOverhead holds the
// record (see LoadInto).
const RecordOverhead = record.HeaderSize + sealOverhead

// LoadInto is Load reading the record into buf when it fits in buf's
// capacity (the payload plus up to RecordOverhead), so that a caller
// reusing its buffers across requests allocates nothing per load; otherwise it allocates as Load does. The
// returned session's Data may alias buf: the caller must not change or
// reuse buf while it uses Data. The store keeps no reference to buf once
// LoadInto returns, except after an error matching ErrUnavailable: a
// bounded store (WithMaxInFlight) that gave up waiting may still be
// reading into buf, which the caller must then drop, not reuse. buf's
// length is ignored (it is written from index 0), and after any error its
// contents are unspecified: a partial record, an expired or undecryptable
// one, or a record found to belong to another ID; never use them.
func (s *Store) LoadInto(ctx context.Context, id string, buf []byte) (*Session, error) {
	if err := s.usableAs(ctx, OpLoad); err != nil {
		return nil, err
	}
	start := s.begin()
	k, err := s.check(ctx, id)
	var sess *Session
	switch {
	case err != nil:
	case s.bnd == nil:
		sess, err = s.loadKeep(id, k, true, true, nil, buf, nil, nil)
	default:
		c := s.bnd.get("load", OpLoad, k.name)
		c.fn = func(c *call) error {
			c.hook("load")
			var err error
			c.sess, err = s.loadKeep(id, k, true, true, nil, buf, c, nil)
			return err
		}
		if err = s.bnd.run(ctx, c, fsOp); !errors.Is(err, ErrUnavailable) {
			sess = c.sess
		}
		s.bnd.put(c)
	}
	n := 0
	if sess != nil {
		n = len(sess.Data)
	}
	err = s.end(OpLoad, start, err, n, k.name)
	return sess, err
}

// loadKeep reads and checks a record; with live false it returns expired
// records too, and reads the file whatever the cache holds
// (CompareAndSwap compares against whatever is on disk). When
// keep is not nil and the session was read live from its file, it leaves
// that file open in *keep (a cache hit and a
// record read from the sweep's aside name leave none). It reads into buf
// when the record fits there (see LoadInto); the cache never keeps buf.
// A cache hit judged on attributes the server may not have given (see
// fetchesFresh) marks c, the bounded call it runs in (nil: none), as
// unanswered. relook: on NFS, look again for a record found missing (see
// Locked.LoadLockedOnly). read, if not nil, gets the attributes of the
// file the record was read from (zero for a cache hit).
func (s *Store) loadKeep(id string, k key, live, relook bool, keep *keptFile, buf []byte, c *call, read *fileStat) (*Session, error) {
	_, p := s.path(k)
	var (
		b  []byte
		st fileStat
		h  record.Header
		pl []byte
		// now: the store clock's reading of the expiry check before the
		// payload is decrypted, which serves the check after it where
		// nothing between took time (see unsealAt); zero otherwise.
		now time.Time
	)
	// On NFS, revalidate the directory before the open. The Linux
	// client opens a name it has cached by its old file handle
	// (OPEN by FH, no lookup) for as long as the directory's
	// attributes are cached (acdirmin, 30 s), and that open succeeds
	// when the replaced file still exists on the server: while any
	// process has it open, its host keeps it as a .nfsXXXX file. The
	// Load then returns the old record, and a locked read-modify-write
	// or a CompareAndSwap built on it loses another host's update.
	// One GETATTR of the directory makes the client notice a changed
	// directory and look the name up again; it also drops a cached
	// "no such file" for a session another host has just created.
	// The cache's revalidation opens the file too, so this comes first.
	s.refreshDir(p)
	kr := s.keys.Load() // one key set for the cache's judgement and the record's
	// CompareAndSwap (live false) reads the file, never the cache: the
	// cache's identity check misses an inode number reused for the same
	// session with the same size within one timestamp tick, and a swap
	// decided on such an entry's version would overwrite the saves it
	// missed, which is what a swap exists to refuse. It costs one round
	// trip on NFS when the record is unchanged (the OPEN and CLOSE instead
	// of the forced GETATTR) and saves one when it changed; a Load keeps
	// the cache, whose staleness there is that of a read.
	if s.cache != nil && live {
		if e, ok := s.cache.get(k.name, p, kr, buf); ok {
			// A plaintext record cached before this keyless store learned
			// that the store is encrypted is judged again, from the file.
			// A marker that could not be read fails the load here: the
			// file's record would ask the same read again.
			err := s.sealRefused(kr, &e.header)
			switch {
			case err == nil && live && !s.fetchesFresh() && expiredAt(expiry(e.st.mtime, e.header.Idle, e.header.Deadline), s.cfg.now()):
				// Expired by attributes that on macOS and FreeBSD may
				// be the NFS client's cached ones (statNow), older than
				// a Touch on another host: judged from the file, whose
				// open fetches them afresh, as an uncached Load's is,
				// rather than logging out a user whose session lives.
				// Where statNow asked the server (Linux), they are the
				// file's, and the hit below answers ErrExpired without
				// the file's OPEN and READ.
			case err == nil:
				h, pl, st = e.header, e.payload, e.st
				if c != nil && !s.fetchesFresh() {
					// In an outage the client's cache answers for
					// up to acregmax: counted as the server's
					// answer, every hit ended the breaker's row of
					// timeouts and stretched patience.
					c.unanswered = true
				}
				goto decoded
			case !errors.Is(err, ErrUnencrypted):
				return nil, fmt.Errorf("fsstore: load %s: %w", p, err)
			}
			s.cache.drop(k.name)
		}
	}
	{
		var (
			err  error
			kept keptFile
		)
		defer kept.close() // unless handed to keep below
		// ESTALE: on NFS another host may replace the file between our
		// lookup of the name and the open or read. The file under the name
		// is then a complete newer record, so look the name up again.
		//
		// ENOENT on NFS may be a save in flight on another host: when a
		// process there holds the record open (a concurrent Load on the
		// same app server), its client renames the busy record to a
		// .nfsXXXX name first and only then the new record over the
		// name, so between the two round trips the name is gone on the
		// server (the two-host suite's SaveOverOpenRecord saw 14 "not
		// found" in 922 loads). More looks, each after the directory's
		// attributes and a wait that doubles from 1 ms, outlast that gap
		// (four looks without the waits still missed it 6 times in 673
		// loads in a busy guest); a session really gone costs them, about
		// 31 ms and five directory GETATTRs, only on NFS.
		gone := 0
		for try := 0; ; try++ {
			more := s.nfs && relook && gone < nfsGoneLooks // looks again after a miss
			b, st, kept, err = s.root.readFileKeep(p, maxRecordFile, keep != nil, buf)
			if errors.Is(err, fs.ErrNotExist) {
				// A sweep may hold the record aside this instant, or
				// put it back in the next.
				if h := s.testHooks.asideLook; h != nil {
					h(p)
				}
				b, st, err = s.readMovedAside(p, maxRecordFile, !more)
			}
			if more && errors.Is(err, fs.ErrNotExist) {
				if h := s.testHooks.goneLook; h != nil {
					h(p)
				}
				time.Sleep(time.Millisecond << gone) // the other host's second RENAME: nothing here to wait on
				gone++
				s.refreshDir(p)
				continue
			}
			if !isStale(err) || try >= 3+gone {
				break
			}
		}
		if err != nil {
			return nil, s.readError(p, err)
		}
		h, pl, err = record.Split(b)
		if err == nil && (h.Flags&record.FlagEncrypted == 0 || kr == nil) {
			err = record.VerifyChecksum(b)
		}
		if err != nil {
			return nil, fmt.Errorf("fsstore: load %s: %w", p, err)
		}
		if h.Bind != k.bindOf(id) {
			return nil, fmt.Errorf("fsstore: load %s: %w: record belongs to another session ID", p, ErrCorrupt)
		}
		// Expiry before decryption: an expired record is gone whatever
		// key sealed it, so a retired key never outlives the sessions
		// it sealed. The header times are not yet authenticated here;
		// forging them can only make a record look expired (the
		// decryption below authenticates them otherwise).
		now = s.cfg.now()
		if exp := expiry(st.mtime, h.Idle, h.Deadline); expiredAt(exp, now) {
			if live {
				return nil, fmt.Errorf("fsstore: load %s: %w", p, ErrExpired)
			}
			sess := &Session{ID: id, Created: time.Unix(0, h.Created), Version: h.Version, Idle: time.Duration(h.Idle), Expires: exp}
			if h.Deadline != 0 {
				sess.Deadline = time.Unix(0, h.Deadline)
			}
			return sess, nil
		}
		if pl, err = s.unsealAt(kr, &h, k.name, pl, &now); err != nil {
			return nil, fmt.Errorf("fsstore: load %s: %w", p, err)
		}
		if s.cache != nil {
			// A cache that could serve nothing says so (see
			// WholeSecondTimes): it was silent.
			s.noteReadTimes(st)
			// The cache keeps a copy of its own: pl may be in the
			// caller's buffer, which it reuses for other sessions.
			s.cache.put(k.name, h, append([]byte(nil), pl...), st, kr)
		}
		if keep != nil {
			*keep, kept = kept, keptFile{} // read live: expired returned above
		}
	}
decoded:
	s.seen.remember(k.name, st, &h)
	if read != nil {
		*read = st
	}
	sess := &Session{ID: id, Data: pl, Created: time.Unix(0, h.Created), Version: h.Version, Idle: time.Duration(h.Idle)}
	if h.Deadline != 0 {
		sess.Deadline = time.Unix(0, h.Deadline)
	}
	sess.Expires = expiry(st.mtime, h.Idle, h.Deadline)
	if live && !sess.Expires.IsZero() {
		// Judged again after the decryption (a session must not be
		// served that expired while it was decrypted), or for a cache
		// hit; a plaintext record read from the file was judged at the
		// reading above, with nothing since that takes time.
		if now.IsZero() {
			now = s.cfg.now()
		}
		if expiredAt(sess.Expires, now) {
			return nil, fmt.Errorf("fsstore: load %s: %w", p, ErrExpired)
		}
	}
	return sess, nil
}

// unixNanos is t in Unix nanoseconds, as a record's header holds times,
// saturated to what the header can hold: a time before 1970 is its first
// nanosecond (0 means "none": a deadline that early has passed, not gone),
// one after 2262 its last (UnixNano wraps around, and a far deadline came
// back as one long past).
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, 1)):
		return 1
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// expiredAt reports whether a session expiring at exp (zero: never) has
// expired at now.
func expiredAt(exp, now time.Time) bool { return !exp.IsZero() && !now.Before(exp) }

// expiry is the earlier of mtime+idle and the deadline; zero when neither
// applies.
func expiry(mtime time.Time, idle, deadline int64) time.Time {
	var e time.Time
	if idle > 0 {
		e = mtime.Add(time.Duration(idle))
	}
	if deadline > 0 {
		if d := time.Unix(0, deadline); e.IsZero() || d.Before(e) {
			e = d
		}
	}
	return e
}

// refreshDir makes this NFS client revalidate p's directory: a forced
// GETATTR (statx with AT_STATX_FORCE_SYNC). If the directory changed, the
// client drops its cached lookups there, both a cached "no such file" (kept
// until the directory's cached attributes expire, acdirmin, 30 s by
// default) and a cached name that another host has since replaced. It costs
// one round trip and does nothing on local filesystems.
//
// A shard directory another host has just created can itself be cached as
// missing in the data directory; then the data directory is refreshed, and
// so on up to it.
func (s *Store) refreshDir(p string) {
	if !s.nfs {
		return
	}
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		err := forceGetattr(dir, s.root.noStatx)
		if !errors.Is(err, fs.ErrNotExist) || len(dir) <= len(s.dataDir) {
			return
		}
	}
}

// nfsGoneLooks is how many more times a Load or Touch on NFS looks for a
// record it did not find (see loadKeep).
const nfsGoneLooks = 5

// readError is the error of a Load (or Range) that could not read the
// record at p (see recordError).
func (s *Store) readError(p string, err error) error { return s.recordError("load", "read", p, err) }

// recordError is the error of op ("load", "touch") on the record at p,
// which failed with err; pathOp ("read", "open") is the operation the
// fs.PathError it wraps names.
func (s *Store) recordError(op, pathOp, p string, err error) error {
	if aerr := asideOpError(op, p, err); aerr != nil {
		return aerr
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("fsstore: %s %s: %w", op, p, ErrNotFound)
	case isSymlinkErr(err):
		return fmt.Errorf("fsstore: %s %s: refusing a symlink in the store (at the record's name or its shard directory's; remove it): %w: %w", op, p, ErrRefused, &fs.PathError{Op: "open", Path: p, Err: err})
	case errors.Is(err, errNotRegular), errors.Is(err, errTooBig):
		return fmt.Errorf("fsstore: %s %s: %w: %v", op, p, ErrCorrupt, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("fsstore: %s: %w: %w", op, ErrRefused, withOwnerHint(s.dir, &fs.PathError{Op: pathOp, Path: p, Err: err}))
	case notShardDir(err):
		// Not ErrRefused: the record may well be intact behind a shard
		// directory moved away (a tool, an operator), and callers start
		// a new session for a refused one, logging the user out for
		// good once the directory is back. It fails as an outage does.
		return fmt.Errorf("fsstore: %s %s: %s: %w", op, p, shardNameHint, &fs.PathError{Op: pathOp, Path: p, Err: err})
	}
	return fmt.Errorf("fsstore: %s: %w", op, &fs.PathError{Op: pathOp, Path: p, Err: err})
}

// Save writes the session atomically and without taking a lock: the last
// writer wins. Use Lock (or CompareAndSwap) to serialize read-modify-write
// cycles. Save sets sess.Version, Created, Deadline and Expires. On any
// error the previously saved session is intact.
//
// Save does not read the record it replaces: the version it writes is
// sess.Version+1 (from 0, a random start: see Session.Version), whatever
// the version on disk. So do not mix it with
// CompareAndSwap on one session: a Save from an older version writes a
// version number that a client still holding it may then compare-and-swap
// against successfully, and the write in between is lost. Locked.Save
// writes under the lock the version its Load read, plus one.
//
// Taking no lock, Save is not kept out by a Rekey rewriting the same
// record: the rekey looks at the record right before it renames its
// rewrite into place and leaves a record that changed since its read, but
// a Save that lands between that look and the rename (one round trip on
// NFS) is replaced by the rewrite of what was there before it. Writers
// that must not lose an update while a key rotation is rekeyed use Lock
// or CompareAndSwap, which hold the lock the rekey takes.
//
// The first save of a new session under an ID fresh from NewID, made
// before the ID goes to anyone, needs none of that, and Save is the
// cheapest way to make it: no other process can lock, read or write a
// session whose ID it cannot know, and no record can be at its name (a
// hash of the ID), so there is no writer to keep out and nothing to look
// for. On NFS it is 4 round trips, where CompareAndSwap from version 0
// takes 13 (the lock's, and looks for a record at the name and the aside
// names, all needed for an ID that came from outside). Later writes of
// the session may then use Lock or CompareAndSwap: the version Save set
// is the only one there has been. httpsession creates its sessions so.
func (s *Store) Save(ctx context.Context, sess *Session) error {
	if err := s.usableAs(ctx, OpSave); err != nil {
		return err
	}
	start := s.begin()
	if sess == nil {
		err := misuse("fsstore: save: nil session")
		s.end(OpSave, start, err, 0, "")
		return err
	}
	k, err := s.checkWrite(ctx, sess.ID, "save")
	switch {
	case err != nil:
	case s.bnd == nil:
		err = s.save(ctx, nil, k, sess, nil, nil)
	default:
		c := s.bnd.get("save", OpSave, k.name)
		cp := detachedCopy(sess)
		c.bytes = len(cp.Data)
		c.fn = func(c *call) error {
			c.hook("save")
			return s.save(ctx, c, k, cp, nil, nil)
		}
		if err = s.bnd.run(ctx, c, fsOp); err == nil {
			cp.Data = sess.Data
			*sess = *cp
		}
		s.bnd.put(c)
	}
	return s.end(OpSave, start, err, writtenBytes(err, len(sess.Data)), k.name)
}

// save writes sess. For a save under a lock, verify checks the lock: right
// before the rename that publishes the record, and again after it, so that
// a lock lost meanwhile is reported (ErrLockLost) even when the rename went
// through; see docs/design.md for the window that remains. unchanged, if
// not nil, runs after verify right before the rename alone, and its error
// fails the save with nothing written (see CompareAndSwap). c is the
// bounded call it runs in (nil on the caller's goroutine): a save its
// caller gave up on skips the rename if it has not begun it.
func (s *Store) save(ctx context.Context, c *call, k key, sess *Session, verify, unchanged func() error) error {
	// One key set for the whole save: a keys file reloaded meanwhile
	// must not change the key it is sealed with after the checks below.
	kr := s.keys.Load()
	// now: the store clock's reading for the record's times, taken once
	// for them and a keyless store's marker check where that check waits
	// for nothing (see recheckMarker); zero: read below.
	var now time.Time
	if kr == nil {
		now = s.cfg.now()
		if err := s.refusePlaintext(&now); err != nil {
			return fmt.Errorf("fsstore: save: %w", err)
		}
		// A step of its own: it may have waited for another save's read.
		c.progress()
	} else if s.cfg.maintenanceOnly {
		// Opened with keys for maintenance, which leaves an unmarked
		// store unmarked (see WithMaintenanceOnly): an encrypted record
		// would stop its keyless hosts as surely as the mark would.
		if err := s.checkMarkedEncrypted(ctx); err != nil {
			return fmt.Errorf("fsstore: save: %w", err)
		}
		// Its keys prove nothing about the hosts' (see Rekey): a record
		// sealed under a newest key they lack is unknown to them.
		if err := s.deployed.check(kr); err != nil {
			return fmt.Errorf("fsstore: save: %w", err)
		}
	} else if s.cfg.vouches() {
		s.keepKeyChecks(ctx, kr)
	}
	if len(sess.Data) > s.cfg.maxSize {
		return fmt.Errorf("fsstore: save: %w: %d bytes, limit %d", ErrTooLarge, len(sess.Data), s.cfg.maxSize)
	}
	idle := sess.Idle
	if idle == 0 {
		idle = s.cfg.idle
	}
	if idle < time.Second || idle > MaxIdleTimeout {
		return fmt.Errorf("fsstore: save: %w: %v outside 1s..%v", ErrInvalidIdle, idle, MaxIdleTimeout)
	}
	if now.IsZero() {
		now = s.cfg.now()
	}
	created := sess.Created
	if created.IsZero() {
		created = now
	}
	deadline := sess.Deadline
	if deadline.IsZero() && s.cfg.lifetime > 0 {
		deadline = created.Add(s.cfg.lifetime)
	}
	// The marker must cover this record's idle timeout before the record
	// exists, or a sweep judging by the marker could remove it live.
	if err := s.ensureMaxIdle(ctx, effectiveIdle(now, idle, deadline)); err != nil {
		return fmt.Errorf("fsstore: save: %w", err)
	}
	h := record.Header{
		Created: unixNanos(created),
		Idle:    int64(idle),
		Version: nextVersion(sess.Version),
		Bind:    k.bindOf(sess.ID),
	}
	if !deadline.IsZero() {
		h.Deadline = unixNanos(deadline)
	}
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := append((*bp)[:0], make([]byte, record.HeaderSize)...)
	if kr != nil {
		buf = kr.seal(buf, &h, k.name, sess.Data)
	} else {
		buf = append(buf, sess.Data...)
	}
	record.Finish(buf, &h)
	dir, _ := s.path(k)
	preRename := verify
	if h := s.testHooks.beforeVerify; h != nil && verify != nil {
		preRename = func() error { h("rename"); return verify() }
	}
	if unchanged != nil {
		check := preRename
		preRename = func() error {
			if check != nil {
				if err := check(); err != nil {
					return err
				}
			}
			return unchanged()
		}
	}
	if c != nil {
		// The lock is checked first: a save given up on while its check
		// waits for the server is skipped, not left "in doubt".
		check := preRename
		preRename = func() error {
			if check != nil {
				if err := check(); err != nil {
					return err
				}
			}
			if !c.commit() {
				return errAbandoned
			}
			return nil
		}
	}
	// Under a fake clock the record's times are its clock's, set on the
	// temp file before the rename: set after it, on the published record,
	// a failure there (the store closed meanwhile, a server that failed
	// the SETATTR) was the save's error, "nothing saved", for a record
	// that was saved.
	var times *[2]time.Time
	if s.cfg.fakeClock {
		times = &[2]time.Time{now, now}
	}
	c.hook("write")
	err := s.root.writeAtomicCheck(dir, k.name, buf, s.cfg.fileMode, s.cfg.dirMode, s.cfg.durability, s.prealloc, preRename, verify, times)
	c.progress() // the lock check after the rename is a step of its own
	if errors.Is(err, errUnsynced) {
		// Published: readers may have it already. Not "nothing saved".
		err = fmt.Errorf("%w: %w", err, ErrInDoubt)
		if verify != nil {
			// And a lock lost meanwhile is still reported, as below.
			if verr := verify(); verr != nil {
				err = fmt.Errorf("%w; and %w", err, verr)
			}
		}
	}
	if err == nil && verify != nil {
		if h := s.testHooks.beforeVerify; h != nil {
			h("after")
		}
		if err = verify(); err != nil {
			// The record is written; under a lost lock it may have
			// replaced another holder's save. Say so rather than succeed.
			err = fmt.Errorf("saved, but %w: %w", err, ErrInDoubt)
		}
	}
	if cap(buf) <= 2*(record.HeaderSize+sealOverhead+s.cfg.maxSize) {
		*bp = buf
		s.bufs.Put(bp)
	}
	if err != nil {
		return fmt.Errorf("fsstore: save: %w", withOwnerHint(s.dir, err))
	}
	if s.cache != nil {
		s.cache.drop(k.name)
	}
	sess.Version, sess.Created, sess.Deadline, sess.Idle = h.Version, created, deadline, idle
	sess.Expires = expiry(now, h.Idle, h.Deadline)
	return nil
}

// nextVersion is the version a save from version v writes: v+1, or for a
// record created (v 0, or a caller's version at the end of the range) a
// random start. Counted from 1, the versions of a session created again at
// its ID after a Delete, a sweep, or the replacement of a damaged record
// repeated those of the record before it, and a CompareAndSwap of a client
// that had read the earlier record succeeded over the new one once it
// reached the same count. A random start below 2^53 (exact in a float64,
// as JSON numbers are in JavaScript) leaves room to count on, and two
// records at one name share a version only if their starts fall within
// the number of saves of each other.
func nextVersion(v uint64) uint64 {
	if v == 0 || v >= 1<<53-1 {
		return 1 + rand.Uint64N(1<<52)
	}
	return v + 1
}

// CompareAndSwap saves sess only if the version on disk is still
// sess.Version (0: no live record exists), and fails with ErrConflict
// otherwise. A live record at version 0, as builds before random starting
// versions wrote when a save's version wrapped, is a live record all the
// same: only a caller that read it (sess.Created its Created, as Load
// reports it) swaps it, and a create (sess.Created zero or another time)
// conflicts. A corrupt record counts as absent for version 0, which
// replaces it; any other version fails with ErrCorrupt. A live record
// sealed under a key this process lacks fails with ErrUnknownKey whatever
// the version: another host may have the key (an expired one is absent,
// whatever key sealed it, as for Load). A record created at the ID after
// the one the caller read was deleted or swept starts at a random version
// (see Session.Version), which the caller's matches with odds of about
// its number of saves in 2^52. It holds the session's lock just for the
// check and the write, for callers that do not want to hold a lock across
// a request. Writers that take no lock (Store.Delete, as a log out on a
// route that holds no lock makes; Store.Save) are not kept out by it: one
// that deletes or replaces the record between the swap's read and its
// write fails the swap with ErrConflict, nothing written, rather than be
// undone (a deleted session brought back); a Touch then does not. That
// look, right before the rename, costs a swap of a live record one stat
// (on NFS the directory's GETATTR and the record's). A wait for another holder of that lock that ctx ends fails
// with ErrLocked and ctx's error, as Lock's does, on a bounded store too,
// whichever instant of the wait the end meets.
func (s *Store) CompareAndSwap(ctx context.Context, sess *Session) (err error) {
	if err := s.usableAs(ctx, OpCompareAndSwap); err != nil {
		return err
	}
	start := s.begin()
	if sess == nil {
		err := misuse("fsstore: compare-and-swap: nil session")
		s.end(OpCompareAndSwap, start, err, 0, "")
		return err
	}
	k, err := s.checkWrite(ctx, sess.ID, "compare-and-swap")
	defer func() { err = s.end(OpCompareAndSwap, start, err, writtenBytes(err, len(sess.Data)), k.name) }()
	if err != nil {
		return err
	}
	if s.bnd == nil {
		return s.compareAndSwap(ctx, nil, k, sess)
	}
	c := s.bnd.get("compare-and-swap", OpCompareAndSwap, k.name)
	cp := detachedCopy(sess)
	c.bytes = len(cp.Data)
	c.fn = func(c *call) error { return s.compareAndSwap(ctx, c, k, cp) }
	if err = s.bnd.run(ctx, c, lockOp); err == nil {
		cp.Data = sess.Data
		*sess = *cp
	}
	s.bnd.put(c)
	return err
}

// compareAndSwap is CompareAndSwap's work. With c (a bounded call) its wait
// for the lock ends with ctx and each lock attempt counts as a call into
// the filesystem; once it holds the lock, everything does.
func (s *Store) compareAndSwap(ctx context.Context, c *call, k key, sess *Session) error {
	lctx := ctx
	if c != nil {
		lctx = opwatch.NewContext(ctx, &c.op)
	}
	h, err := s.locks.Lock(lctx, s.lockName(k), k.name, lock.Exclusive)
	if err != nil {
		if c != nil && c.op.Refused() {
			return s.bnd.refusedErr(ctx, "compare-and-swap", err)
		}
		return lockErr("compare-and-swap: "+s.recordPath(k), err, s.dir)
	}
	// The wait for the lock is over: a call on the wire from now on is
	// the operation's own, not a poll (see bounder.wait).
	if c != nil {
		c.op.Granted()
	}
	if c != nil && !c.op.Enter() {
		if !c.op.Requeue() {
			// Given up on as the lock was granted, or the store is known
			// not to answer: not even a read.
			c.op.EnterAlways()
			h.Unlock()
			c.op.Exit()
			if c.op.Refused() {
				return s.bnd.fullErr("compare-and-swap")
			}
			if err := ctx.Err(); err != nil {
				// The wait for the holder outlasted the context, as
				// one that ended before the grant did (the lock
				// package's ErrLocked): not the store failing to
				// answer.
				return fmt.Errorf("fsstore: compare-and-swap: %w while waiting for the holder (%w)", ErrLocked, err)
			}
			return fmt.Errorf("fsstore: compare-and-swap: %w", errAbandoned)
		}
		// Granted the lock with every slot taken: an operation admitted
		// and granted is not refused now, it runs over the bound.
		c.op.EnterAlways()
	}
	defer h.Unlock()
	c.hook("compare-and-swap")
	// An expired record counts as absent (version 0), as it does for Load,
	// or a caller who found no session could never create one. The new
	// record's version continues from the expired one's, so a client still
	// holding the old version cannot mistake the new session for it.
	//
	// A corrupt record counts as absent for a caller creating a session
	// (version 0): Load reports it as ErrCorrupt, and the caller's way out
	// must not be Delete, which would race with other hosts. A caller who
	// expects a version gets ErrCorrupt: whatever it read is not what is
	// on disk.
	//
	// Creating (version 0), a record missing at the first look (its name,
	// the sweep's aside name, a locked Delete's, its name again: see
	// readMovedAside) is taken
	// as absent, without Load's looks again on NFS (see
	// Locked.LoadLockedOnly): a save by another host without the lock
	// that is in flight then lands after this one, as two unlocked saves
	// are ordered, and the server's name was absent in between all the
	// same. Those looks cost every new session five round trips and some
	// 31 ms. A caller expecting a version keeps them: a record missing for
	// an instant would be a conflict it did not cause.
	//
	// The record read live is kept open until the check before the
	// rename (see stillRead), so that its inode number, which that check
	// compares, is not freed and given to another file meanwhile.
	var (
		onDisk, base uint64
		kept         keptFile
		read         fileStat
		unchanged    func() error
	)
	defer kept.close()
	cur, err := s.loadKeep(sess.ID, k, false, sess.Version != 0, &kept, nil, nil, &read)
	switch {
	case err == nil && !cur.Expires.IsZero() && !s.cfg.now().Before(cur.Expires):
		base = cur.Version
	case err == nil:
		onDisk, base = cur.Version, cur.Version
		unchanged = s.stillRead(k, read, &kept)
		if onDisk == 0 && sess.Version == 0 && !cur.Created.Equal(sess.Created) {
			// A live record at version 0, which older builds wrote when
			// a save's version wrapped, is not the absence that version 0
			// stands for: a create over it would overwrite a live
			// session. Only a caller that read this very record (its
			// Created) may swap it; its save starts a version afresh.
			return fmt.Errorf("fsstore: compare-and-swap: %w: expected no live record (version 0), found one at version 0 created %s", ErrConflict, cur.Created.UTC().Format(time.RFC3339Nano))
		}
	case errors.Is(err, ErrNotFound):
	case errors.Is(err, ErrCorrupt) && sess.Version == 0:
		s.cfg.logger.Warn("compare-and-swap: replacing a corrupt record", "err", err)
	default:
		return err
	}
	if onDisk != sess.Version {
		return fmt.Errorf("fsstore: compare-and-swap: %w: expected version %d, found %d", ErrConflict, sess.Version, onDisk)
	}
	if err := h.Verify(); err != nil {
		return fmt.Errorf("fsstore: compare-and-swap: %w", err)
	}
	if base != sess.Version {
		// Replacing an expired record: a fresh session.
		fresh := *sess
		fresh.Version, fresh.Created, fresh.Deadline = base, time.Time{}, time.Time{}
		if err := s.save(ctx, c, k, &fresh, h.Verify, nil); err != nil {
			return err
		}
		*sess = fresh
		return nil
	}
	err = s.save(ctx, c, k, sess, h.Verify, unchanged)
	if errors.Is(err, errTempTaken) && !errors.Is(err, ErrLockLost) {
		// Under a lock still held, the temp file was removed by another
		// process after the look before the rename (see stillRead):
		// nothing written. A conflict, not a failure of the store, and a
		// retry is right; the record, looked at again, tells by whom.
		err = tempTakenConflict(unchanged, err)
	}
	return err
}

// tempTakenConflict is CompareAndSwap's ErrConflict for err, a write whose
// temp file another process removed under a lock still held, nothing
// written. It said "the session was deleted" whoever removed it, where
// the sweep (taking the file for a stale temp file: its host's clock
// ahead, or this write paused past SweepOptions.TempAge) or a locked
// Delete whose lock was lost (which puts the record back) leave the
// session as it was. unchanged, the check of the record read (nil for a
// create, which read none), tells the cases apart where it can.
func tempTakenConflict(unchanged func() error, err error) error {
	const others = "the sweep, taking it for a stale temp file (the clock it judges ages by ahead of the file's times, or this write paused past the sweep's TempAge), or a Delete whose lock was lost"
	if unchanged == nil {
		return fmt.Errorf("fsstore: compare-and-swap: %w: its temp file was removed before the rename, by a Delete of the session or by %s; nothing was written: %w", ErrConflict, others, err)
	}
	switch uerr := unchanged(); {
	case uerr == nil:
		return fmt.Errorf("fsstore: compare-and-swap: %w: its temp file was removed before the rename, the session's record left as it was, by %s; nothing was written: %w", ErrConflict, others, err)
	case errors.Is(uerr, ErrConflict):
		// Deleted, or replaced, meanwhile: the temp file went with the
		// Delete, or with the Delete before a new save.
		return fmt.Errorf("%w, while it was being written: its temp file was removed, and nothing was written: %w", uerr, err)
	default:
		return fmt.Errorf("fsstore: compare-and-swap: %w: its temp file was removed before the rename, by a Delete of the session or by %s; nothing was written: %w (and the record could not be looked at again: %v)", ErrConflict, others, err, uerr)
	}
}

// stillRead returns CompareAndSwap's check, right before its rename, that
// the record file it read live, whose attributes are read, is still the
// session's record: at its name, or at an aside name where a sweep or a
// locked Delete that lost its lock holds it (the swap may have read it
// there, and a put-back keeps the file). The lock keeps out locked
// writers only: Store.Delete and Store.Save take none (an Optimistic
// route's log out, an administrator's, a lockless adapter's save), and a
// swap publishing its record after one of them acted since its read
// brought back a deleted session, or replaced a save, which the version
// it compared had not seen. A touch keeps the file, and passes. It fails
// with ErrConflict and nothing is written. A Delete that unlinks the name
// after this look still wins: its removal of the fenced temp file fails a
// rename after it, and its last unlink of the name removes a record
// renamed in before it (see Store.delete; TestRenameAcrossDelete).
//
// It closes kept, the file read, first: on NFS the rename over a file this
// host holds open renames that file aside (.nfsXXXX) first, a round trip
// more and an instant with no record at the name. Closed after the look,
// the file is still linked at a name the look found it at, so its inode
// number is not reused before the rename.
func (s *Store) stillRead(k key, read fileStat, kept *keptFile) func() error {
	return func() error {
		defer kept.close()
		_, p := s.path(k)
		s.refreshDir(p)
		dir, name := filepath.Split(p)
		for i, q := range [...]string{p, dir + asideName(name), dir + deleteAsideName(name)} {
			now, err := s.root.statNow(q)
			switch {
			case err == nil && now.dev == read.dev && now.ino == read.ino && now.nlink != 0:
				if h := s.testHooks.swapChecked; h != nil {
					h(k.name)
				}
				return nil
			case err == nil && i == 0:
				// Another file at the name: saved without the lock
				// since, or deleted and created again.
				return fmt.Errorf("fsstore: compare-and-swap: %w: the record was replaced since it was read, by a writer that takes no lock (Store.Save, or Store.Delete and a new save)", ErrConflict)
			case err != nil && !errors.Is(err, fs.ErrNotExist):
				return fmt.Errorf("fsstore: compare-and-swap: %w", &fs.PathError{Op: "stat", Path: q, Err: err})
			}
		}
		return fmt.Errorf("fsstore: compare-and-swap: %w: the record was deleted since it was read, by a Delete (which takes no lock)", ErrConflict)
	}
}

// Delete removes the session. Deleting a missing session does nothing and
// returns nil.
//
// Delete takes no lock, and a save under the session's lock that overlaps
// it (Locked.Save, CompareAndSwap, a Rekey's rewrite) fails, writing
// nothing, when its rename comes after Delete removed its temp file: the
// session stays deleted rather than come back after Delete returned. The
// save's error names a Delete among the writers that may have removed it.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.usableAs(ctx, OpDelete); err != nil {
		return err
	}
	start := s.begin()
	k, err := s.checkWrite(ctx, id, "delete")
	switch {
	case err != nil:
	case s.bnd == nil:
		err = s.delete(nil, k)
	default:
		c := s.bnd.get("delete", OpDelete, k.name)
		c.fn = func(c *call) error {
			c.hook("delete")
			return s.delete(c, k)
		}
		err = s.bnd.run(ctx, c, fsOp)
		s.bnd.put(c)
	}
	return s.end(OpDelete, start, err, 0, k.name)
}

// delete removes the record under its name, then any copy a sweep holds
// aside, then any copy a locked Delete holds aside (one that found its
// lock lost, or was killed there, leaves it, readable, for the sweep to
// put back), then the name once more. A sweep moves an expired record aside
// and links it back if it was touched or saved after the sweep's scan
// (see Sweep); with the name alone, a Delete while the record is aside
// would find nothing, and the put-back would bring the session back after
// the Delete returned. The record only moves from the name to the aside
// name and back, so removing it from the name, the aside name and the name
// again, in that order, finds it wherever it is: escaping would take a
// second move aside after the first put-back, that is, a session expired
// again since (see docs/design.md, the removal protocol).
//
// Then it removes the fenced temp file of a save under the lock (see
// writeAtomicAt), and the name one last time. A writer under the lock
// (which Delete does not take) whose temp file exists at that removal
// fails its rename, or renamed before it and is removed by the last
// unlink: a save on another host whose rename is still on the wire, cut
// off from the server; a Rekey or CompareAndSwap that found the record
// still in place before the Delete's unlinks, with its rewrite of the
// deleted session (TestRekeyDeleteAroundCheck, TestRenameAcrossDelete);
// a Locked.Save of a session loaded before the Delete
// (TestLockedSaveOverlappingDelete). The temp file came first and the
// name last once: a rename landing between the second unlink of the name
// and that last removal of the temp file was published after the Delete
// returned. One created after the temp file's removal belongs to a writer
// that looks at the record after the Delete's unlinks of every name and
// finds it gone (a Rekey, a CompareAndSwap:
// TestCompareAndSwapAfterUnlockedWrite), or to one that saves anew, whose
// rename after the last unlink is a save after the Delete.
//
// On NFS each step starts with a fresh look at the directory: the sweep
// runs on another host, and this client answers an unlink from a cached
// "no such file" for as long as the directory's cached attributes last.
//
// A step that fails after an earlier one removed a copy of the record
// makes the error match ErrInDoubt (see partlyDeleted).
func (s *Store) delete(c *call, k key) error {
	_, err := s.deleteRemoved(c, k)
	return err
}

// deleteRemoved is delete, reporting whether it removed a copy of the
// record (at its name or an aside name; not a temp file).
func (s *Store) deleteRemoved(c *call, k key) (removed bool, err error) {
	p, dir, err := s.beginDelete(c, k)
	if err != nil {
		return false, err
	}
	for _, step := range [...]struct{ name, file string }{{"name", k.name}, {"aside", asideName(k.name)}, {"delete aside", deleteAsideName(k.name)}, {"again", k.name}, {"temp", fencedTemp(k.name)}, {"name last", k.name}} {
		if step.name != "delete aside" {
			// The look before the sweep's aside name serves the locked
			// Delete's, the next name in the same directory.
			s.refreshDir(p)
		}
		err := s.root.unlink(filepath.Join(dir, step.file))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			// The record is what the operator knows. A read-only disk
			// refuses the first unlink, before anything is removed.
			return removed, partlyDeleted(fmt.Errorf("fsstore: delete: %s: %w", p, &fs.PathError{Op: "unlink", Path: step.file, Err: err}), removed)
		}
		removed = removed || err == nil && !strings.HasPrefix(step.name, "temp")
		if h := s.testHooks.afterDelete; h != nil {
			h(step.name)
		}
	}
	return removed, nil
}

// Touch extends the session's idle expiry without rewriting it: one
// attribute update. A missing or already expired session is ErrNotFound:
// Touch never revives an expired session. Expiry is judged by the record's
// own idle timeout and deadline, from its header, whatever this store's
// idle timeout; a record that is not a complete, well-formed record of
// this ID is ErrCorrupt, and one that Load refuses by its header is
// refused with Load's error: plaintext where the store is encrypted
// (ErrUnencrypted), under a key not configured (ErrUnknownKey), encrypted
// in a process without keys (ErrKeysRequired). Touch does not decrypt:
// only Load authenticates the payload and the header's times. Reading the
// header costs an open and a read (on NFS, OPEN, READ and CLOSE besides
// the SETATTR), but for a record this process loaded or touched last, whose
// header it remembers while the file at the name is the one it read (the
// same device, inode, size and ctime; not where the file system keeps
// whole-second times, see WholeSecondTimes): then the SETATTR alone, as
// Locked.Touch after a Locked.Load reuses the Load's header. Like Save,
// Touch takes no lock, and a Rekey's rewrite of the record in the same
// instant can set its last activity back (see Save); Locked.Touch cannot
// be undone so.
func (s *Store) Touch(ctx context.Context, id string) error {
	if err := s.usableAs(ctx, OpTouch); err != nil {
		return err
	}
	start := s.begin()
	k, err := s.checkWrite(ctx, id, "touch")
	switch {
	case err != nil:
	case s.bnd == nil:
		err = s.touch(nil, id, k)
	default:
		c := s.bnd.get("touch", OpTouch, k.name)
		c.fn = func(c *call) error {
			c.hook("touch")
			return s.touch(c, id, k)
		}
		err = s.bnd.run(ctx, c, fsOp)
		s.bnd.put(c)
	}
	return s.end(OpTouch, start, err, 0, k.name)
}

func (s *Store) touch(c *call, id string, k key) error {
	_, p := s.path(k)
	if done, err := s.touchKnown(c, k, p); done {
		return err
	}
	return s.touchAside(c, id, k, p, s.touchLooking(c, func() error { return s.touchByName(c, id, k, p) }))
}

// touchAside follows err, a Touch's outcome at the record's name p: a
// record not found there may be held aside by a sweep this instant, as
// Load finds (readMovedAside), and the touch goes there, where the sweep
// looks for it before it removes the record; then to a locked Delete's
// aside name, where one that found its lock lost leaves the record for
// the sweep to put back with the times it has; then to the name once more,
// in case the sweep put it back in between. Where both aside names hold a
// copy, the newer is looked at first and the name before the older. Each
// look judges the record afresh (touchByName): the sweep takes no lock of
// the session, so what a Load under the lock saw says nothing of the copy
// aside. Any other outcome is returned as it is.
func (s *Store) touchAside(c *call, id string, k key, p string, err error) error {
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrExpired) {
		return err
	}
	dir, name := filepath.Split(p)
	at := []string{dir + asideName(name), dir + deleteAsideName(name), p}
	both, deleteNewer, err := s.asideBoth(dir, name)
	if err != nil {
		// Which copy is the session cannot be told: touched, the other
		// might be the older, renewed while the newer expires.
		return s.touchError(p, err)
	}
	if both {
		// Both names hold a copy: the newer is the session, as Load
		// reads it and the sweep settles it, the only one renewed.
		// Judged before any touch: a touch stamps the mtime the copies
		// are ordered by, and renewing the older first made it the
		// newer. The newer gone by the look at it was put back by the
		// sweep, which then removes the older: the name comes before
		// the older's, or the touch renewed the copy about to go and
		// not the session (and reported it touched).
		first, second := at[0], at[1]
		if deleteNewer {
			first, second = second, first
		}
		at = []string{first, p, second, p}
	}
	for _, at := range at {
		if h := s.testHooks.touchAsideLook; h != nil && at != p {
			h(at)
		}
		if err = s.touchByName(c, id, k, at); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrExpired) {
			break
		}
	}
	return err
}

// deleteAsideNewer reports whether a locked Delete's aside name in dir
// holds a newer copy of the record name than the sweep's (newerCopy):
// the session, where both hold one (see readMovedAside). The sweep's is
// looked at first: where it holds none (nearly always), that look is
// all. An error is asideBoth's.
func (s *Store) deleteAsideNewer(dir, name string) (bool, error) {
	both, newer, err := s.asideBoth(dir, name)
	return both && newer, err
}

// asideBoth reports whether both aside names in dir hold a copy of the
// record name, and whether the locked Delete's is the newer (newerCopy).
// A copy that is there but could not be read (a server's EIO, ESTALE, or
// EACCES) is an error (asideUnreadable), not an absence: taken for
// absent, the other copy, perhaps the older, was taken for the session.
//
// An ESTALE (on NFS, the file behind a name looked up was replaced or
// removed: a sweep's put-back, say) is looked at again, up to three times
// more, as Load does (loadKeep): it is the moment's, and a Touch failed
// for it where the next look found the session.
func (s *Store) asideBoth(dir, name string) (both, deleteNewer bool, err error) {
	for try := 0; ; try++ {
		both, deleteNewer, err = s.asideBothOnce(dir, name)
		if !isStale(err) || try >= 3 {
			return both, deleteNewer, err
		}
	}
}

// asideBothOnce is one look of asideBoth.
func (s *Store) asideBothOnce(dir, name string) (both, deleteNewer bool, err error) {
	gc, gd := filepath.Join(dir, asideName(name)), filepath.Join(dir, deleteAsideName(name))
	b, st, err := s.readHeader(gc)
	if err != nil {
		return false, false, asideUnreadable(gc, err)
	}
	db, dst, err := s.readHeader(gd)
	if err != nil {
		return false, false, asideUnreadable(gd, err)
	}
	return true, newerCopy(db, dst, b, st), nil
}

// asideUnreadable is nil for err, a look at the copy aside at file, that
// found none there, and otherwise err naming the copy: an operation that
// chooses between the two copies aside (see readMovedAside) reports it
// rather than take the other for the session, which may be the older.
//
// A file there that is not a regular one (a directory, a FIFO, a symlink)
// is no copy of a session: the store only moves a record's own file
// there. The sweep leaves it, and the session's copies with it, and
// reports it at every pass until the operator moves it away: the error
// says so, naming it.
func asideUnreadable(file string, err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if errors.Is(err, errNotRegular) || isSymlinkErr(err) {
		return &asideError{err: err, msg: fmt.Sprintf("%s is %s, not a copy of the session (the store only moves a record's own file there), and the sweep leaves the session's copies until it is gone: move it out of the store directory", file, fileKind(file))}
	}
	return &asideError{err: &fs.PathError{Op: "read", Path: file, Err: err}}
}

// asideError is a copy aside that could not be looked at
// (asideUnreadable). It names the copy's path: the operation's error that
// carries it names the record beside it, not as the file that failed.
type asideError struct {
	err error
	msg string // when set, the error's text, err's otherwise
}

func (e *asideError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.err.Error()
}

func (e *asideError) Unwrap() error { return e.err }

// fileKind names the kind of the file at path for a message: "a
// directory", "a FIFO", ... (typeName's words).
func fileKind(path string) string {
	fi, err := os.Lstat(path)
	if err != nil {
		return "not a regular file"
	}
	return typeName(fi.Mode())
}

// asideOpError is op's error (load, touch) for the record p when err is a
// copy aside that could not be looked at (asideError), nil otherwise.
func asideOpError(op, p string, err error) error {
	var ae *asideError
	switch {
	case !errors.As(err, &ae):
		return nil
	case errors.Is(err, errNotRegular):
		return fmt.Errorf("fsstore: %s %s: %w: %w", op, p, ErrCorrupt, err)
	case isSymlinkErr(err), errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("fsstore: %s %s: %w: %w", op, p, ErrRefused, err)
	}
	return fmt.Errorf("fsstore: %s %s: %w", op, p, err)
}

// touchLooking runs touch, a Touch by name, and on NFS runs it again while
// it answers "not found", as a Load looks again (see loadKeep): a save on
// another host over a record a process there holds open leaves the name
// missing on the server between its two RENAMEs. It stops once the
// caller has given up on the operation, with errAbandoned rather than the
// "not found" it may have met in that instant: the waiter, should it take
// this outcome after all, answers as for one given up on a moment earlier.
func (s *Store) touchLooking(c *call, touch func() error) error {
	for gone := 0; ; gone++ {
		err := touch()
		if !s.nfs || gone >= nfsGoneLooks || !errors.Is(err, ErrNotFound) || errors.Is(err, ErrExpired) {
			return err
		}
		if c != nil && c.op.Abandoned() {
			return fmt.Errorf("fsstore: touch: %w", errAbandoned)
		}
		time.Sleep(time.Millisecond << gone) // the other host's second RENAME: nothing here to wait on
	}
}

// touchByName is Touch's work once the name must be looked up afresh.
func (s *Store) touchByName(c *call, id string, k key, p string) error {
	// As in load: without revalidating the directory first, the NFS client
	// may open and touch a replaced file through its stale cached handle.
	// A Touch after a Load under the same lock skips this (Locked.Touch).
	s.refreshDir(p)
	// The record's own idle timeout and deadline are the truth, not this
	// store's: processes may use different timeouts, and a session may
	// carry its own (Session.Idle). They are in the header. A Load in this
	// process has usually just read it: then a stat (one GETATTR on NFS at
	// most, usually answered from the attributes the directory refresh
	// left fresh) shows whether the file is still the one loaded.
	d, err := s.root.dirOf(p)
	if err != nil {
		return s.touchError(p, err)
	}
	defer d.close()
	st, err := d.lstat()
	switch {
	case err != nil:
		return s.touchError(p, err)
	case st.typ == fs.ModeSymlink:
		// As Load reports it, which would have refused it too.
		return s.touchError(p, syscall.ELOOP)
	case st.typ != 0:
		return s.touchError(p, errNotRegular)
	}
	if h, ok := s.seen.lookup(k.name, st); ok {
		if exp := expiry(st.mtime, h.Idle, h.Deadline); !exp.IsZero() && !s.cfg.now().Before(exp) {
			return fmt.Errorf("fsstore: touch %s: %w", p, ErrExpired)
		}
		// Judged again: a keys file reload, or a keyless store told that
		// the store is encrypted, changes what Load serves.
		if err := s.sealRefused(s.keys.Load(), &h); err != nil {
			return fmt.Errorf("fsstore: touch %s: %w", p, err)
		}
		return s.touchRemember(c, d, k, p, st, &h)
	}
	f, st, err := s.root.openRead(p)
	if err != nil {
		return s.touchError(p, err)
	}
	var hb [record.HeaderSize]byte
	n, err := f.readAt(hb[:], 0)
	f.close()
	if err != nil {
		return fmt.Errorf("fsstore: touch: %w", &fs.PathError{Op: "read", Path: p, Err: err})
	}
	h, plen, err := record.DecodeHeader(hb[:n])
	switch {
	case err != nil:
		return fmt.Errorf("fsstore: touch %s: %w", p, err)
	case st.size > int64(maxRecordFile):
		return fmt.Errorf("fsstore: touch %s: %w: %d bytes, larger than any record a store writes", p, ErrCorrupt, st.size)
	case st.size != int64(record.HeaderSize+plen):
		return fmt.Errorf("fsstore: touch %s: %w: %d bytes, header says %d (truncated or extended)", p, ErrCorrupt, st.size, record.HeaderSize+plen)
	case h.Bind != k.bindOf(id):
		return fmt.Errorf("fsstore: touch %s: %w: record belongs to another session ID", p, ErrCorrupt)
	}
	if exp := expiry(st.mtime, h.Idle, h.Deadline); !exp.IsZero() && !s.cfg.now().Before(exp) {
		return fmt.Errorf("fsstore: touch %s: %w", p, ErrExpired)
	}
	// What Load would refuse before decrypting, Touch refuses: a forged
	// cleartext record must not pass for a live session here either.
	if err := s.sealRefused(s.keys.Load(), &h); err != nil {
		return fmt.Errorf("fsstore: touch %s: %w", p, err)
	}
	return s.touchRemember(c, d, k, p, st, &h)
}

// touchKnown touches a record whose header this process knows, without
// revalidating the directory: on NFS the SETATTR alone, one round trip.
// It opens the name for naming only (O_PATH: no OPEN), takes the file's
// attributes (from the attribute cache on NFS while valid), and goes on
// only if the file is the one a Load or Touch of this process last saw
// (seenHeaders) and, by those attributes, still live: a cached mtime is
// never newer than the server's, and a stale cached name leads to the file
// that name held before, which this process saw live too. The SETATTR's
// reply carries the touched file's attributes, and they settle it: a file
// with a name left is the record (records are only ever linked at their
// name, or at the sweep's aside name, which holds only records the sweep
// judged expired by a fresh mtime, past this check's own judgement). A
// replaced file is gone (ESTALE) or has no name left (nlink 0, kept alive
// by an open descriptor somewhere); touching it changed nothing anyone
// reads. done is false whenever any of this does not hold, and the caller
// then revalidates and judges the record afresh.
func (s *Store) touchKnown(c *call, k key, p string) (done bool, err error) {
	if !s.seen.has(k.name) {
		return false, nil
	}
	f, st, err := s.root.openPath(p)
	if err != nil {
		return false, nil
	}
	defer f.close()
	h, ok := s.seen.lookup(k.name, st)
	if !ok || st.typ != 0 {
		return false, nil
	}
	if exp := expiry(st.mtime, h.Idle, h.Deadline); !exp.IsZero() && !s.cfg.now().Before(exp) {
		return false, nil // expired by the cached attributes: judge afresh
	}
	if s.sealRefused(s.keys.Load(), &h) != nil {
		return false, nil // refused since it was seen: judge afresh, and say why
	}
	var t *time.Time
	if s.cfg.fakeClock {
		now := s.cfg.now()
		t = &now
	}
	if !c.commit() {
		return true, fmt.Errorf("fsstore: touch: %w", errAbandoned)
	}
	if err := f.touch(t); err != nil {
		return false, nil
	}
	now, err := f.stat()
	if err != nil || now.nlink == 0 || now.ino != st.ino || now.dev != st.dev {
		return false, nil
	}
	if s.cache != nil {
		s.cache.drop(k.name)
	}
	if now.size == st.size {
		s.seen.remember(k.name, now, &h)
	}
	return true, nil
}

// touchRemember touches a live record and remembers its header with the
// ctime the touch gave it, so that the next Touch needs no header read. The
// stat after the touch costs no round trip on NFS: the SETATTR's reply
// carried the new attributes.
func (s *Store) touchRemember(c *call, d dirRef, k key, p string, st fileStat, h *record.Header) error {
	if err := s.touchIn(c, d, k, p); err != nil {
		return err
	}
	if now, err := d.lstat(); err == nil && now.dev == st.dev && now.ino == st.ino && now.size == st.size {
		s.seen.remember(k.name, now, h)
	}
	return nil
}

func (s *Store) touchError(p string, err error) error { return s.recordError("touch", "open", p, err) }

// touchLive sets the record's mtime to now, for a session known to be live:
// a Load under its lock read it. A sweep takes no lock, and may hold the
// record aside since that Load or have held it aside during it (the Load
// read it there): not found under its name, it is touched where Touch
// finds it (touchAside), or the sweep removes a session just used and the
// caller hears ErrNotFound.
func (s *Store) touchLive(c *call, id string, k key) error {
	_, p := s.path(k)
	looked := false
	return s.touchAside(c, id, k, p, s.touchLooking(c, func() error {
		if looked {
			s.refreshDir(p) // a fresh look at the name, as touchByName's
		}
		looked = true
		d, err := s.root.dirOf(p)
		if err != nil {
			return s.touchError(p, err)
		}
		defer d.close()
		return s.touchIn(c, d, k, p)
	}))
}

// touchOpen sets the mtime of the record file f, open since a Load under
// the session's lock saw it live, to now. errNoFDTouch where the platform
// cannot, or where f has no name left: a sweep, which takes no lock,
// removed it since the Load (touching it set the times of a file nobody
// reads, and reported a removed session touched). The caller then touches
// by name, which finds whatever the name holds, or nothing (ErrNotFound).
// The stat after the touch costs no round trip on NFS: the SETATTR's reply
// carried the attributes. (On NFS a sweep on this very host leaves the file
// it removes a .nfsXXXX name while the host holds it open, which this does
// not tell apart.)
func (s *Store) touchOpen(c *call, k key, f rfile) error {
	var t *time.Time
	if s.cfg.fakeClock {
		now := s.cfg.now()
		t = &now
	}
	if !c.commit() {
		return fmt.Errorf("fsstore: touch: %w", errAbandoned)
	}
	if err := f.touch(t); err != nil {
		if err == errNoFDTouch {
			return err
		}
		_, p := s.path(k)
		return fmt.Errorf("fsstore: touch: %w", &fs.PathError{Op: "utimes", Path: p, Err: err})
	}
	if s.cache != nil {
		s.cache.drop(k.name)
	}
	if st, err := f.stat(); err == nil && st.nlink == 0 {
		return errNoFDTouch
	}
	return nil
}

// touchIn is touchLive in a directory already open.
func (s *Store) touchIn(c *call, d dirRef, k key, p string) error {
	var t *time.Time
	if s.cfg.fakeClock {
		now := s.cfg.now()
		t = &now
	}
	if !c.commit() {
		return fmt.Errorf("fsstore: touch: %w", errAbandoned)
	}
	if err := d.touch(t); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("fsstore: touch %s: %w", p, ErrNotFound)
		}
		return fmt.Errorf("fsstore: touch: %w", &fs.PathError{Op: "utimes", Path: p, Err: err})
	}
	if s.cache != nil {
		s.cache.drop(k.name)
	}
	return nil
}

// beginDelete is the start both deletes share: the record's path and
// directory, the cache's entry dropped, and the commit point of a bounded
// store's call, past which the delete is not abandoned.
func (s *Store) beginDelete(c *call, k key) (p, dir string, err error) {
	_, p = s.path(k)
	if s.cache != nil {
		s.cache.drop(k.name)
	}
	if !c.commit() {
		return "", "", fmt.Errorf("fsstore: delete: %w", errAbandoned)
	}
	return p, filepath.Dir(p), nil
}
