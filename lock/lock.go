package lock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessfs/sessfs/internal/fdlimit"
	"github.com/sessfs/sessfs/internal/mountinfo"
	"github.com/sessfs/sessfs/internal/ownerhint"
)

// Errors returned by this package. Callers test for them with errors.Is.
var (
	// ErrLocked reports that a lock is held by someone else: TryLock failed, or
	// Lock gave up because its context ended (that error also matches the
	// context's error).
	ErrLocked = errors.New("lock: held by another owner")
	// ErrLockLost reports that a lock this process held was taken away: the
	// NFS lease expired while the host was cut off, or a Lease lock was broken
	// by another host after it expired. Work done under the lock must not be
	// published. Lock and TryLock return it too, with ErrLocked, for
	// another key on a lock file whose lock this process holds and has
	// found lost: the key cannot share that lock, nor wait for its holders
	// (the caller may be one). A lost lock that no key holds any more
	// (kept by an Unlock for the next waiter) is released and taken
	// afresh instead.
	ErrLockLost = errors.New("lock: lock lost")
	// ErrNotSupported reports that no locking strategy works in the
	// directory, or, from TryLockFile and LockFile, that the file's file
	// system has no flock (EOPNOTSUPP, ENOSYS, EINVAL).
	ErrNotSupported = errors.New("lock: locking not supported on this filesystem")
	// ErrClosed reports use of a closed Table or LeaseDir.
	ErrClosed = errors.New("lock: table closed")
	// ErrInvalidName reports a lock file name that Lock and TryLock refuse
	// (see Table), or a name BreakExpiredLease and LeaseLeftoverInUse
	// refuse for not being one file of the directory; the error says why.
	ErrInvalidName = errors.New("lock: invalid lock file name")
	// ErrTooManyLocks reports that this process already holds as many OS
	// locks as it may (Config.MaxHeld), or that the server refused another
	// one (ENOLCK). It is returned at once, never after waiting, and does not
	// match ErrLocked: nobody else holds the lock that was asked for.
	ErrTooManyLocks = errors.New("lock: too many locks held")
	// ErrNotLockFile reports that a lock or lease file's name holds what
	// this package never makes there and will not lock through: a
	// directory, a FIFO, a socket, a device or a symbolic link, planted or
	// left by a tool. It is returned at once, never after waiting: nothing
	// this package does removes it. The error names the path and its type.
	// A flock on a FIFO or a device is taken by the local kernel alone,
	// never by an NFS server, so taking it would let two hosts hold the
	// lock at once.
	ErrNotLockFile = errors.New("lock: not a lock file")
)

// notLockFile is the ErrNotLockFile error for path, whose file has the
// type bits of m.
func notLockFile(path string, m fs.FileMode, err error) error {
	what := "not a regular file"
	switch {
	case m&fs.ModeSymlink != 0:
		what = "a symbolic link"
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	}
	msg := fmt.Sprintf("%s is %s, where only a regular file this package made belongs: move it out of the store directory, or remove it (no process of the store makes one there, nor moves or removes one that is there)", path, what)
	if h, ok := err.(*ownerhint.Error); ok {
		// Not expected (a refusal is not ELOOP or EISDIR), but a hint
		// stays last, where it is read.
		return &ownerhint.Error{Err: notLockFile(path, m, h.Err), Hint: h.Hint}
	}
	if pe, ok := err.(*fs.PathError); ok && pe.Path == path {
		// The open or read that met it: msg names the path already.
		return fmt.Errorf("%w: %s: %s: %w", ErrNotLockFile, msg, pe.Op, pe.Err)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotLockFile, msg, err)
	}
	return fmt.Errorf("%w: %s", ErrNotLockFile, msg)
}

// Mode selects an exclusive or a shared lock.
type Mode int

const (
	// Exclusive excludes every other holder of the key.
	Exclusive Mode = iota
	// Shared admits other Shared holders of the key in the same process and
	// excludes Exclusive ones. Other processes and hosts are excluded as by
	// Exclusive: the OS lock behind a key is always exclusive (see Table).
	//
	// A Shared request waits behind an Exclusive one of the process queued
	// for the key, so that a stream of Shared holders cannot starve it. The
	// Table does not know goroutines, so this holds for a holder's own
	// request too: a holder of the key Shared that locks it Shared again
	// (a nested call) while an Exclusive request waits for the key waits
	// for that request, which waits for the holder: Lock waits on itself
	// until its context ends (ErrLocked), and TryLock fails with ErrLocked.
	// As with sync.RWMutex, do not lock a key again while holding it; pass
	// the Handle down instead.
	Shared
)

func (m Mode) String() string {
	switch m {
	case Exclusive:
		return "exclusive"
	case Shared:
		return "shared"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Strategy selects how locks are implemented on disk.
type Strategy int

const (
	// Auto probes the directory: Flock where flock(2) works and reaches the
	// server, Lease otherwise.
	Auto Strategy = iota
	// Flock uses flock(2) on lock files kept open between uses.
	Flock
	// Lease uses O_EXCL lock files holding a renewed, breakable lease.
	Lease
)

func (s Strategy) String() string {
	switch s {
	case Auto:
		return "auto"
	case Flock:
		return "flock"
	case Lease:
		return "lease"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// ParseStrategy parses "auto", "flock" or "lease", in any case; "" is
// Auto.
func ParseStrategy(s string) (Strategy, error) {
	switch strings.ToLower(s) {
	case "auto", "":
		return Auto, nil
	case "flock":
		return Flock, nil
	case "lease":
		return Lease, nil
	}
	return Auto, fmt.Errorf("lock: unknown strategy %q (want auto, flock or lease)", s)
}

// Config configures a Table. The zero value of every field but Dir selects
// the documented default.
type Config struct {
	// Dir holds the lock files. It must exist and must not itself be a
	// symlink (the directories above it may be): NewTable opens it once and
	// reaches every lock file relative to it.
	Dir string
	// Strategy defaults to Auto.
	Strategy Strategy
	// FileMode is the permission of lock files created in Dir. Default 0600.
	FileMode fs.FileMode
	// MaxHeld caps the OS locks (lock files locked) this Table holds at
	// once; a request that would need one more fails at once with
	// ErrTooManyLocks. Requests waiting for a lock held elsewhere hold none,
	// and all keys on one lock file share one OS lock. Default: 128 on AWS
	// EFS (EFS lets each mount on a client lock at most 256 file-process
	// pairs, shared by every process using the mount, so two processes
	// fit, e.g. the old and the new one during a restart), 1024 elsewhere;
	// in both cases at most a quarter of the file-descriptor limit
	// (RLIMIT_NOFILE), since every held lock keeps a descriptor open.
	MaxHeld int
	// MaxOpen bounds the lock descriptors kept open, held or idle. Default
	// 1024, and never more than a quarter of the file-descriptor limit
	// (idle descriptors beyond that are closed, least recently used first).
	// A descriptor that is not kept costs two extra round trips (OPEN,
	// CLOSE) the next time its lock is taken on NFS; open descriptors that
	// hold no lock do not count against EFS's lock limits.
	MaxOpen int
	// EFS declares that Dir is on AWS EFS even when the mount does not say
	// so (a mount by IP address), which lowers the default MaxHeld. A mount
	// of an fs-*.efs.*.amazonaws.com name, or an efs-utils TLS mount
	// (127.0.0.1 with a port in efs-utils' 20049-21049 range), is detected.
	EFS bool
	// LeaseTTL is the lease length for the Lease strategy. The holder renews
	// it every LeaseTTL/3. Default 15s, at least 100ms, at most MaxLeaseTTL.
	LeaseTTL time.Duration
	// LeaseGrace is how long past its expiry a lease must be before another
	// owner may break it; it absorbs clock skew between hosts. Default 2s.
	LeaseGrace time.Duration
	// VerifyAfter: on NFS, Verify only costs a round trip for locks held at
	// least this long. A lock held for less than the NFS lease time cannot have
	// been lost to lease expiry (taking it renewed the lease). Default 5s, half
	// the smallest lease time Linux nfsd accepts. Off NFS, where Verify
	// checks that the lock file still has a name (one removed under the
	// lock excludes nobody), it checks so at most once per VerifyAfter;
	// taking the lock checked it. Verify looks at the lock directory's
	// name then too, and off NFS a take does at most once per
	// VerifyAfter (see the package documentation, Lost locks): off NFS
	// a directory moved away or replaced is found within about this
	// long; on NFS a take does not look, and only a Verify of a lock
	// held this long (or a lease's renewal) finds it.
	VerifyAfter time.Duration
	// Hostname is recorded in Lease owner records. Default os.Hostname().
	Hostname string

	nfs  bool // set by probe: Dir is on an NFS mount
	fuse bool // set by probe: Dir is on a FUSE mount, whose flock may be local only
	efs  bool // set by probe: Dir is on AWS EFS (detected or declared)
	// exported, set by probe: the NFS export of this host's server that
	// holds Dir, which this process reaches without NFS (see
	// flockBackend.ofd).
	exported string
	// mountLookup, in tests, replaces the look at /proc/self/mountinfo
	// that probe makes for Dir's mount (AWS EFS, which no test mounts).
	mountLookup func(dir string) (mountinfo.Mount, error)
	// exportTables, in tests, replaces the NFS server's export tables
	// that probe reads.
	exportTables []string
	// linkResult, in tests, replaces the outcome of the link that
	// publishes StrategyFile.
	linkResult func(err error) error
	// flockErr, in tests, refuses the flock on the lock file name (the
	// probe's is ".probe") with the error it returns, as a server out of
	// locks or without flock does.
	//lint:ignore U1000 the flock strategy's, which Windows lacks
	flockErr func(name string) error
	// probeFault, in tests, fails the flock probe's step ("fstat",
	// "unlock") with the error it returns.
	//lint:ignore U1000 the flock strategy's, which Windows lacks
	probeFault func(step string) error
}

// Defaults of MaxHeld and MaxOpen, before the file-descriptor bound.
const (
	defaultMaxHeld    = 1024
	defaultMaxHeldEFS = 128
	defaultMaxOpen    = 1024
)

// Validate reports a setting NewTable would refuse, without touching
// c.Dir, so that a caller can refuse a configuration before it creates
// anything on disk.
func (c Config) Validate() error { return c.validate() }

// validate checks cfg and fills in the defaults that do not depend on the
// directory.
func (c *Config) validate() error {
	if c.Dir == "" {
		return errors.New("lock: Config.Dir is empty")
	}
	if err := nulPath("Config.Dir", c.Dir); err != nil {
		return err
	}
	if err := dirDeviceError(c.Dir); err != nil {
		return err
	}
	if c.FileMode == 0 {
		c.FileMode = 0o600
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = defaultLeaseTTL
	}
	if c.LeaseGrace == 0 {
		c.LeaseGrace = defaultLeaseGrace
	}
	if c.VerifyAfter == 0 {
		c.VerifyAfter = 5 * time.Second
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	// Each error names the one field at fault, as the caller wrote it:
	// a program that configures a Table through another package's
	// options (fsstore's) is told that package's option instead, since
	// it checks them first.
	switch {
	case c.MaxHeld < 0:
		return fmt.Errorf("lock: Config.MaxHeld %d is negative; 0 selects the default", c.MaxHeld)
	case c.MaxOpen < 0:
		return fmt.Errorf("lock: Config.MaxOpen %d is negative; 0 selects the default", c.MaxOpen)
	case c.LeaseTTL < MinLeaseTTL || c.LeaseTTL > MaxLeaseTTL:
		return fmt.Errorf("lock: Config.LeaseTTL %v is outside %v..%v; 0 selects the default, 15s", c.LeaseTTL, MinLeaseTTL, MaxLeaseTTL)
	case c.LeaseGrace < 0:
		return fmt.Errorf("lock: Config.LeaseGrace %v is negative; 0 selects the default", c.LeaseGrace)
	case c.VerifyAfter < 0:
		return fmt.Errorf("lock: Config.VerifyAfter %v is negative; 0 selects the default", c.VerifyAfter)
	case c.Strategy < Auto || c.Strategy > Lease:
		return fmt.Errorf("lock: Config.Strategy %v is not a strategy (Auto, Flock or Lease)", c.Strategy)
	}
	return nil
}

// setLimits fills in MaxHeld and MaxOpen once probe has detected EFS.
// Defaults are bounded by a quarter of the descriptor limit, so lock
// descriptors never take the descriptors the application needs; an explicit
// MaxHeld is the caller's decision and kept, an explicit MaxOpen is bounded
// too (idle descriptors are a cache).
func (c *Config) setLimits() {
	fdBudget := max(fdlimit.Soft()/4, 1)
	if c.MaxHeld == 0 {
		c.MaxHeld = defaultMaxHeld
		if c.efs {
			c.MaxHeld = defaultMaxHeldEFS
		}
		c.MaxHeld = min(c.MaxHeld, fdBudget)
	}
	if c.MaxOpen == 0 {
		c.MaxOpen = defaultMaxOpen
	}
	c.MaxOpen = min(c.MaxOpen, fdBudget)
}

// MaxLeaseTTL is the longest lease a holder may take (Config.LeaseTTL). It
// also bounds how long the lease of a dead holder whose clock ran ahead
// keeps others out: a recorded expiry further ahead than this (plus the
// grace period) cannot come from a holder whose clock agrees with ours,
// so such a lease is dated by its file's last change instead.
const MaxLeaseTTL = 10 * time.Minute

// The defaults of Config.LeaseTTL and Config.LeaseGrace, and of
// BreakExpiredLease's ttl and grace.
const (
	defaultLeaseTTL   = 15 * time.Second
	defaultLeaseGrace = 2 * time.Second
)

// MinLeaseTTL is the shortest lease a holder may take (Config.LeaseTTL):
// one renewed at a third of it must still reach the file server in time.
const MinLeaseTTL = 100 * time.Millisecond

// validName reports whether name may name a lock file in Dir: one path
// element, no dot files (those belong to the table itself).
//
// Names that contain ".lease" are refused: lease files ("x.lease") and the
// files a lease breaker leaves ("x.lease.claim-...", "x.lease.take-...")
// are told apart from lock files by that infix (IsLeaseFile), so a flock
// lock file so named would pass for a lease in use (the strategy agreement
// would join "it" with leases beside its flock holder) and a lease lock so
// named for a breaker's leftover (which a sweep removes). A path separator
// of this system (a backslash on Windows) and, on Windows, a drive or
// stream colon are refused too: the name would not be one element there.
// So are, on every system, the names Windows keeps for devices (see
// windowsDevice), and, on Windows, the characters it refuses in a file
// name.
func validName(name string) bool { return nameProblem(name) == "" }

// nameProblem says why validName refuses name, "" when it does not: the
// error for a refused name says it, where "invalid" alone left the caller
// to guess among the rules.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case len(name) > 200:
		return "longer than 200 bytes"
	case name[0] == '.':
		return "starts with a dot, as the table's own files do"
	case strings.Contains(name, leaseSuffix):
		return `holds ".lease", which marks lease files and a breaker's files`
	}
	windows := runtime.GOOS == "windows"
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '/' || os.IsPathSeparator(c):
			return "holds a path separator: a lock file name is one path element"
		case c < 0x20:
			return "holds a control character"
		case c >= 0x7f:
			return "holds a byte outside printable ASCII"
		case windows && strings.IndexByte(`:<>"|?*`, c) >= 0:
			return fmt.Sprintf("holds %q, which Windows refuses in file names", c)
		}
	}
	if windowsDevice(name) {
		return deviceProblem
	}
	return ""
}

// deviceProblem is nameProblem's word for a name windowsDevice reports,
// on every system: a lock directory on a share that Windows hosts reach as
// well must not hold a file whose name is a device to them.
const deviceProblem = "a name Windows keeps for a device (NUL, CON, COM1, ..., alone or before a dot, any case), which opens the device, not a file; refused on every system, so that the lock directory works the same from Windows"

// deviceNameError is the refusal of the lock file path (or name) whose
// last element windowsDevice reports, matching ErrInvalidName as the
// table's refusal does; nil for any other. TryLockFile, LockFile and
// TryLockFileIn check their file with it, the table with nameProblem: one
// rule for every entry point.
func deviceNameError(path string) error {
	if !windowsDevice(filepath.Base(path)) {
		return nil
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidName, path, deviceProblem)
}

// dirDeviceError is the refusal, on Windows, of a lock directory whose
// last element is a name Windows keeps for a device (see windowsDevice),
// matching ErrInvalidName as a lock file's does; nil for any other. Such
// a path opens the device, not a directory: the null device passed for
// an empty one (a LeaseDir's BreakExpired reported every lease gone,
// nothing looked at), CON failed with "Invalid handle". Elsewhere a
// directory so named is one like any other, and the path a Windows host
// reaches a share by is its own.
//
// The last element is taken as Windows takes it: cleaned ("NUL\." is
// NUL), and up to a colon, which Windows ends a device name with as it
// does with a dot ("NUL:", "nul:x"), where windowsDevice, which judges
// lock names (refused with a colon on Windows anyway), stops at a dot
// alone. Such paths failed with "not a directory" or "File not found",
// not saying why.
func dirDeviceError(path string) error {
	if runtime.GOOS != "windows" {
		return nil
	}
	last, _, _ := strings.Cut(filepath.Base(filepath.Clean(path)), ":")
	if !windowsDevice(last) {
		return nil
	}
	return fmt.Errorf("%w: the lock directory %s: its last element is a name Windows keeps for a device (NUL, CON, COM1, ..., alone or before a dot, any case), which opens the device, not a directory", ErrInvalidName, path)
}

// windowsDevice reports whether Windows opens a device for a file named
// name, or name followed by an extension (the lock's "name.lease"): CON,
// PRN, AUX, NUL, COM0 to COM9 and LPT0 to LPT9 (and COM and LPT with a
// superscript 1, 2 or 3), in any case, alone or before a dot, trailing
// spaces ignored ("NUL.lease" and "nul .x" are the
// null device), and CONIN$ and CONOUT$, the console. A lease there is
// no file: the exclusive create that decides who holds it, the record
// read back, the rename a breaker makes over it all meet a device, which
// keeps no name and no record (the null device takes every write and
// keeps nothing).
func windowsDevice(name string) bool {
	// EqualFold, not ToUpper: the table checks every name it locks, on
	// every system, and an upper-cased copy of a stripe's hex name ("0a3f")
	// was an allocation in each take (TestTakeAllocations).
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.TrimRight(stem, " ")
	// A non-ASCII stem is upper-cased all the same: ToUpper makes the
	// dotless ı an I, which EqualFold does not fold to ("conın$" is
	// CONIN$). Only such names pay for the copy; a stripe's are ASCII.
	for i := 0; i < len(stem); i++ {
		if stem[i] >= utf8.RuneSelf {
			stem = strings.ToUpper(stem)
			break
		}
	}
	for _, dev := range [...]string{"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} {
		if strings.EqualFold(stem, dev) {
			return true
		}
	}
	if len(stem) < 3 || !strings.EqualFold(stem[:3], "COM") && !strings.EqualFold(stem[:3], "LPT") {
		return false
	}
	// The superscript digits are ports too, to Windows.
	n := stem[3:]
	return len(n) == 1 && n[0] >= '0' && n[0] <= '9' || n == "¹" || n == "²" || n == "³"
}

// waitError is returned when a context ends while waiting for a lock: it
// matches both ErrLocked and the context's error.
type waitError struct {
	path string
	err  error
}

func (e *waitError) Error() string {
	return fmt.Sprintf("lock %s: %v while waiting: %v", e.path, ErrLocked, e.err)
}

func (e *waitError) Unwrap() []error { return []error{ErrLocked, e.err} }

// backoff returns the next poll interval: doubling from 50µs up to max, so an
// uncontended wait costs little and a long one costs few round trips.
func backoff(d, max time.Duration) time.Duration {
	if d == 0 {
		return 50 * time.Microsecond
	}
	d *= 2
	if d > max {
		d = max
	}
	return d
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// nulPath refuses a path holding a NUL byte, naming what gave it: no
// system call takes one, and their bare EINVAL, under the path printed
// with the NUL unseen, named neither the byte nor where it came from.
func nulPath(what, path string) error {
	if strings.IndexByte(path, 0) < 0 {
		return nil
	}
	return fmt.Errorf("lock: %s %q: the path holds a NUL byte", what, path)
}

// pathError reports err from op on path. An err that is already a
// *fs.PathError for path (an *os.File's write or read) gives its error and
// its op in parentheses: wrapped whole, the message named the path twice.
func pathError(op, path string, err error) error {
	if h, ok := err.(*ownerhint.Error); ok {
		// A hinted open (a lease read back by Verify): the path is
		// named by the error inside the hint, which stays last, where
		// it is read.
		return &ownerhint.Error{Err: pathError(op, path, h.Err), Hint: h.Hint}
	}
	if pe, ok := err.(*fs.PathError); ok && pe.Path == path {
		if pe.Op != op {
			op += " (" + pe.Op + ")"
		}
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}
