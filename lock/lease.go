package lock

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// leaseSuffix names lease files: a lease for "0a1" lives in "0a1.lease".
const leaseSuffix = ".lease"

// Names of the files a breaker leaves beside a lease while it works, and
// leaves behind if it dies: the sweep removes them by age.
const (
	claimInfix  = ".claim-"  // a breaker's claim on an expired lease
	takeInfix   = ".take-"   // the lease replacing it, until renamed over it
	brokenInfix = ".broken-" // a lease moved aside by an earlier version
)

// leaseBackend implements Lease. A lease file exists exactly while someone
// holds the lock; creating it with O_EXCL is the acquisition, because O_EXCL
// create is atomic on every filesystem we target, NFSv3 included (NFSv3 has
// an exclusive CREATE; NFSv2 did not).
type leaseBackend struct {
	dir   *lockDir
	perm  fs.FileMode
	ttl   time.Duration
	grace time.Duration
	host  string
	pid   int
	// verifyAfter: how often a held lease's Verify looks at the lock
	// directory's name (see leaseHeld.verify).
	verifyAfter time.Duration

	// judged, when set by a test, runs when a breaker has judged a lease
	// expired, before it acts on that; acting, when it has won the claim
	// and found the lease still the one it judged, before it replaces it.
	judged, acting func(p string)
	// ageByMtime, set by tests, dates files by their mtime instead of
	// their ctime: a test cannot set a ctime back to make a file look old.
	ageByMtime bool
	// clock, set by tests, replaces the wall clock that leases are
	// written and judged by: hosts whose clocks disagree, in one process.
	clock func() time.Time
	// monoClock, set by tests, replaces the monotonic clock a holder
	// times its own lease by, where it does not follow clock (see mono).
	monoClock func() mono
}

// now is the wall clock of this host, as leases are written and judged
// by it.
func (b *leaseBackend) now() time.Time {
	if b.clock != nil {
		return b.clock()
	}
	return time.Now()
}

// mono reads the monotonic clock a holder times its own lease by. With a
// test's clock and no monoClock, it follows that clock, as both clocks of
// a stalled process move on together.
func (b *leaseBackend) mono() mono {
	switch {
	case b.monoClock != nil:
		return b.monoClock()
	case b.clock != nil:
		return mono(b.clock().Sub(monoBase)) + 1
	}
	return monoNow()
}

// expiry returns what a lease written now records as its expiry, by this
// host's wall clock, and the deadline by its monotonic clock that its
// holder also times it by (see leaseHeld.expired).
func (b *leaseBackend) expiry() (time.Time, mono) {
	return b.now().Add(b.ttl), b.mono().add(b.ttl)
}

// born returns when the file at name in b.dir was created, for a file
// never written since (see lockDir.ident), and its inode number.
func (b *leaseBackend) born(name string) (ino uint64, at time.Time, err error) {
	ino, ctime, mtime, err := b.dir.ident(name)
	if b.ageByMtime {
		ctime = mtime
	}
	return ino, time.Unix(0, ctime), err
}

func newLeaseBackend(cfg *Config, dir *lockDir) *leaseBackend {
	return &leaseBackend{dir: dir, perm: cfg.FileMode, ttl: cfg.LeaseTTL, grace: cfg.LeaseGrace, host: cfg.Hostname, pid: os.Getpid(), verifyAfter: cfg.VerifyAfter}
}

func (b *leaseBackend) close() error { b.dir.close(); return nil }

// lockDir returns the directory the backend locks in.
func (b *leaseBackend) lockDir() *lockDir { return b.dir }

// openFiles: leases keep no descriptor open between calls.
func (b *leaseBackend) openFiles() int { return 0 }

func (b *leaseBackend) evictIdle(int) int { return 0 }

// leaseRecord is the owner record. It is written at a fixed length so that a
// renewal overwrites it in place with one write, and a reader that races a
// renewal sees either record or a torn one it refuses to parse, never a
// plausible wrong one.
type leaseRecord struct {
	token   string    // 32 hex digits
	expires time.Time // wall clock of the holder
	pid     int
	host    string
}

const leaseRecordLen = 160

func (r leaseRecord) encode() []byte {
	host := printableHost(r.host)
	head := fmt.Sprintf("sessfs-lease 1 token=%s expires=%019d pid=%010d host=", r.token, r.expires.UnixNano(), r.pid)
	// The record has a fixed length, and a Linux host name (up to 64 bytes,
	// Kubernetes pod names come close) does not always fit whole: keep its
	// start, which is what tells an operator which host holds the lease.
	if room := leaseRecordLen - 1 - len(head); len(host) > room {
		host = host[:max(room, 0)]
	}
	s := head + host
	s += strings.Repeat(" ", max(leaseRecordLen-1-len(s), 0)) + "\n"
	return []byte(s)
}

// printableHost is host as a record keeps it, and as Holder hands it on:
// printable ASCII, each other byte or rune an underscore. A record is
// written by any host of the fleet (or by hand), and its host name is
// printed to an operator's terminal: a control character there (ESC,
// BEL) would write on it what the record's writer chose.
func printableHost(host string) string {
	return strings.Map(func(c rune) rune {
		if c <= ' ' || c >= 0x7f {
			return '_'
		}
		return c
	}, host)
}

// parseLease parses an owner record. It is fuzzed: arbitrary input must
// return an error, never panic.
func parseLease(b []byte) (leaseRecord, error) {
	var r leaseRecord
	if len(b) != leaseRecordLen || b[len(b)-1] != '\n' {
		return r, errors.New("lease record has the wrong length")
	}
	f := strings.Fields(string(b))
	if len(f) != 6 || f[0] != "sessfs-lease" || f[1] != "1" {
		return r, errors.New("not a lease record")
	}
	vals := make(map[string]string, 4)
	for _, kv := range f[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return r, errors.New("malformed lease field")
		}
		vals[k] = v
	}
	if t, err := hex.DecodeString(vals["token"]); err != nil || len(t) != 16 {
		return r, errors.New("malformed lease token")
	}
	ns, err := strconv.ParseInt(vals["expires"], 10, 64)
	if err != nil || ns <= 0 {
		return r, errors.New("malformed lease expiry")
	}
	pid, err := strconv.Atoi(vals["pid"])
	if err != nil || pid < 0 {
		return r, errors.New("malformed lease pid")
	}
	r.token, r.expires, r.pid, r.host = vals["token"], time.Unix(0, ns), pid, vals["host"]
	return r, nil
}

func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

func (b *leaseBackend) try(name string) (osLock, mono, error) {
	p := name + leaseSuffix
	if _, err := b.dir.use(); err != nil {
		return nil, 0, err
	}
	for attempt := 0; attempt < 2; attempt++ {
		expires, deadline := b.expiry()
		rec := leaseRecord{token: newToken(), expires: expires, pid: b.pid, host: b.host}
		err := b.create(p, rec)
		if errors.Is(err, fs.ErrExist) {
			var took, gone bool
			took, gone, err = b.breakExpired(p, &rec)
			if !took {
				if gone && err == nil {
					continue // released meanwhile: create it
				}
				b.dir.done()
				return nil, 0, err
			}
		}
		if err != nil {
			b.dir.done()
			return nil, 0, err
		}
		// The held lease keeps the directory open until unlock.
		now := monoNow()
		h := &leaseHeld{b: b, name: p, path: b.dir.join(p), rec: rec, deadline: deadline, looked: now, stop: make(chan struct{}), done: make(chan struct{})}
		go h.renew()
		return h, now, nil
	}
	b.dir.done()
	return nil, 0, nil
}

// create writes a new lease file. The fsync makes the record durable before
// anyone can act on the lock, so a crash cannot leave an empty lease file
// whose owner nobody can tell.
func (b *leaseBackend) create(p string, rec leaseRecord) error {
	f, err := b.dir.open(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscallNoFollow, b.perm)
	if err != nil {
		return err
	}
	_, err = f.Write(rec.encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.dir.remove(p)
		return pathError("create lease", b.dir.join(p), err)
	}
	return nil
}

// openRecord opens a lease or strategy file for reading. O_NONBLOCK: a
// FIFO at the name must not block the open for ever (its read then finds
// no record, and a lease file is judged by its age). But a regular file
// under a kernel write lease (F_SETLEASE: knfsd's write delegations and
// Samba's oplocks on an export, met by a process on the server host) then
// fails with EAGAIN where a blocking open would wait, for up to the
// kernel's lease-break-time (45 s by default), for its holder to let go.
// The refused open has asked the holder to; openRecord tries again for up
// to patience, and then returns the EAGAIN (see errKernelLease). It never
// opens waiting: a FIFO swapped in meanwhile would block it.
func openRecord(d *lockDir, p string, patience time.Duration) (*os.File, error) {
	deadline := time.Now().Add(patience)
	for pause := time.Millisecond; ; pause *= 2 {
		f, err := openRegular(d, p, os.O_RDONLY)
		if !errKernelLease(err) || time.Now().Add(pause).After(deadline) {
			return f, err
		}
		time.Sleep(pause)
	}
}

// openRegular opens the file at p in d with flags, without following a
// symlink or waiting on a FIFO, and refuses what is not a regular file
// there with ErrNotLockFile. Opened without waiting, a FIFO is not read
// without waiting: one that some process holds open for writing reads
// EAGAIN, on which the read waits for data that never comes, whatever the
// caller's context (a waiter's Lock, NewTable's look at the strategy),
// and a renewal's blocking read of one held its lease's mutex for ever.
// What fails the open instead (a symlink: ELOOP; a socket: ENXIO; a
// directory opened for writing: EISDIR) is refused alike, so that a
// holder finds its lease lost whatever replaced it, as waiters refuse it:
// a bare error of the open said only that the lease could not be checked.
func openRegular(d *lockDir, p string, flags int) (*os.File, error) {
	f, err := d.open(p, flags|syscallNoFollow|syscallNonBlock, 0)
	if err != nil {
		// Looked at only on a failure that may be the file's type: a
		// missing file, a stale handle and a kernel lease cost no look.
		if !errors.Is(err, fs.ErrNotExist) && !isStale(err) && !errKernelLease(err) {
			if m, merr := d.mode(p); merr == nil && !m.IsRegular() {
				return nil, notLockFile(d.join(p), m, err)
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, notLockFile(d.join(p), fi.Mode(), nil)
	}
	return f, nil
}

// busyLease is the id leaseID gives a lease file it cannot read while a
// kernel lease on it is broken: in use, and no one's to break.
const busyLease = "busy"

// errKernelLease reports an open refused, without waiting, because the
// file carries a kernel lease that is being broken (see openRecord).
func errKernelLease(err error) bool {
	return err != nil && syscallNonBlock != 0 && errors.Is(err, syscall.EAGAIN)
}

// recordPatience bounds how long a holder's check of its own lease
// (verify, unlock), and a reading of the strategy file, waits for a kernel
// lease on the file to be let go: a fraction of the lease, so that the
// renewals the wait holds up cannot let it lapse.
func recordPatience(ttl time.Duration) time.Duration { return min(time.Second, ttl/4) }

// errBadLease: the lease file was read, and holds no lease record.
var errBadLease = errors.New("not a lease record")

func readLease(d *lockDir, p string, patience time.Duration) (leaseRecord, error) {
	f, err := openRecord(d, p, patience)
	if err != nil {
		return leaseRecord{}, err
	}
	defer f.Close()
	buf := make([]byte, leaseRecordLen+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return leaseRecord{}, err
	}
	rec, err := parseLease(buf[:n])
	if err != nil {
		return leaseRecord{}, fmt.Errorf("%w: %w", errBadLease, err)
	}
	return rec, nil
}

// leaseID reads the lease at p and returns what identifies it, "" when p
// does not exist: its token, or for a file that holds no record (a crash
// between create and write on a filesystem that lost the fsync) its inode
// number, judged by its ctime (its creation, for a file never written).
// Tokens are random, and a breaker that acts on an inode checks again that
// it is still that unwritten, expired file. A failed read is an error, not
// a file without a record: breakers must all name a lease alike.
func (b *leaseBackend) leaseID(p string) (id string, expires time.Time, err error) {
	rec, err := readLease(b.dir, p, 0)
	if errors.Is(err, ErrNotLockFile) {
		return "", time.Time{}, err
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !isStale(err) {
		// No lease record read: a file of another type there (a FIFO
		// reads empty, or EAGAIN with a writer; a directory fails;
		// a socket or a symlink does not open) is not one to judge
		// by its age and break, nor a lease held: it is refused.
		// Looked at only here, where a lease file read fine costs no
		// look.
		if m, merr := b.dir.mode(p); merr == nil && !m.IsRegular() {
			return "", time.Time{}, notLockFile(b.dir.join(p), m, err)
		}
	}
	switch {
	case errKernelLease(err):
		// The file is in use on the file server's host, and the refused
		// open asked its user to let go: until it has, the lock counts
		// as held, and a waiter polls again under its own context rather
		// than block in an open.
		return busyLease, b.now().Add(b.ttl), nil
	case err == nil && rec.expires.After(b.now().Add(MaxLeaseTTL+b.grace)):
		// No holder whose clock agrees with ours within the grace period
		// wrote this expiry: its clock ran ahead (a VM booted with a wrong
		// clock, then died) or the record is forged. Trusted, it would
		// keep everyone out until then, for years perhaps. A live holder
		// rewrites its file every LeaseTTL/3, so the file's last change
		// dates it instead.
		_, changed, err := b.born(p)
		if errors.Is(err, fs.ErrNotExist) || isStale(err) {
			return "", time.Time{}, nil
		}
		if err != nil {
			return "", time.Time{}, err
		}
		return rec.token, changed.Add(MaxLeaseTTL), nil
	case err == nil:
		return rec.token, rec.expires, nil
	case errors.Is(err, fs.ErrNotExist), isStale(err):
		// Gone, or (a stale NFS handle) removed or replaced since the
		// lookup: whatever is there now is met by an O_EXCL create.
		return "", time.Time{}, nil
	case !errors.Is(err, errBadLease):
		return "", time.Time{}, err
	}
	ino, born, err := b.born(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return "", time.Time{}, err
	}
	id = "i" + strconv.FormatUint(ino, 10)
	if ino == 0 { // no inode numbers here: the time names it
		id = "c" + strconv.FormatInt(born.UnixNano(), 10)
	}
	return id, born.Add(b.ttl), nil
}

// judge returns the id of the lease at p (see leaseID) when it expired more
// than the grace period ago, "" otherwise; gone reports that p does not
// exist.
func (b *leaseBackend) judge(p string) (id string, gone bool, err error) {
	id, expires, err := b.leaseID(p)
	if id == "" || err != nil {
		return "", id == "" && err == nil, err
	}
	if b.now().Before(expires.Add(b.grace)) {
		return "", false, nil
	}
	return id, false, nil
}

// breakExpired takes over the lease at p for repl, or removes it when repl
// is nil, if it expired more than the grace period ago. It reports whether
// it did, and whether p was found gone, so that the caller may create it.
//
// No filesystem compares and deletes in one step, so breakers first agree
// on who may act: each creates a claim named after the expired lease with
// O_EXCL, which exactly one can win, and only the winner touches p. It then
// reads p again, because the lease it judged may have been released and
// replaced by a fresh one meanwhile, and replaces it by renaming over it.
// p therefore never goes missing while a lease exists: neither a waiting
// host's create nor the holder's renewal can slip into a gap. (An earlier
// protocol moved the lease aside and put it back when it proved live; a
// third host could create its own in the gap, and two held the lock.) A
// lease's holder does not touch a lease it let expire, and the grace
// period bounds the stalls the protocol tolerates, as it does for leases.
func (b *leaseBackend) breakExpired(p string, repl *leaseRecord) (done, gone bool, err error) {
	id, gone, err := b.judge(p)
	if id == "" || err != nil {
		return false, gone, err
	}
	if b.judged != nil {
		b.judged(p)
	}
	claims, won, err := b.claim(p, id)
	if !won || err != nil {
		return false, false, err
	}
	// The claims may all go once the judged lease is gone from p: a later
	// breaker that wins one of them again finds another lease there. While
	// it is in place, only the winner's own may go: with a stale one gone,
	// a second breaker could win it while this one acts.
	judgedGone := false
	defer func() {
		if !judgedGone {
			claims = claims[len(claims)-1:]
		}
		for _, c := range claims {
			b.dir.remove(c)
		}
	}()
	now, expires, err := b.leaseID(p)
	if err != nil {
		return false, false, err
	}
	if now != id {
		judgedGone = true
		return false, now == "", nil
	}
	if b.now().Before(expires.Add(b.grace)) {
		// The inode of an unwritten lease was written or touched since,
		// or reused by a fresh lease that is unwritten yet.
		return false, false, nil
	}
	if b.acting != nil {
		b.acting(p)
	}
	if repl == nil {
		if err := b.dir.remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, false, err
		}
		judgedGone = true
		return true, false, nil
	}
	tmp := p + takeInfix + repl.token
	if err := b.create(tmp, *repl); err != nil {
		return false, false, err
	}
	if err := b.dir.rename(tmp, p); err != nil {
		b.dir.remove(tmp)
		if renameRefusedOpen(err) {
			// A waiter is reading the lease this moment: taken at a
			// later poll, as a lease found held is.
			return false, false, nil
		}
		return false, false, err
	}
	judgedGone = true
	return true, false, nil
}

// maxClaims bounds the claims tried for one lease, against a loop on a
// filesystem gone wrong: each further one needs a breaker that died
// holding the one before, and a bound reached locks the file out until
// someone removes the claims.
const maxClaims = 1000

// claim creates the breaker's claim on the expired lease id at p. A claim
// created longer ago than the lease period plus grace (by its ctime, see
// lockDir.ident) belongs to a breaker that died
// (one holds it for a few file operations), and the next in sequence is
// tried. When it wins, it returns the stale claims it passed and its own,
// last.
func (b *leaseBackend) claim(p, id string) (names []string, won bool, err error) {
	for n := range maxClaims {
		c := p + claimInfix + id + "-" + strconv.Itoa(n)
		f, err := b.dir.open(c, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscallNoFollow, b.perm)
		if err == nil {
			f.Close()
			return append(names, c), true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
		_, born, err := b.born(c)
		if err != nil {
			// Removed meanwhile by a breaker that finished: the lease
			// was broken, and the caller sees its successor next time.
			return nil, false, nil
		}
		if b.now().Sub(born) < b.ttl+b.grace {
			return nil, false, nil // another host is breaking it
		}
		names = append(names, c)
	}
	return nil, false, fmt.Errorf("lock %s: %d stale claims to break its lease", b.dir.join(p), maxClaims)
}

// claimOf returns the lock name and the lease id of a claim's file name.
func claimOf(name string) (lockName, id string, ok bool) {
	i := strings.Index(name, leaseSuffix+claimInfix)
	if i <= 0 {
		return "", "", false
	}
	rest := name[i+len(leaseSuffix+claimInfix):]
	j := strings.LastIndexByte(rest, '-')
	if j <= 0 {
		return "", "", false
	}
	return name[:i], rest[:j], true
}

type leaseHeld struct {
	b    *leaseBackend
	name string // in b.dir
	path string // for messages
	stop chan struct{}
	done chan struct{}

	// mu is held across the lease file's I/O (a renewal, a verify), so
	// lost reads isLost, lostErr != nil, instead of waiting for it.
	mu  sync.Mutex
	rec leaseRecord
	// deadline: when the lease runs out by the monotonic clock, taken
	// with rec.expires (see expired).
	deadline mono
	// looked: when the lock directory's name was last looked at for this
	// lease (see verify); the take's time at first.
	looked  mono
	lostErr error
	isLost  atomic.Bool
}

// expired reports whether the lease has run out by this host's clock:
// by its monotonic clock, which a step of the wall clock (back, say)
// does not move, or by its wall clock, which other hosts judge the record
// by. The monotonic clock stops while the host is suspended (Linux's
// CLOCK_MONOTONIC does not count suspend: a VM paused or migrated, a
// laptop asleep), and a wall clock that lagged is stepped forward: timed
// by it alone, a holder resumed past its lease trusted, renewed and
// removed a lease that other hosts had seen run out and might be
// breaking. h.mu must be held.
func (h *leaseHeld) expired() bool {
	return h.b.mono() > h.deadline || h.b.now().Round(0).After(h.rec.expires.Round(0))
}

// renew extends the lease every ttl/3 until unlock. It never extends a lease
// that has already run out (the process was stopped, or renewals kept
// failing): someone may have broken it, so the lock counts as lost.
func (h *leaseHeld) renew() {
	defer close(h.done)
	t := time.NewTicker(h.b.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		if h.lostErr == nil {
			h.lostErr = h.renewOnce()
			h.isLost.Store(h.lostErr != nil)
		}
		lost := h.lostErr
		h.mu.Unlock()
		if lost != nil {
			return
		}
	}
}

func (h *leaseHeld) renewOnce() error {
	if h.expired() {
		return fmt.Errorf("lock %s: %w: lease expired before it could be renewed", h.path, ErrLockLost)
	}
	// A lease in a directory no longer at the lock directory's name
	// excludes nobody who opens the name now: not renewed (see verify).
	if err := h.b.dir.check(); errors.Is(err, ErrLockLost) {
		return fmt.Errorf("lock %s: %w", h.path, err)
	}
	f, err := openRegular(h.b.dir, h.name, os.O_RDWR)
	if err != nil {
		// Judged as Verify judges it; any other failure is transient:
		// try again next tick while the lease lasts.
		return h.judgeRead(leaseRecord{}, err)
	}
	defer f.Close()
	buf := make([]byte, leaseRecordLen)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return h.judgeRead(leaseRecord{}, err)
	}
	cur, err := parseLease(buf[:n])
	if err != nil {
		err = fmt.Errorf("%w: %w", errBadLease, err)
	}
	if lost := h.judgeRead(cur, err); lost != nil {
		return lost
	}
	next := h.rec
	var deadline mono
	next.expires, deadline = h.b.expiry()
	if _, err := f.WriteAt(next.encode(), 0); err != nil {
		return nil
	}
	if err := f.Sync(); err != nil {
		return nil
	}
	h.rec, h.deadline = next, deadline
	return nil
}

func (h *leaseHeld) verify() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lostErr != nil {
		return h.lostErr
	}
	// Run out by this host's clock, the lease is lost whatever the file
	// says (a breaker may replace it from its expiry plus grace on), and
	// no read is needed to tell: one that failed (a soft mount's
	// timeout, no descriptor left) made Verify "could not check" a lock
	// known lost, and one that hung held it up.
	if h.expired() {
		return h.setLost(fmt.Errorf("lock %s: %w: lease expired", h.path, ErrLockLost))
	}
	// The lease file is read through the directory's descriptor, and is
	// whole in a lock directory moved away (or replaced by a copy):
	// the name is looked at too, at most once per VerifyAfter for the
	// lease, as Flock's Verify does, besides what another lock of the
	// table found (gone). A look that fails otherwise says nothing.
	if err := h.b.dir.gone(); err != nil {
		return h.setLost(fmt.Errorf("lock %s: %w", h.path, err))
	}
	if now := monoNow(); now.sub(h.looked) >= h.b.verifyAfter {
		h.looked = now
		if err := h.b.dir.check(); errors.Is(err, ErrLockLost) {
			return h.setLost(fmt.Errorf("lock %s: %w", h.path, err))
		}
	}
	cur, err := readLease(h.b.dir, h.name, recordPatience(h.b.ttl))
	if lost := h.judgeRead(cur, err); lost != nil {
		return h.setLost(lost)
	}
	if err != nil {
		return pathError("verify lease", h.path, err)
	}
	return nil
}

// judgeRead returns the loss that cur and err, a read of the holder's own
// lease file (readLease), show, or nil: the file is gone (ESTALE too:
// removed on the server), holds no lease record (a holder's create of a
// new one, between its exclusive create and its write: the holder's own
// file is written whole before it is locked, and renewed in place under
// h.mu), is no regular file (a FIFO, a directory: put at the name since)
// or holds another holder's token. Any other failure of the read (an I/O
// error, no descriptor left, a kernel lease on the file) says nothing of
// the lease. Verify and unlock judge by it alike. h.mu must be held.
func (h *leaseHeld) judgeRead(cur leaseRecord, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), isStale(err):
		return fmt.Errorf("lock %s: %w: lease file removed", h.path, ErrLockLost)
	case errors.Is(err, errBadLease), errors.Is(err, ErrNotLockFile):
		return fmt.Errorf("lock %s: %w: lease taken over: %w", h.path, ErrLockLost, err)
	case err == nil && cur.token != h.rec.token:
		return fmt.Errorf("lock %s: %w: lease taken over", h.path, ErrLockLost)
	}
	return nil
}

// setLost records err as the lease's loss. h.mu must be held.
func (h *leaseHeld) setLost(err error) error {
	h.lostErr = err
	h.isLost.Store(true)
	return err
}

// lost reports a lease found lost, or taken in a directory found
// replaced since (see lockDir.gone).
func (h *leaseHeld) lost() bool { return h.isLost.Load() || h.b.dir.gone() != nil }

func (h *leaseHeld) unlock() error {
	close(h.stop)
	<-h.done
	defer h.b.dir.done()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lostErr != nil {
		return h.lostErr
	}
	if h.expired() {
		// A breaker may replace the lease from its expiry plus grace on:
		// a check of the token and a remove could then remove the
		// breaker's lease. The expired one is left to breakers.
		return fmt.Errorf("lock %s: %w: lease expired before unlock", h.path, ErrLockLost)
	}
	cur, err := readLease(h.b.dir, h.name, recordPatience(h.b.ttl))
	if lost := h.judgeRead(cur, err); lost != nil {
		return lost
	}
	if err != nil {
		// Not lost, as far as anyone can tell: unreadable for now (a
		// kernel lease on it, the process out of descriptors, an I/O
		// error). Unchecked, it is not removed: it is left to expire,
		// and to breakers.
		return pathError("unlock lease (left to expire)", h.path, err)
	}
	// A remove refused for a while is tried again only while the lease
	// lasts: past it, a breaker's lease may be at the name.
	if err := h.b.dir.removeUnless(h.name, h.expired); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// probeLease checks that lease files can be created and removed in cfg.Dir,
// opened as d.
func probeLease(cfg *Config, d *lockDir) error {
	p := ".probe-" + newToken() + leaseSuffix
	f, err := d.open(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscallNoFollow, cfg.FileMode)
	if err != nil {
		return fmt.Errorf("create lease: %w", err)
	}
	f.Close()
	return d.remove(p)
}

// IsLeaseFile reports whether name (a file name in a lock directory) is a
// lease file or one a breaker left beside it (broken: a claim, a
// replacement not yet in place, or a lease an earlier version moved aside),
// and returns the lock name.
func IsLeaseFile(name string) (lockName string, broken, ok bool) {
	for _, infix := range []string{claimInfix, takeInfix, brokenInfix} {
		if i := strings.Index(name, leaseSuffix+infix); i > 0 {
			return name[:i], true, true
		}
	}
	if strings.HasSuffix(name, leaseSuffix) && len(name) > len(leaseSuffix) {
		return strings.TrimSuffix(name, leaseSuffix), false, true
	}
	return "", false, false
}

// LeaseLeftoverInUse reports whether name, a file a lease breaker left in
// dir (IsLeaseFile reports it broken), must stay whatever its age: a claim
// on a lease still in place. Another breaker may be acting on that lease
// under a later claim, and with this one gone a second could win it. A
// claim opens dir for the call: a caller with many files to judge holds
// it open with a LeaseDir. A name that is not one file of dir (a path,
// "..") is refused with ErrInvalidName and reported in use.
func LeaseLeftoverInUse(dir, name string) (bool, error) {
	l := NewLeaseDir(dir)
	defer l.Close()
	return l.LeftoverInUse(name)
}

// BreakExpiredLease removes the lease file for name in dir when its lease
// expired more than grace ago, as a sweeper does for holders that died. It
// reports whether the file is gone. A dir that is a symlink is refused,
// like at NewTable, and so is a name whose lease file is not one file of
// dir (a path, "../x": ErrInvalidName; "." and ".." name "..lease" and
// "...lease", which are). It opens dir for the call, as
// LeaseLeftoverInUse does.
//
// ttl and grace are the holders' Config.LeaseTTL and Config.LeaseGrace:
// ttl dates a lease not yet written and a claim of another breaker at
// work, grace absorbs clock skew. 0 selects the default of each (15s,
// 2s), as in Config, and a period Config refuses is refused here (a
// negative grace would break a lease its holder still renews, and let a
// second process take the lock beside it), before anything is opened.
func BreakExpiredLease(dir, name string, ttl, grace time.Duration) (bool, error) {
	l := NewLeaseDir(dir)
	defer l.Close()
	return l.BreakExpired(name, ttl, grace)
}

// LeaseDir is a lock directory held open for a look at many of its lease
// files, as a sweep of the directory makes: its files are opened, renamed
// and removed relative to it, where LeaseLeftoverInUse and
// BreakExpiredLease open the directory again at each call (on NFS an
// OPEN, and a walk of the path). It is not safe for concurrent use.
// Close it when done. Its calls fail, on a LeaseDir{} or a nil
// *LeaseDir, with an error saying so.
type LeaseDir struct {
	path string
	d    *lockDir // opened at the first call that needs it
	// closed: Close ran. A call after it fails: it opened the directory
	// again (when no call had before Close), a descriptor nothing closed.
	closed bool
}

// NewLeaseDir returns the lock directory dir, to be opened at the first
// call that needs it: a look that finds nothing to judge opens nothing. A
// dir that is a symlink is refused then, like at NewTable. A relative dir
// is the one in the working directory of this call, not of that one.
func NewLeaseDir(dir string) *LeaseDir { return &LeaseDir{path: anchor(dir)} }

// LeaseDirAt is NewLeaseDir for a caller that holds the lock directory
// open already, as a sweep that lists it does: fd, a descriptor of dir
// opened without following a symlink at its name, is the one every look
// and change goes through, and dir names it in errors. The directory is
// not opened again (on NFS an OPEN, and a walk of the path). fd stays the
// caller's: Close does not close it, and it must stay open until then.
// Where the lock package reaches files by path (Windows), fd is unused.
// A dir of "" is refused at each call, as NewLeaseDir's.
func LeaseDirAt(dir string, fd int) *LeaseDir {
	return &LeaseDir{path: dir, d: borrowLockDir(dir, fd)}
}

func (l *LeaseDir) dir() (*lockDir, error) {
	if err := l.usable(); err != nil {
		return nil, err
	}
	if l.closed {
		return nil, fmt.Errorf("lock: lease directory %s used after its Close: %w", l.path, ErrClosed)
	}
	if l.d == nil {
		d, err := openLockDir(l.path)
		if err != nil {
			return nil, err
		}
		l.d = d
	}
	return l.d, nil
}

// usable fails the calls on a nil *LeaseDir, where they panicked with a
// nil dereference, and on a LeaseDir{} or one of "", which failed with
// "open lock directory : no such file or directory" (a LeaseDir of the
// working directory, what filepath.Abs makes of "", could break its
// leases: not a guess to make).
func (l *LeaseDir) usable() error {
	switch {
	case l == nil:
		return errors.New("lock: nil *lock.LeaseDir (make one with NewLeaseDir)")
	case l.path == "":
		// Also at LeaseDirAt: where files are reached by path (Windows),
		// its descriptor is unused, and "" named the working directory.
		return errors.New(`lock: no lock directory: "" given, or a lock.LeaseDir not made by NewLeaseDir or LeaseDirAt`)
	}
	return nil
}

// LeftoverInUse is LeaseLeftoverInUse of name in l. Only a claim needs
// the directory open.
func (l *LeaseDir) LeftoverInUse(name string) (bool, error) {
	if err := l.usable(); err != nil {
		return true, err
	}
	if err := leafName(name); err != nil {
		return true, err
	}
	lockName, id, ok := claimOf(name)
	if !ok {
		return false, nil
	}
	d, err := l.dir()
	if err != nil {
		return true, err
	}
	now, _, err := (&leaseBackend{dir: d}).leaseID(lockName + leaseSuffix)
	if err != nil {
		return true, err
	}
	return now == id || now == busyLease, nil
}

// BreakExpired is BreakExpiredLease of name in l.
func (l *LeaseDir) BreakExpired(name string, ttl, grace time.Duration) (bool, error) {
	ttl, grace, err := breakPeriods(ttl, grace)
	if err != nil {
		return false, err
	}
	// The lease file is what must be one file of the directory: a lock
	// named "." or ".." has one ("..lease", as the sweep lists it).
	if name == "" {
		return false, leafName(name)
	}
	if err := leafName(name + leaseSuffix); err != nil {
		return false, err
	}
	d, err := l.dir()
	if err != nil {
		return false, err
	}
	b := &leaseBackend{dir: d, perm: 0o600, ttl: ttl, grace: grace}
	done, gone, err := b.breakExpired(name+leaseSuffix, nil)
	return done || gone, err
}

// breakPeriods is BreakExpired's ttl and grace with their defaults, or
// the error for one Config would refuse: a grace below 0 made a lease
// that runs for less than its magnitude breakable while its holder
// renews it, and a ttl below MinLeaseTTL made a claim of another breaker
// at work stale at once.
func breakPeriods(ttl, grace time.Duration) (time.Duration, time.Duration, error) {
	if ttl == 0 {
		ttl = defaultLeaseTTL
	}
	if grace == 0 {
		grace = defaultLeaseGrace
	}
	switch {
	case ttl < MinLeaseTTL || ttl > MaxLeaseTTL:
		return 0, 0, fmt.Errorf("lock: break lease: ttl %v is outside %v..%v; pass the holders' Config.LeaseTTL, or 0 for the default, %v", ttl, MinLeaseTTL, MaxLeaseTTL, defaultLeaseTTL)
	case grace < 0:
		return 0, 0, fmt.Errorf("lock: break lease: grace %v is negative; pass the holders' Config.LeaseGrace, or 0 for the default, %v", grace, defaultLeaseGrace)
	}
	return ttl, grace, nil
}

// LeaseHolder is what a lease's owner record says of its holder. A
// holder that died (killed, its host down) leaves its record as it was:
// until Expires, plus the grace period, it cannot be told from one alive.
type LeaseHolder struct {
	Host    string    // its host name, as the record keeps it (the start of a long one), in printable ASCII
	PID     int       // its process ID on Host
	Expires time.Time // when the lease runs out, by Host's clock (renewals move it on)
}

// Holder reads the owner record of the lease of lock name in l, for a
// tool that found the lock held and tells its operator whose it is. An
// error matching fs.ErrNotExist: no lease; one matching ErrNotLockFile:
// the file holds no owner record (one being created, or another's file).
func (l *LeaseDir) Holder(name string) (LeaseHolder, error) {
	if name == "" {
		return LeaseHolder{}, leafName(name)
	}
	if err := leafName(name + leaseSuffix); err != nil {
		return LeaseHolder{}, err
	}
	d, err := l.dir()
	if err != nil {
		return LeaseHolder{}, err
	}
	rec, err := readLease(d, name+leaseSuffix, 0)
	if errors.Is(err, errBadLease) {
		// readLease's read failed with a path; its parse, without.
		err = fmt.Errorf("%w: %s: %w", ErrNotLockFile, d.join(name+leaseSuffix), err)
	}
	if err != nil {
		return LeaseHolder{}, err
	}
	// As the record's writer may have had it, not as encode writes it.
	return LeaseHolder{Host: printableHost(rec.host), PID: rec.pid, Expires: rec.expires}, nil
}

// leafName refuses a name that is not one file of the directory: the
// *at calls and O_NOFOLLOW keep a look inside the directory only for its
// last element, and a caller's "../x" would break or read a lease
// elsewhere. Names the sweep lists may start with a dot (a probe's), so
// this is not nameProblem, which is for the names a table creates.
func leafName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%w %q: not a file name", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '/' || c == 0 || os.IsPathSeparator(c) {
			return fmt.Errorf("%w %q: a lease file name is one path element", ErrInvalidName, name)
		}
	}
	return nil
}

// Close closes the directory, if it was opened; the LeaseDir's calls fail
// with ErrClosed from then on. Calling it again does nothing. Close of a
// nil *LeaseDir or a LeaseDir{} fails, as its other calls do, and as a
// Table{}'s Close does.
func (l *LeaseDir) Close() error {
	if err := l.usable(); err != nil {
		return err
	}
	l.closed = true
	if l.d != nil {
		l.d.close()
	}
	return nil
}
