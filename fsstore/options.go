package fsstore

import (
	"errors"
	"fmt"
	"github.com/sessfs/sessfs/internal/record"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/sessfs/sessfs/internal/fstab"
	"github.com/sessfs/sessfs/lock"
)

// Durability selects how hard Save works to survive a crash of the machine
// (not of the process: a rename is atomic against process crashes at every
// level, and a Save that returned survives the process at every level).
type Durability int

const (
	// DurabilityNone writes and renames without fsync. It is the default,
	// on every filesystem, for these reasons:
	//
	// On NFS and AWS EFS it is as durable as DurabilityFull: close(2)
	// sends the written data to the server and waits until the server
	// holds it on stable storage (close-to-open consistency; a WRITE with
	// FILE_SYNC or a COMMIT), and the server commits the RENAME before it
	// replies. A Save that returned survives a crash of the app server and
	// of the NFS server. The fsync of DurabilityFile adds nothing there.
	//
	// On a local disk, a Save that returned survives the process and a
	// restart of the application, but a power loss or kernel crash can lose
	// the saves of the last seconds (until the kernel's writeback; ext4:
	// 5-30 s): the session then holds its previous value, is gone, or
	// reads as empty or as zeros. Load, Touch and Locked.Load report such a
	// record as ErrCorrupt (httpsession serves a new session), a Save
	// replaces it, and the sweep removes it once it is older than the
	// marker's idle timeout. That is the promise of Redis's default
	// configuration (a snapshot every few minutes at most) and more than
	// PHP's files handler gives (no fsync, rewritten in place). Choose
	// DurabilityFull where a local disk must keep every returned Save
	// across a power loss, at the price of two disk flushes per Save (one
	// costs about 0.5 ms on ext4 on a virtual disk, ten times the rest of
	// the Save).
	DurabilityNone Durability = iota
	// DurabilityFile fdatasyncs the temp file before the rename, so on a
	// local disk the name never points at data that is not on disk: a
	// power loss leaves no damaged record. The rename itself is not
	// synced, so the last saves before a power loss (those the file system
	// had not committed yet: on ext4 until the next save's flush, or 5 s)
	// may still come back as their previous record, or as none for a
	// session just created.
	DurabilityFile
	// DurabilityFull also fsyncs the directory after the rename, so on a
	// local disk the new name itself survives a power loss: every Save
	// that returned is kept. A save that creates a shard directory fsyncs
	// its parent first, so that the directory's own name survives too; if
	// that fails, nothing is saved. A save whose directory fsync after the
	// rename fails was published all the same: its error matches
	// ErrInDoubt.
	DurabilityFull
)

func (d Durability) String() string {
	switch d {
	case DurabilityNone:
		return "none"
	case DurabilityFile:
		return "file"
	case DurabilityFull:
		return "full"
	}
	return fmt.Sprintf("Durability(%d)", int(d))
}

// ParseDurability parses "none", "file" or "full".
func ParseDurability(s string) (Durability, error) {
	for d := DurabilityNone; d <= DurabilityFull; d++ {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("fsstore: unknown durability %q (want none, file or full)", s)
}

// An Option configures Open.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	create       bool
	createSet    bool // WithCreate was given
	readOnly     bool // WithReadOnly
	shardDepth   int
	shardSet     bool
	lockStripes  int
	stripesSet   bool
	durability   Durability
	idle         time.Duration
	lifetime     time.Duration
	maxSize      int
	strategy     lock.Strategy
	maxHeldLocks int
	maxOpenLocks int
	efs          bool
	leaseTTL     time.Duration
	fileMode     fs.FileMode
	dirMode      fs.FileMode
	dirSetgid    bool // WithPermissions asked for a setgid directory mode
	cacheEntries int
	cacheBytes   int
	now          func() time.Time
	fakeClock    bool
	keys         []Key
	keysFile     string
	// keysGiven and keysFileGiven record that WithKeys or WithKeysFile
	// was used at all, so that an empty one (an unset environment
	// variable) is an error rather than a store without encryption.
	keysGiven     bool
	keysFileGiven bool
	keysRead      keysReadHooks   // tests only: see withKeysRead
	keysPoll      time.Duration   // tests only: see withKeysPoll
	keyOrderPoll  time.Duration   // tests only: see withKeyOrderPoll
	keyOrderLook  func(id uint32) // tests only: see withKeyOrderPoll
	// keysFileTrusted: WithKeysFileTrusted.
	keysFileTrusted bool
	observer        Observer
	logger          *slog.Logger

	// The bound on store work (bound.go).
	maxInFlight     int
	maxInFlightSet  bool
	opTimeout       time.Duration
	breakerFailures int
	breakerCooldown time.Duration
	testFS          func(site string)
	testAfter       func(time.Duration) <-chan time.Time
	testHealthNow   func() time.Time
	testBoundNow    func() time.Time
	// mounts tells a directory below a share that is not mounted
	// (ErrShareNotMounted): the host's own, or a test's stand-ins.
	mounts fstab.Hosts

	// See the options of the same names (keys.go).
	plaintextMigration bool
	maintenanceOnly    bool
}

func defaultConfig() config {
	return config{
		create:      true,
		shardDepth:  1,
		lockStripes: 1024,
		durability:  DurabilityNone,
		idle:        24 * time.Minute,
		lifetime:    24 * time.Hour,
		maxSize:     1 << 20,
		fileMode:    0o600,
		dirMode:     0o700,
		cacheBytes:  64 << 20,
		now:         time.Now,
		logger:      slog.New(slog.DiscardHandler),

		maxInFlight:     DefaultMaxInFlight,
		opTimeout:       DefaultOpTimeout,
		breakerFailures: DefaultBreakerFailures,
		breakerCooldown: DefaultBreakerCooldown,
		mounts:          fstab.System,
	}
}

func (c *config) validate() error {
	// A setgid directory mode, in Unix notation (0o2770) or Go's
	// (os.ModeSetgid|0o770), is what WithPermissions documents for a
	// shared group. The bit is not applied here: every directory the
	// store creates inherits it, and the group, from the store's top
	// directory, which the operator makes setgid (mkdir(2) applies
	// neither on Linux; BSDs always take the parent's group).
	asked := c.dirMode
	if c.dirMode&(0o2000|fs.ModeSetgid) != 0 {
		c.dirMode &^= 0o2000 | fs.ModeSetgid
		c.dirSetgid = true
	}
	switch {
	case c.shardDepth < 0 || c.shardDepth > 3:
		return fmt.Errorf("fsstore: WithShardDepth %d is outside 0..3", c.shardDepth)
	case c.lockStripes < 1 || c.lockStripes > 1<<16:
		return fmt.Errorf("fsstore: WithLockStripes %d is outside 1..65536", c.lockStripes)
	case c.durability < DurabilityNone || c.durability > DurabilityFull:
		return fmt.Errorf("fsstore: WithDurability %d is not a durability (DurabilityNone, DurabilityFile or DurabilityFull)", c.durability)
	case c.idle < time.Second || c.idle > MaxIdleTimeout:
		return fmt.Errorf("fsstore: WithIdleTimeout %v is outside 1s..%v", c.idle, MaxIdleTimeout)
	case c.lifetime < 0:
		return fmt.Errorf("fsstore: WithLifetime %v is negative; 0 disables it", c.lifetime)
	case c.lifetime > 0 && c.lifetime < time.Second:
		// As the idle timeout's floor: a lifetime this short is a units
		// mistake (WithLifetime(1) is 1ns) that would expire every
		// session as it is made.
		return fmt.Errorf("fsstore: WithLifetime %v is below 1s (a time.Duration counts nanoseconds: write 24*time.Hour); 0 disables it", c.lifetime)
	case c.maxSize < 1 || c.maxSize > maxMaxSize:
		return fmt.Errorf("fsstore: WithMaxSize %d is outside 1..64MiB", c.maxSize)
	case c.fileMode&^0o777 != 0 || c.fileMode&0o600 != 0o600:
		return fmt.Errorf("fsstore: WithPermissions: file mode %v must be permission bits including 0600", c.fileMode)
	case c.dirMode&^0o777 != 0 || c.dirMode&0o700 != 0o700:
		return fmt.Errorf("fsstore: WithPermissions: directory mode %#o must be permission bits including 0700, and the setgid bit at most", uint32(asked.Perm())|uint32(asked&0o7000)|modeBits(asked))
	case c.logger.Handler() == nil:
		// A zero slog.Logger (new(slog.Logger)), which panics on its
		// first record: every record the store logs would be lost.
		return errors.New("fsstore: WithLogger given a slog.Logger without a handler (a zero slog.Logger); make it with slog.New, or pass nil to log nothing")
	case c.cacheEntries < 0 || c.cacheBytes < 0:
		return fmt.Errorf("fsstore: WithCache(%d, %d): a negative size", c.cacheEntries, c.cacheBytes)
	case c.keysFileGiven && c.keysGiven:
		return fmt.Errorf("fsstore: WithKeys and WithKeysFile are exclusive")
	case c.keysFileGiven && c.keysFile == "":
		return errors.New("fsstore: WithKeysFile given an empty path (an unset environment variable?); leave the option out for a store without encryption")
	case c.keysFileGiven && nulPath("WithKeysFile", c.keysFile) != nil:
		return nulPath("WithKeysFile", c.keysFile)
	case c.keysGiven && len(c.keys) == 0:
		return errors.New("fsstore: WithKeys given no keys; leave the option out for a store without encryption")
	case c.maxInFlight < 0 || c.maxInFlight > 1<<16:
		return fmt.Errorf("fsstore: WithMaxInFlight %d is outside 0..65536", c.maxInFlight)
	case c.opTimeout <= 0:
		return fmt.Errorf("fsstore: WithOpTimeout %v is not positive", c.opTimeout)
	case c.breakerFailures < 1:
		return fmt.Errorf("fsstore: WithBreaker failures %d is below 1", c.breakerFailures)
	case c.breakerCooldown <= 0:
		return fmt.Errorf("fsstore: WithBreaker cool-down %v is not positive", c.breakerCooldown)
	// The lock package checks these too, but names its Config's fields,
	// which the caller of Open never wrote.
	case c.strategy < lock.Auto || c.strategy > lock.Lease:
		return fmt.Errorf("fsstore: WithLockStrategy %v is not a strategy (lock.Auto, lock.Flock or lock.Lease)", c.strategy)
	case c.maxHeldLocks < 0:
		return fmt.Errorf("fsstore: WithMaxHeldLocks %d is negative; 0 selects the default", c.maxHeldLocks)
	case c.maxOpenLocks < 0:
		return fmt.Errorf("fsstore: WithMaxOpenLocks %d is negative; 0 selects the default", c.maxOpenLocks)
	case c.leaseTTL != 0 && (c.leaseTTL < lock.MinLeaseTTL || c.leaseTTL > lock.MaxLeaseTTL):
		return fmt.Errorf("fsstore: WithLeaseTTL %v is outside %v..%v; 0 selects the default, 15s", c.leaseTTL, lock.MinLeaseTTL, lock.MaxLeaseTTL)
	case c.readOnly && c.createSet && c.create:
		return errors.New("fsstore: WithReadOnly and WithCreate(true) are exclusive: a store opened read-only creates nothing")
	}
	return nil
}

// WithCreate controls whether Open creates the store layout in an existing
// directory that has none (default true; Open creates it only in an empty
// directory). With false, such a directory is ErrNotStore, empty or not:
// tools such as sessgc use it so they never turn an arbitrary directory
// into a store.
func WithCreate(create bool) Option {
	return optionFunc(func(c *config) { c.create, c.createSet = create, true })
}

// WithReadOnly opens the store for reading alone, for tools that only
// look at it where they may not write: a mount that is read-only on their
// host, a user who may read the store but not write it (sessgc stats
// there). Open then creates, changes and removes nothing: it never creates
// the store (a directory without a marker is ErrNotStore; WithCreate(true)
// with it is an error), does not check that the store is writable, does
// not set up the lock directory or agree on the lock strategy
// (LockStrategy reports lock.Auto), does not record its idle timeout or
// encryption in the marker, and writes no key check file. An encrypted
// store still needs its keys, or WithMaintenanceOnly, as without it. A
// data/ or locks/ that is a symlink is refused as without it: Open fails
// with an error matching ELOOP that names the link.
//
// Load, LoadInto, Range, Stats and Health work as on any store; Stats
// judges ages by this host's clock, not the file server's (see
// Stats.HostClock). Save, CompareAndSwap, Delete, Touch, Lock, TryLock,
// Sweep (a dry run too: it takes session locks, and reads the server's clock
// by creating a file), Rekey and TryLockFleet
// fail with an error matching ErrStoreReadOnly before they reach the file
// system; the Observer sees those it is told of (all but Sweep, Rekey and
// TryLockFleet, which have no Op) as OutcomeInvalid. The options about writing
// (durability, permissions, lock strategy and limits) have no effect.
func WithReadOnly() Option { return optionFunc(func(c *config) { c.readOnly = true }) }

// vouches reports whether the store writes key check files and marks
// the store encrypted: an application host's, not a maintenance or a
// read-only one's (see WithMaintenanceOnly).
func (c *config) vouches() bool { return !c.maintenanceOnly && !c.readOnly }

// WithShardDepth sets the number of directory levels (256 directories each)
// between the store and the session files: 0 to 3, default 1. Depth 1 keeps
// directories under ~4,000 entries at a million sessions. The depth is fixed
// when the store is created; opening an existing store with a different
// explicit depth fails.
func WithShardDepth(depth int) Option {
	return optionFunc(func(c *config) { c.shardDepth, c.shardSet = depth, true })
}

// WithLockStripes sets the number of lock files (default 1024). Sessions hash
// onto them; two sessions on one stripe serialize, which more stripes make
// rarer. Lock files are never removed (see the lock package). Fixed when the
// store is created.
func WithLockStripes(n int) Option {
	return optionFunc(func(c *config) { c.lockStripes, c.stripesSet = n, true })
}

// WithDurability sets the fsync policy of Save (default DurabilityNone; see
// there for what each level keeps on NFS and on a local disk).
func WithDurability(d Durability) Option { return optionFunc(func(c *config) { c.durability = d }) }

// WithIdleTimeout sets how long a session lives without a Save or Touch
// (default 24 minutes, PHP's session.gc_maxlifetime; at most
// MaxIdleTimeout), for sessions saved with a zero Session.Idle. Each record
// carries its own idle timeout, so processes with different settings agree
// on every session's expiry. The store directory's marker records the
// largest idle timeout in use; the sweep never removes a session before its
// own expiry.
func WithIdleTimeout(d time.Duration) Option { return optionFunc(func(c *config) { c.idle = d }) }

// WithLifetime sets the absolute lifetime of a session from its creation,
// however active (default 24 hours; 0 disables it). A Session's own Deadline,
// when set, takes precedence. Open refuses one below 1s, as it does such
// an idle timeout: it would expire every session as it is made.
func WithLifetime(d time.Duration) Option { return optionFunc(func(c *config) { c.lifetime = d }) }

// WithMaxSize sets the largest payload Save accepts (default 1 MiB, at most
// 64 MiB); larger ones fail with ErrTooLarge. It limits what this process
// writes, not what it reads: a record that a process with a larger limit
// saved loads, touches and rekeys here too, so that processes (and sessgc)
// configured differently never take each other's sessions for damaged ones.
// So a Load reads any file up to 64 MiB and its header whole before it can
// judge it (a damaged or planted one is then ErrCorrupt); a larger file is
// refused by its size alone.
func WithMaxSize(n int) Option { return optionFunc(func(c *config) { c.maxSize = n }) }

// maxMaxSize is the largest limit WithMaxSize accepts.
const maxMaxSize = 64 << 20

// maxRecordFile is the size of the largest record any store writes: what
// reads accept. A larger file is damaged (ErrCorrupt) and is not read.
const maxRecordFile = record.HeaderSize + sealOverhead + maxMaxSize

// WithLockStrategy forces a locking strategy (default lock.Auto: probe the
// directory).
//
// Every process that shares the store must lock the same way: a flock
// and a lease file do not exclude each other, so a host on the other
// strategy could save over a session another host holds locked. The first
// process to open the store records its strategy in the lock directory
// (lock.StrategyFile); a process with lock.Auto (sessgc's default) adopts
// it, and Open fails with lock.ErrStrategyMismatch for one that forces the
// other or on whose mount the recorded one does not work (say, an NFSv3
// host mounted nolock or local_lock=flock beside hosts using flock). So force a
// strategy on every host or on none, and mount the export with the same
// options everywhere.
func WithLockStrategy(s lock.Strategy) Option { return optionFunc(func(c *config) { c.strategy = s }) }

// WithMaxHeldLocks caps the lock files this Store holds locked at once;
// a lock request that would need one more fails at once with
// ErrTooManyLocks (requests waiting for a lock held elsewhere, and sessions
// sharing a stripe, need no extra one). Default 128 on AWS EFS, 1024
// elsewhere, at most a quarter of the descriptor limit. EFS lets each mount
// on a client lock at most 256 file-process pairs, shared by every process
// using the mount: keep the sum of this over those processes (sessgc's
// --concurrency and 2 included) at or below 256.
func WithMaxHeldLocks(n int) Option { return optionFunc(func(c *config) { c.maxHeldLocks = n }) }

// WithMaxOpenLocks bounds the lock descriptors kept open, held or idle
// (default 1024, the default number of lock stripes, so that every stripe's
// descriptor can stay open; at most a quarter of the descriptor limit).
// Each kept descriptor saves two round trips per locked request on NFS.
func WithMaxOpenLocks(n int) Option { return optionFunc(func(c *config) { c.maxOpenLocks = n }) }

// WithEFS declares that the store is on AWS EFS, for mounts the store cannot
// recognise (a mount target's IP address instead of its DNS name). It lowers
// the default of WithMaxHeldLocks to EFS's budget.
func WithEFS(efs bool) Option { return optionFunc(func(c *config) { c.efs = efs }) }

// WithLeaseTTL sets the lease of the lock-file strategy (default 15s,
// which 0 sets too). A holder renews it at a third of its length; Open
// refuses one under 100ms (0 apart), too short to renew, and one over
// lock.MaxLeaseTTL, the longest lease a holder's clock can vouch for.
func WithLeaseTTL(d time.Duration) Option { return optionFunc(func(c *config) { c.leaseTTL = d }) }

// WithPermissions sets the modes of session files and directories (defaults
// 0600 and 0700). Use 0660/2770 with a shared group when app servers run as
// different users, and make the store's top directory setgid to that group:
// the directories the store creates inherit the bit and the group from it.
// The process umask still applies: give it no group bits (0007).
//
// Every process of a store its group shares (its marker group-writable,
// its data directory and its directory the group's, the marker or the data
// directory another user's) must create what the group can use:
// Open refuses one whose modes, or umask where the system tells it
// (Linux) and applies it (no default ACL), would leave the group's other
// users out, with an error
// matching ErrLayoutMismatch that names both, before it writes anything.
func WithPermissions(file, dir fs.FileMode) Option {
	return optionFunc(func(c *config) { c.fileMode, c.dirMode = file, dir })
}

// WithCache enables an in-process read cache of up to entries sessions and
// maxBytes payload bytes (default off). A session larger than maxBytes is
// not cached. Each entry costs about 350 bytes besides its payload, which
// maxBytes does not count: a cache of many small sessions is bounded by
// entries times that. Every Load still revalidates the
// directory and then the entry against the file's attributes, asked of the
// file server (on Linux, past the NFS attribute cache: a forced GETATTR), and
// serves the entry only if the file has the device, inode number, size and
// ctime of the one it was read from; it saves the open, the read and the
// decoding. The one change that leaves all four alike is an inode number
// freed and reused for the same session with the same size within one
// tick of the server's clock (docs/design.md, "Reads"); on a file system
// that keeps whole seconds (ext4 with 128-byte inodes, ext3, HFS+, sshfs),
// where a tick is a second, the cache serves nothing. On macOS and
// FreeBSD the attributes may come from the NFS client's attribute cache,
// so there a cached Load may miss another host's save until it expires (as
// an uncached one may, see the package documentation); a session those
// attributes show expired is judged from its file, as an uncached Load
// judges it, so that another host's Touch they miss logs nobody out.
//
// CompareAndSwap does not use the cache: its version check reads the
// file, so that an entry the identity check missed cannot make it
// overwrite saves it did not see (on NFS one round trip more per swap of
// an unchanged record). Load, Locked.Load and the other reads use it: a
// Locked.Save after a Locked.Load served from an entry that the identity
// check missed overwrites the saves the entry missed (docs/design.md,
// "Reads").
func WithCache(entries, maxBytes int) Option {
	return optionFunc(func(c *config) { c.cacheEntries, c.cacheBytes = entries, maxBytes })
}

// WithClock replaces time.Now, for tests of expiry (this module's, and an
// application's own, with the adapters' WithClock given the same clock).
// Production stores leave it unset.
//
// File times normally come from the filesystem (the server's clock on NFS);
// with a replaced clock, Save, Touch and Sweep set and read file times from
// it instead, at the cost of an extra attribute update per write, so that
// expiry stays consistent under a fake clock.
//
// Unlike an Observer's methods, now is not guarded against panics: it is
// a test's clock, called inside the store's own work (several times per
// operation, on the caller's goroutine or, in a bounded store, on a
// worker's; on a sweep's workers; on the keys file's watcher), where a
// recover on every call would cost every operation for a test's sake. A
// panic in it ends the process as a panic in the store's own code would:
// it must not panic. A nil now is the system clock, as leaving the
// option out is (the adapters' and httpsession's clock options take nil
// so too).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now == nil {
			c.now, c.fakeClock = time.Now, false
			return
		}
		c.now, c.fakeClock = now, true
	})
}

// modeBits returns the Unix setuid, setgid and sticky bits of Go's mode
// bits in m, for an error message in the notation the caller likely used.
func modeBits(m fs.FileMode) uint32 {
	var b uint32
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// nulPath refuses a path holding a NUL byte, naming the function or option
// that was given it: no system call takes one, and their bare EINVAL,
// under the path printed with the NUL unseen, named neither the byte nor
// where it came from.
func nulPath(what, path string) error {
	if strings.IndexByte(path, 0) < 0 {
		return nil
	}
	return fmt.Errorf("fsstore: %s %q: the path holds a NUL byte", what, path)
}
