package fsstore

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/sessfs/sessfs/internal/record"
	"github.com/sessfs/sessfs/lock"
)

// Errors returned by the store. Callers test for them with errors.Is; the
// returned errors wrap them with the operation and, where there is one, the
// path.
var (
	// ErrNotFound reports that no live session has the ID.
	ErrNotFound = errors.New("session not found")
	// ErrExpired reports a session that exists on disk but has expired. It
	// matches ErrNotFound too: to callers an expired session does not exist.
	ErrExpired = fmt.Errorf("session expired: %w", ErrNotFound)
	// ErrInvalidID reports an ID that fails validation. It never touches the
	// filesystem.
	ErrInvalidID = errors.New("invalid session ID")
	// ErrCorrupt reports a record that fails its integrity checks
	// (truncated, bit-flipped, foreign or belonging to another ID).
	ErrCorrupt = record.ErrCorrupt
	// ErrUnsupportedRecord reports a record of a format version, or with
	// a flag that changes its meaning, this build does not know: written
	// by a newer sessfs on the same mount (docs/design.md, "Record
	// format"), or damaged. It matches ErrCorrupt too, and is handled as
	// one: a web layer starts the user afresh.
	ErrUnsupportedRecord = record.ErrUnsupported
	// ErrRefused reports a record the store will not or cannot read for
	// what is at its name: a symbolic link (the store never follows one)
	// or a file (or shard directory) this process may not read, which
	// matches fs.ErrPermission too. It is left in place and fails the same
	// way until an operator fixes it, so a web layer should start the user
	// afresh, as for ErrCorrupt, rather than fail every request; the store
	// logs it at Error.
	ErrRefused = errors.New("session record refused")
	// ErrConflict reports a CompareAndSwap whose expected version is not the
	// one on disk.
	ErrConflict = errors.New("session version conflict")
	// ErrInvalidIdle reports a Session.Idle outside 1s..MaxIdleTimeout.
	ErrInvalidIdle = errors.New("invalid idle timeout")
	// ErrTooLarge reports a payload over the configured size limit.
	ErrTooLarge = errors.New("session payload too large")
	// ErrLocked reports a lock held elsewhere (TryLock, or Lock whose context
	// ended; the latter also matches the context's error).
	ErrLocked = lock.ErrLocked
	// ErrLockLost reports that a lock was taken away while held. A save
	// that finds it before publishing its record did not happen; one that
	// finds it right after did (its error also matches ErrInDoubt). A
	// Locked.Delete never removes a record another holder saved: one that
	// finds it before removing anything leaves the session as it was
	// (ErrLockLost alone: the record it moved aside stays there, where
	// Loads find it, for the sweep to put back); one that finds it after
	// removing the record it held (or replacing it, with a copy a sweep
	// held aside) also matches ErrInDoubt, since the next holder may have
	// read that record meanwhile and saved the session again.
	ErrLockLost = lock.ErrLockLost
	// ErrInDoubt reports a write whose outcome the store cannot tell: it
	// gave up waiting (ErrUnavailable) once the write's final step (the
	// rename of a save, the unlink of a delete) was already in the kernel,
	// so it may still be applied when the server answers; or a save found
	// its lock lost right after publishing its record, or a Locked.Delete
	// after removing the record it held (ErrLockLost); or a Delete's
	// step failed after an earlier one had removed a copy of the record
	// (the session may be gone); or,
	// with DurabilityFull, a save (or Rekey) published its record but the
	// fsync of the record's directory failed (the error also matches that
	// failure's errno), so readers see the record and a crash may still
	// lose it. Every other failed write was not applied. An HTTP server
	// should not promise a retry is safe: httpsession answers 504 Gateway
	// Timeout, not 503. A Delete in doubt may be retried: deleting a
	// session already gone does nothing.
	ErrInDoubt = errors.New("write in doubt: it may have been applied")
	// ErrTooManyLocks reports that this process already holds as many lock
	// files locked as it may (WithMaxHeldLocks; on AWS EFS its share of the
	// mount's 256 file-process pairs), or that the server refused another
	// lock. It is returned at once, without waiting, and does not match
	// ErrLocked.
	ErrTooManyLocks = lock.ErrTooManyLocks
	// ErrReadOnly reports a write through a Shared lock.
	ErrReadOnly = errors.New("session locked read-only")
	// ErrStoreReadOnly reports a call that writes (Save, CompareAndSwap,
	// Delete, Touch, Lock, TryLock, Sweep, Rekey, TryLockFleet) on a
	// store opened WithReadOnly. It is returned before the call reaches the file
	// system. It is not ErrReadOnly, a write through a Shared lock, nor
	// a file system found read-only (see Store.ReadOnlyFS).
	ErrStoreReadOnly = errors.New("store opened read-only")
	// ErrNotStore reports a directory that is not a session store: no
	// marker file when opened WithCreate(false), a marker that does not
	// parse or has a layout version this build does not understand, or,
	// where Open would create the store, no marker in a directory that is
	// not empty (see Open).
	ErrNotStore = errors.New("not a sessfs store")
	// ErrInsideStore reports, from Open, a directory that is part of
	// another store: its data or lock directory, or a directory up to
	// three levels below either, such as a shard directory (see Open).
	ErrInsideStore = errors.New("directory inside a sessfs store")
	// ErrShareNotMounted reports, from Open, a store it would have
	// created in a directory below a mount point that /etc/fstab lists
	// and that nothing is mounted on: the share failed to mount, and the
	// directory is on the local disk below the mount point, where a
	// store would split the fleet's sessions (see Open).
	ErrShareNotMounted = errors.New("the share is not mounted")
	// ErrLayoutMismatch reports, from Open, a shard depth or lock stripe
	// count asked for explicitly (WithShardDepth, WithLockStripes) that
	// differs from the one the store was created with, or, in a store
	// its group shares with other users, modes (WithPermissions and the
	// umask) under which this process would create files the group's other
	// users cannot use.
	ErrLayoutMismatch = errors.New("store layout differs from the options")
	// ErrClosed reports use of a closed Store.
	ErrClosed = errors.New("store closed")
	// ErrUnavailable reports that the store could not do an operation in
	// time: the filesystem did not answer before the caller's context
	// ended or the store's ceiling passed (WithOpTimeout), the circuit
	// breaker is open after repeated timeouts (WithBreaker), or the store
	// already has as many operations waiting for the filesystem as it
	// allows (WithMaxInFlight). Nothing waits for the server on the
	// caller's behalf any more; a write given up on before it started is
	// skipped, and one already under way also matches ErrInDoubt. When the
	// caller's context ended, the error matches its error too. An HTTP
	// server should answer 503 with Retry-After. Store.Health's error
	// matches it too where the file system answered its probe with an
	// error (a read-only mount, the store's directory gone) or the process
	// is out of file descriptors, with words of its own, since the host
	// must leave the rotation then as well.
	ErrUnavailable = errors.New("session store unavailable: the filesystem did not answer in time or the circuit breaker is open")
	// ErrKeyNotDeployed reports, from Rekey or a save in a maintenance
	// store (sessgc rekey, with WithPlaintextMigration or without), a
	// newest key that no application host has opened the store with (it
	// has no key check file): writing records under it would make them
	// unreadable to every host. Deploy the key to every host first, after the key it
	// replaces. A pass whose keys file is reloaded with such a key newest
	// reports each record it would rewrite with this error instead.
	ErrKeyNotDeployed = errors.New("no application host has opened the store with the newest key yet")
	// ErrKeyRollback reports, from Rekey, a record sealed under a key of
	// the key set that became the application hosts' newest key after the
	// set's newest key did: the rekey's key set is older than the hosts'
	// (the first step of a rotation, [old, new], on the host running
	// sessgc, where the hosts have [new, old]), and rewriting the record
	// under the older key would undo the rotation, whose old key is the
	// next to be retired. The record is left as it is. The order is the
	// one the application hosts record in the store as each key becomes
	// newest; for a key without that record (hosts of an older version),
	// a key check file newer by more than a minute than the newest key's.
	// A rotation goes forward only: to move off a key, rotate to a new one.
	ErrKeyRollback = errors.New("the record's key became the hosts' newest key after the newest key of this key set")
	// ErrKeyOrderUnreadable reports, from Rekey, a file that its guard
	// against ErrKeyRollback needs to judge a key and may not read
	// (permission denied): a key's record of when it became newest
	// (.keynewest-ID) or its check file. Unlike a read that fails for a
	// moment, it would fail every record under the key the same way, pass
	// after pass: the pass leaves every record under that key as it is
	// and counts each as an error, but reports the error once per key and
	// pass (RekeyOptions.OnError, the log), naming the file. Give the user
	// the rekey runs as read access to the file, as to the store's other
	// files, and run again.
	ErrKeyOrderUnreadable = errors.New("a file the rekey needs to order the keys may not be read")
	// ErrRekeyRunning reports, from Rekey, that another rekey of the
	// store is running, in this process or another, on this host or
	// another: a store lets one pass at a time rewrite its records. The
	// pass running rewrites what this one would; nothing was rewritten.
	// Two at once only doubled the file server's load, and each failed
	// the records near their expiry that met the sweep lock held by the
	// other's rewrite of such a record, saying a sweep was running. A
	// rekey that died releases the store as a session's lock is: at once
	// where the store locks with flock, once its lease expired with
	// leases (WithLeaseTTL).
	ErrRekeyRunning = errors.New("another rekey of the store is running")
	// ErrNoServerClock reports, from Stats, Sweep and Rekey, that the file
	// server's time could not be read: the temp file at the store's top
	// whose mtime tells it could not be created or examined there (a top
	// directory this user may not write while the shards are, a stale NFS
	// file handle), nor, on a full file system or quota, the top
	// directory's own mtime set to now. The error also matches the
	// cause's. Nothing was counted, removed nor rewritten yet. A store
	// opened WithReadOnly never reads the server's time and never returns
	// it: a tool that may count by this host's clock opens the store so.
	ErrNoServerClock = errors.New("the file server's time could not be read")
	// ErrNotSupported reports, from Open, a platform the store does not run
	// on (see the package documentation for those it does).
	ErrNotSupported = errors.New("platform not supported")
	// ErrNoHardLinks: the store's file system makes no hard links (FAT,
	// exFAT, FUSE file systems without them), which the store needs: to
	// create its marker, and for the sweep to put back a session it moved
	// aside. A writable Open refuses such a store, before anything in it
	// changes.
	ErrNoHardLinks = errors.New("the file system does not support hard links, which a store needs (FAT, exFAT and some FUSE file systems have none)")
	// ErrFailingIO reports, from Sweep or Rekey, a pass that stopped
	// because the storage failed with I/O errors (EIO, ESTALE) in more
	// than one directory: FailingIODirs directories failing, with
	// FailingIORun I/O errors among them. A dying disk, or an NFS server
	// replaced or its export moved under the mount (every file handle
	// stale): each file left would most likely fail alike, and going on
	// through them buried the cause in one error per file. The error also
	// matches the last failure's errno.
	ErrFailingIO = errors.New("the store's storage is failing")
)

// FailingIORun is how many files or directories in a row within one
// shard directory a Sweep or Rekey lets fail with an I/O error (EIO,
// ESTALE), none examined between, before it counts the directory as
// failing; and how many I/O errors the failing directories must hold
// together before the pass stops with ErrFailingIO (see FailingIODirs).
// A few bad sectors under a handful of records stay counted errors of a
// pass that goes on.
const FailingIORun = 100

// FailingIODirs is how many directories must be failing before a Sweep
// or Rekey stops with ErrFailingIO, once they hold FailingIORun I/O
// errors together. A shard directory is failing when its listing fails
// with an I/O error, when FailingIORun of its files in a row do, or when
// it holds I/O errors and no file in it was examined; the lock directory
// is judged as a shard is, and a directory above the shards counts as one
// at each I/O error.
// Each directory is judged by its own contents, scanned by one worker
// from start to end, so one damaged shard among healthy ones never stops
// a pass, and a pass that runs to its end stops, or not, alike whatever
// the concurrency and the order it meets the shards in. A pass cut short
// (its context's deadline, as sessgc's --max-duration sets, or its
// cancellation) may end before it meets the directories that would have
// stopped it.
const FailingIODirs = 2

// shardNameHint follows an error met at a shard directory's name that
// holds something else (a file, a FIFO, a symlink: ENOTDIR, ELOOP), which
// fails every session whose record belongs there until it is gone.
const shardNameHint = "a shard directory's name holds something that is not a directory the store made (a file, a FIFO, a symbolic link): move it out of the store directory, or remove it, and the store makes the directory again at the next save"

// notShardDir reports whether err was met at a shard directory's name
// that holds something other than a directory: ENOTDIR from a path
// through it.
func notShardDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// shardNameTaken returns, for an entry e of dir (data/ or a directory
// between it and the leaf shards) named as a shard is but not a
// directory, the error a sweep and Stats count for it; nil for any other
// entry. Counted foreign, it passed unnoticed (sessgc exited 0) while
// every session of the shard failed.
func shardNameTaken(dir string, e fs.DirEntry) error {
	n := e.Name()
	if e.IsDir() || len(n) != 2 || !isRecordName(n+"000000000000000000000000000000") {
		return nil
	}
	return fmt.Errorf("%s is %s: %s", filepath.Join(dir, n), typeName(e.Type()), shardNameHint)
}

// typeName names the type of a file of mode m, for a message.
func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "a regular file"
	}
	return "a file of another type"
}

// lockNameTaken returns, for an entry of the lock directory named as the
// store's lock or lease files are but not a regular file (typ its type),
// the error a sweep and Stats count for it; nil for any other entry. The
// lock package refuses to lock through it (lock.ErrNotLockFile), so the
// sessions on that lock file can take no lock until it is gone: counted
// foreign, it passed unnoticed.
func lockNameTaken(dir, name string, typ fs.FileMode) error {
	if typ.IsRegular() {
		return nil
	}
	_, broken, isLease := lock.IsLeaseFile(name)
	if !(isLease && !broken) && !isStripeName(name) && !storeLockName(name) && !fleetLockName(name) {
		return nil
	}
	return fmt.Errorf("%w: %s is %s, where the store keeps a lock file: the sessions it locks can take no lock until it is gone: move it out of the store directory, or remove it", lock.ErrNotLockFile, filepath.Join(dir, name), typeName(typ))
}

// outOfDescriptors is an error of this host, not of the file system: an
// operation's open found no file descriptor left, in this process
// (EMFILE) or on the host (ENFILE). Its words say what to do on this host
// (raise the open-file limit, or find the leak): the bare "too many open
// files", or ErrUnavailable's words for Health, sent operators to a file
// server with nothing wrong. It matches what err matches, and Health's
// matches ErrUnavailable too, as any failed probe does (the host cannot
// serve until descriptors are free: a readiness probe takes it out of
// rotation).
type outOfDescriptors struct {
	err         error
	unavailable bool // a Health probe's: it matches ErrUnavailable too
}

func (e *outOfDescriptors) Error() string {
	if errors.Is(e.err, syscall.ENFILE) {
		return e.err.Error() + ": the host's table of open files is full (ENFILE), not a fault of the file system: find the process that holds so many files open, or raise the host's limit (sysctl fs.file-max)"
	}
	return e.err.Error() + ": this process has as many files open as it may (EMFILE), not a fault of the file system: raise its open-file limit (LimitNOFILE= in its systemd unit, ulimit -n in the shell that starts it, a container's nofile ulimit), or find what holds its descriptors (a leak shows as a count that only grows in /proc/PID/fd)"
}

func (e *outOfDescriptors) Unwrap() []error {
	if e.unavailable {
		return []error{ErrUnavailable, e.err}
	}
	return []error{e.err}
}

// probeRefused is Health's error for a probe the file system answered
// with an error, err: a mount turned read-only, the store's directory
// gone or unreadable. It matches ErrUnavailable (the host must leave the
// rotation) and err, but does not take ErrUnavailable's words, "did not
// answer in time or the circuit breaker is open", which sent an operator
// after a file server that had answered.
type probeRefused struct{ err error }

func (e *probeRefused) Error() string {
	return "fsstore: health: session store unusable on this host: " + e.err.Error()
}

func (e *probeRefused) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// outOfDescriptorsErr reports whether err is EMFILE or ENFILE.
func outOfDescriptorsErr(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// descriptorsHint returns err, an operation's error for its caller, with
// the words of outOfDescriptors when it is EMFILE or ENFILE and has them
// not yet; any other error as it is. Every operation that opens files
// returns its error through it (see Store.end, guardedScan, Range, open).
func descriptorsHint(err error) error {
	if err == nil || !outOfDescriptorsErr(err) || errors.As(err, new(*outOfDescriptors)) {
		return err
	}
	return &outOfDescriptors{err: err}
}
