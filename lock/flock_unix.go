//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lock

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/statmode"
)

// flockBackend implements Flock with descriptors kept open between uses.
//
// We call flock(2) directly rather than through github.com/gofrs/flock here:
// its Unlock closes the descriptor, and on NFS the close plus the next open
// cost two extra round trips per lock cycle (5 RPCs instead of 3, measured in
// docs/measurements.md). The one-shot locks of file.go call flock(2) directly
// too (file_flock.go), for another reason: see fileHandle.
type flockBackend struct {
	dir     *lockDir
	perm    fs.FileMode
	maxOpen int
	nfs     bool
	// ofd: the directory is on an NFS export of this host's server,
	// reached without NFS. The server takes its clients' locks (their
	// flocks included, which the Linux client sends as whole-file
	// byte-range locks) as byte-range locks on the file here, and a
	// flock(2) neither meets them nor is met by them: a whole-file open
	// file description lock (F_OFD_SETLK), which belongs to the open file
	// as a flock does and conflicts with byte-range locks, is taken as
	// well as the flock (see lockFd). Linux only (exportOf).
	ofd         bool
	verifyAfter time.Duration
	// closeFd closes a lock descriptor: unix.Close, replaced in tests to
	// stand for a close that hangs on the server.
	closeFd func(fd int) error
	// noLinkCounts makes named see every link count as 0, as on a
	// filesystem that counts no links (tests). A flag rather than a
	// replaceable fstat: a Stat_t passed to a function value escapes,
	// and named would allocate one on every take.
	noLinkCounts bool
	// writeThrough, when set (tests), replaces verify's write-through on
	// NFS: an NFS server's answers, played on a local file.
	writeThrough func(fd int) (op string, err error)
	// flockErr, when set (tests), refuses takes (see Config.flockErr).
	flockErr func(name string) error

	// mu guards files and idle, and every lock of the Table goes through
	// it. Descriptors are closed after it is released: a close is a CLOSE
	// round trip on NFS, and never returns on a hung mount.
	mu     sync.Mutex
	files  map[string]*lockFile
	idle   idleList // files not in use, least recently used first
	closed bool     // Table closed: descriptors are closed when put back
}

type lockFile struct {
	name string
	fd   int
	// prev and next link the file into idle while it is not in use (see
	// idleList).
	inIdle     bool
	prev, next *lockFile
}

// idleList is a doubly linked list of lockFiles threaded through their
// own prev and next fields: container/list allocates an element on every
// insertion, which is every unlock of the Table, and the lock and unlock
// of a session otherwise allocate little. Guarded by flockBackend.mu.
type idleList struct {
	front, back *lockFile
	n           int
}

func (l *idleList) pushBack(lf *lockFile) {
	lf.inIdle, lf.prev, lf.next = true, l.back, nil
	if l.back != nil {
		l.back.next = lf
	} else {
		l.front = lf
	}
	l.back = lf
	l.n++
}

func (l *idleList) remove(lf *lockFile) {
	if lf.prev != nil {
		lf.prev.next = lf.next
	} else {
		l.front = lf.next
	}
	if lf.next != nil {
		lf.next.prev = lf.prev
	} else {
		l.back = lf.prev
	}
	lf.inIdle, lf.prev, lf.next = false, nil, nil
	l.n--
}

func newFlockBackend(cfg *Config, dir *lockDir) *flockBackend {
	return &flockBackend{
		dir:         dir,
		perm:        cfg.FileMode,
		maxOpen:     cfg.MaxOpen,
		nfs:         cfg.nfs,
		ofd:         cfg.exported != "",
		verifyAfter: cfg.VerifyAfter,
		closeFd:     unix.Close,
		flockErr:    cfg.flockErr,
		files:       make(map[string]*lockFile),
	}
}

// get returns the open lock file for name, opening it if needed. The Table
// guarantees one OS acquisition per file at a time, so the file is ours until
// put.
func (b *flockBackend) get(name string) (*lockFile, error) {
	b.mu.Lock()
	if lf := b.files[name]; lf != nil {
		if lf.inIdle {
			b.idle.remove(lf)
		}
		b.mu.Unlock()
		return lf, nil
	}
	b.mu.Unlock()
	fd, err := b.open(name)
	if err != nil {
		return nil, err
	}
	lf := &lockFile{name: name, fd: fd}
	b.mu.Lock()
	b.files[name] = lf
	b.mu.Unlock()
	b.evictIdle(b.maxOpen)
	return lf, nil
}

// open opens the lock file read-write: NFSv4 emulates flock with byte-range
// locks, and an exclusive one needs a descriptor open for writing (EBADF
// otherwise). O_NOFOLLOW refuses a symlink planted in the lock directory.
// When the process is out of descriptors (EMFILE, or ENFILE for the whole
// system) it closes every idle lock descriptor and tries once more: those
// are a cache, the lock being asked for is not.
func (b *flockBackend) open(name string) (int, error) {
	evicted := false
	for {
		fd, err := openLockFd(b.dir, name, b.perm, b.closeFd)
		if (errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)) && !evicted {
			evicted = true
			if b.evictIdle(0) > 0 {
				continue
			}
		}
		return fd, err
	}
}

// openLockFd opens (creating it) the lock file name in d read-write, and
// refuses what is not a regular file there with ErrNotLockFile: a FIFO or
// a device opens read-write without blocking, and its flock is this
// host's alone, on NFS too, so it would lock out no other host; a
// symlink, a directory or a socket does not open. closeFd closes a
// descriptor refused.
func openLockFd(d *lockDir, name string, perm fs.FileMode, closeFd func(int) error) (int, error) {
	fd, err := openLockName(d, name, perm)
	if err != nil {
		return -1, err
	}
	if err := checkLockFd(d, name, fd, nil); err != nil {
		closeFd(fd)
		return -1, err
	}
	return fd, nil
}

// openLockName is openLockFd's open, which creates name if it is missing,
// with the error explained.
func openLockName(d *lockDir, name string, perm fs.FileMode) (int, error) {
	fd, err := d.openFd(name, unix.O_RDWR|unix.O_CREAT, perm)
	if err != nil {
		if err == ErrClosed {
			return -1, err
		}
		perr := pathError("open lock", d.join(name), err)
		if err == unix.ELOOP || err == unix.EISDIR || err == unix.ENXIO || err == unix.EOPNOTSUPP {
			if m, merr := d.mode(name); merr == nil && !m.IsRegular() {
				return -1, notLockFile(d.join(name), m, perr)
			}
		}
		return -1, permissionHint(d.join(name), perr)
	}
	return fd, nil
}

// checkLockFd is openLockFd's check that fd, name opened, is a regular
// file. fault, in tests, fails the fstat with the error it returns.
func checkLockFd(d *lockDir, name string, fd int, fault func() error) error {
	var st unix.Stat_t
	err := unix.Fstat(fd, &st)
	if fault != nil && err == nil {
		err = fault()
	}
	if err != nil {
		return pathError("fstat lock", d.join(name), err)
	}
	if m := statmode.Type(uint32(st.Mode)); !m.IsRegular() {
		return notLockFile(d.join(name), m, nil)
	}
	return nil
}

// evictIdle closes idle descriptors, least recently used first, until at
// most keep files are open, and reports how many it closed. The files are
// forgotten under b.mu and closed after it: a get for one of them meanwhile
// opens a new descriptor, and closing the old one, which holds no lock,
// releases nothing of the new one's (flock locks belong to the open file).
func (b *flockBackend) evictIdle(keep int) int {
	b.mu.Lock()
	var fds []int
	for len(b.files) > keep && b.idle.n > 0 {
		old := b.idle.front
		b.idle.remove(old)
		delete(b.files, old.name)
		fds = append(fds, old.fd)
	}
	b.mu.Unlock()
	for _, fd := range fds {
		b.closeFd(fd)
	}
	return len(fds)
}

// put returns a file to the idle list and closes the least recently used
// idle ones while more than maxOpen descriptors are open. After close it
// closes the file instead: nobody would close it later.
func (b *flockBackend) put(lf *lockFile) {
	b.mu.Lock()
	if b.closed {
		if b.files[lf.name] == lf {
			delete(b.files, lf.name)
		}
		b.mu.Unlock()
		b.closeFd(lf.fd)
		return
	}
	b.idle.pushBack(lf)
	over := len(b.files) > b.maxOpen
	b.mu.Unlock()
	if over {
		b.evictIdle(b.maxOpen)
	}
}

// openFiles reports the lock descriptors open, held or idle.
func (b *flockBackend) openFiles() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.files)
}

// discard closes a file whose descriptor failed.
func (b *flockBackend) discard(lf *lockFile) {
	b.mu.Lock()
	if b.files[lf.name] == lf {
		delete(b.files, lf.name)
	}
	b.mu.Unlock()
	b.closeFd(lf.fd)
}

// try takes an exclusive lock; the Table never asks for a shared one (see
// Table for why).
func (b *flockBackend) try(name string) (osLock, mono, error) {
	for attempt := 0; ; attempt++ {
		lf, err := b.get(name)
		if err != nil {
			return nil, 0, err
		}
		if b.flockErr != nil {
			err = b.flockErr(name)
		}
		if err == nil {
			err = b.lockFd(lf.fd)
		}
		if err == nil {
			if err = b.named(lf); err == errNameless && attempt < maxReopens {
				// Locked through a descriptor whose file lost its name
				// (removed, renamed over): that lock excludes nobody
				// who opens the name. Closing releases it; the name is
				// opened afresh.
				b.discard(lf)
				continue
			}
		}
		switch {
		case err == nil:
			now := monoNow()
			return &flockHeld{b: b, lf: lf, checked: now}, now, nil
		case err == errNameless:
			b.discard(lf)
			return nil, 0, pathError("flock", b.dir.join(name), err)
		case err == unix.EWOULDBLOCK:
			b.put(lf)
			return nil, 0, nil
		case err == unix.ENOLCK:
			// The probe succeeded, so flock works here: the server (or the
			// kernel) is out of locks for us, e.g. AWS EFS past its
			// per-mount budget.
			b.put(lf)
			return nil, 0, fmt.Errorf("lock %s: %w: the server refused another lock (%w)", b.dir.join(name), ErrTooManyLocks, err)
		case attempt == 0 && (err == unix.EBADF || err == unix.EIO || err == unix.ESTALE):
			// A kept descriptor can go bad: ESTALE if the file was
			// replaced on the server, EIO after a lost NFS lease. Reopen
			// once.
			b.discard(lf)
			continue
		default:
			b.discard(lf)
			return nil, 0, pathError("flock", b.dir.join(name), err)
		}
	}
}

// maxReopens bounds how often try opens a lock file afresh after locking
// one that had lost its name: each needs the name removed again between
// the open and the lock.
const maxReopens = 2

// errNameless reports a lock file that no longer has a name: removed, or
// renamed over, while this process had it open.
var errNameless = errors.New("lock file removed or replaced while open")

// named checks that lf's file still has a name, as a lock file is never
// removed while the directory is in use. One removed anyway (a cleanup
// cron of the PHP era that reaches the lock directory, an operator, a
// rename over it) stays open here, kept between uses, while every other
// process opens and locks the file now at the name: both would hold the
// lock. On a local filesystem an fstat answers without I/O. On NFS it is
// not asked: after a LOCK the client has dropped the file's attributes,
// and the fstat would be a GETATTR round trip on every take; there a
// removed file is met when the server reports ESTALE for it.
func (b *flockBackend) named(lf *lockFile) error {
	if b.nfs {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(lf.fd, &st); err != nil {
		return err
	}
	if st.Nlink != 0 && !b.noLinkCounts {
		return nil
	}
	// Some filesystems count no links for any file: there the name
	// decides, at the cost of a look-up.
	ino, _, _, err := b.dir.ident(lf.name)
	switch {
	case errors.Is(err, fs.ErrNotExist), err == nil && ino != uint64(st.Ino):
		return errNameless
	case err != nil:
		return err
	}
	return nil
}

// lockFd takes the exclusive lock on fd without waiting: EWOULDBLOCK
// when another open file holds it. In an exported directory (ofd) it
// takes a flock and an open file description lock: the flock meets the
// processes of this host that did not judge the directory exported (one
// started before it was, or before the kernel's table listed it; one in a
// container that sees no table), which take flocks alone, and the
// description lock meets the server's locks for its clients.
func (b *flockBackend) lockFd(fd int) error {
	err := flockRetry(fd, unix.LOCK_EX|unix.LOCK_NB)
	if err != nil || !b.ofd {
		return err
	}
	if err = ofdLock(fd, unix.F_WRLCK); err != nil {
		if uerr := flockRetry(fd, unix.LOCK_UN); uerr != nil {
			// The caller closes the descriptor for an error other
			// than EWOULDBLOCK, which releases the flock.
			return uerr
		}
	}
	return err
}

// unlockFd releases the lock lockFd took.
func (b *flockBackend) unlockFd(fd int) error {
	err := flockRetry(fd, unix.LOCK_UN)
	if b.ofd {
		if oerr := ofdLock(fd, unix.F_UNLCK); oerr != nil {
			err = oerr
		}
	}
	return err
}

// flockRetry calls flock, retrying on EINTR (a signal delivered to the
// thread, e.g. Go's preemption signal, interrupts even non-blocking calls on
// NFS, where the lock is an RPC).
func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}

// lockDir returns the directory the backend locks in.
func (b *flockBackend) lockDir() *lockDir { return b.dir }

func (b *flockBackend) close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.evictIdle(0)
	b.dir.close()
	return nil
}

type flockHeld struct {
	b  *flockBackend
	lf *lockFile

	// mu serializes verify: the keys sharing this lock may verify at once.
	mu      sync.Mutex
	checked mono  // when the server last confirmed the lock
	lostErr error // set once verify found the lock gone; sticky

	// isLost is lostErr != nil, for lost, which must not wait for a
	// verify's round trip under mu.
	isLost atomic.Bool
}

// verify detects a lock lost with the NFS lease. The Linux client marks such
// a lock lost (it does not silently re-acquire it: module parameter
// nfs.recover_lost_locks defaults to off) and fails READ/WRITE issued under
// it with EIO, so a one-byte write-through to the lock file proves the lock
// is still ours. The round trip is skipped while the lock is younger than
// VerifyAfter: acquiring it renewed the lease, which cannot have expired yet.
// Off NFS it checks that the lock file still has a name (see named), also
// at most once per VerifyAfter, the take having checked it. Both look at
// the lock directory's name then too (lockDir.check), and a lock taken in
// a directory found replaced is lost at once.
//
// A lock once found lost stays lost for every key sharing it: the Table then
// lets no further key share it, and releases it when the last of them
// unlocks instead of handing it over.
func (h *flockHeld) verify() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lostErr != nil {
		return h.lostErr
	}
	if err := h.b.dir.gone(); err != nil {
		// Another lock of the table met its directory replaced: this
		// one, taken in it too, excludes nobody who opens the path now.
		return h.setLost(fmt.Errorf("lock %s: %w", h.b.dir.join(h.lf.name), err))
	}
	if monoNow().sub(h.checked) < h.b.verifyAfter {
		// Off NFS too: the take checked the name (see named), and a
		// save calls Verify three times, where an fstat each would
		// double the system calls a locked request adds to PHP's.
		return nil
	}
	// The directory's name is looked at where the lock's check is paid
	// anyway (on NFS a round trip), at most once per VerifyAfter: a lock
	// directory moved away, or removed, and made anew lets a process
	// that opens it now take the same lock there. A look that fails
	// otherwise says nothing of the lock.
	p := h.b.dir.join(h.lf.name)
	if err := h.b.dir.check(); errors.Is(err, ErrLockLost) {
		return h.setLost(fmt.Errorf("lock %s: %w", p, err))
	}
	if !h.b.nfs {
		// Nothing expires here, but a file removed or renamed over
		// under the lock (see named) no longer excludes a process that
		// opens the name.
		switch err := h.b.named(h.lf); {
		case err == errNameless:
			return h.setLost(fmt.Errorf("lock %s: %w: %w", p, ErrLockLost, err))
		case err != nil:
			return pathError("verify lock", p, err)
		}
		h.checked = monoNow()
		return nil
	}
	write := writeThrough
	if h.b.writeThrough != nil {
		write = h.b.writeThrough
	}
	switch op, err := write(h.lf.fd); {
	case lostWrite(err):
		return h.setLost(fmt.Errorf("lock %s: %w: %s: %w", p, ErrLockLost, op, err))
	case err != nil:
		// Not proof of the lock, but no sign of its loss either: the
		// caller publishes nothing on this answer, and the next Verify
		// asks the server again.
		return pathError("verify lock ("+op+")", p, err)
	}
	h.checked = monoNow()
	return nil
}

// lostWrite reports whether err, the failure of a write-through to a
// lock file on NFS (see writeThrough), says that the lock is gone: EIO,
// which the Linux client answers for I/O under a lock it lost, or ESTALE,
// the file removed on the server. Any other failure (a full file system
// or quota: the first write-through extends an empty lock file, and on
// a copy-on-write server every write needs room; a server that turned
// read-only; a soft mount's timeout) says nothing of the lock, and taken
// for its loss it was a false alarm, for good: a session's save failed
// as a lost lock's (counted as one), and no other session on the stripe
// could join the lock until it was released.
func lostWrite(err error) bool { return errors.Is(err, unix.EIO) || errors.Is(err, unix.ESTALE) }

// writeThrough writes one byte through fd, a lock's descriptor, and
// fdatasyncs it, which on NFS sends a WRITE and a COMMIT under the lock;
// op names the call that failed. A call a signal interrupted is made
// again, as os does.
func writeThrough(fd int) (op string, err error) {
	for {
		_, err = unix.Pwrite(fd, []byte{'L'}, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return "write", err
	}
	for {
		err = datasync(fd)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return "fsync", err
	}
	return "", nil
}

// setLost records err as the lock's loss. h.mu must be held.
func (h *flockHeld) setLost(err error) error {
	h.lostErr = err
	h.isLost.Store(true)
	return err
}

// lost reports a lock found lost, or taken in a directory found
// replaced since (see lockDir.gone).
func (h *flockHeld) lost() bool { return h.isLost.Load() || h.b.dir.gone() != nil }

func (h *flockHeld) unlock() error {
	if err := h.b.unlockFd(h.lf.fd); err != nil {
		// Closing the descriptor releases whatever is left of the lock.
		h.b.discard(h.lf)
		return pathError("unlock", h.b.dir.join(h.lf.name), err)
	}
	h.b.put(h.lf)
	return nil
}

// probeFlock reports whether flock works in the lock directory d, using a
// dot file that is created at the first probe and kept while flock works
// (another process probing at the same time finds it locked: flock works).
// A probe that fails removes it, where it was left in a directory this
// process then locks with leases, or does not lock in at all: a stray file
// for the operator to wonder about, and to remove by hand. A .probe that
// is not a regular file was never the probe's and is left as it is.
//
// So a probe may meet a .probe another host's failed probe removed under
// it: on NFS the descriptor it opened is then stale (ESTALE), which says
// nothing about flock, and the probe opens the name again. A few tries
// bound it; the file is not removed then, as the name may already be a
// newer probe's.
func probeFlock(cfg *Config, d *lockDir) error {
	const tries = 3
	for i := 1; ; i++ {
		err := probeFlockOnce(cfg, d)
		if i == tries || !errors.Is(err, unix.ESTALE) {
			return err
		}
	}
}

// probeFlockOnce is one try of probeFlock.
func probeFlockOnce(cfg *Config, d *lockDir) (err error) {
	const name = ".probe"
	p := d.join(name)
	// A FIFO there would take a flock where the mount's files may not.
	fd, err := openLockName(d, name, cfg.FileMode)
	if err != nil {
		return err // nothing was created
	}
	fault := func(step string) func() error {
		if cfg.probeFault == nil {
			return nil
		}
		return func() error { return cfg.probeFault(step) }
	}
	ours := true // a regular file, which the open may have created
	defer func() {
		// Closed before the unlink: on NFS, a client that removes a
		// file it holds open renames it to .nfsXXXX instead.
		unix.Close(fd)
		if err != nil && ours && !errors.Is(err, unix.ESTALE) {
			d.remove(name)
		}
	}()
	if err := checkLockFd(d, name, fd, fault("fstat")); err != nil {
		ours = !errors.Is(err, ErrNotLockFile)
		return err
	}
	if cfg.flockErr != nil {
		err = cfg.flockErr(name)
	}
	if err == nil {
		err = flockRetry(fd, unix.LOCK_EX|unix.LOCK_NB)
	}
	switch {
	case err == nil:
		if f := fault("unlock"); f != nil {
			err = f()
		}
		if err == nil {
			err = flockRetry(fd, unix.LOCK_UN)
		}
		if err != nil {
			return pathError("unlock", p, err)
		}
		return nil
	case err == unix.EWOULDBLOCK:
		return nil // someone else is probing: flock works
	case errors.Is(err, unix.ENOLCK), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%w: flock %s: %w", ErrNotSupported, p, err)
	}
	return pathError("flock", p, err)
}
