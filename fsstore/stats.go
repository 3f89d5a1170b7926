package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// StatsOptions configures Stats. The zero value uses the same defaults as
// SweepOptions, so that Stats predicts what a default Sweep would remove.
type StatsOptions struct {
	// Concurrency is the number of shard directories walked at once
	// (default 1, at most 64), fewer under a low open-file limit (see
	// SweepOptions.Concurrency).
	Concurrency int
	// Grace is added to the store's largest idle timeout before a session
	// counts as expired (default 1 minute), as SweepOptions.Grace.
	Grace time.Duration
	// TempAge is the age after which a temp file counts as stale (default
	// 10 minutes), as SweepOptions.TempAge.
	TempAge time.Duration
	// OnError, if set, is called for every file or directory that could
	// not be examined (counted in Stats.Errors), with its path; the census
	// goes on. With Concurrency > 1 it is called from several goroutines
	// at once.
	OnError func(error)
}

// Stats describes the files of a store as a sweep would judge them when
// Stats ran. Every figure comes from directory listings and file attributes;
// no record is opened, but for one left aside (.tmp-gc-<name>, a sweep
// that died midway; .tmp-gd-<name>, a locked Delete that found its lock
// lost), whose header it reads, and for a live one whose
// name it looks up, as the next sweep does (see Restorable). On NFS it costs
// a few round trips per directory where the client reads it with READDIR,
// whose reply carries the files' attributes. A directory unchanged since
// this host last listed it is listed from the client's cache, and there, as
// in the sweep, on Linux a record the attributes the client has cached show
// live is counted live on them, without a round trip: a record's mtime only
// moves forward (Save and Touch stamp the server's time), so a cached mtime
// is no newer than the server's, and a record it shows live is live. Any
// other file is looked at afresh, which costs a GETATTR once its cached
// attributes have expired (docs/operations.md, "Sizing `--rate` and
// `--concurrency` for NFS and EFS"); on other systems every file is. So Live
// and Expired are what fresh attributes show (but for a record whose mtime
// was set back, by a restore by hand, say: counted live, as the sweep keeps
// it, until its cached mtime is MaxIdle plus Grace old), while the bytes of
// live sessions (LiveBytes, Bytes) may come from cached sizes, and their
// expiry (OldestExpiry, NewestExpiry) from cached mtimes older than another
// host's last Save or Touch.
type Stats struct {
	ShardDepth  int           // directory levels under data/
	LockStripes int           // lock stripes recorded in the marker
	MaxIdle     time.Duration // largest idle timeout recorded in the marker (when last read, see Store.Stats)

	Live         int64 // session records a sweep would keep, Restorable ones included
	Expired      int64 // session records a sweep would remove (unless locked or renewed by then, or their own idle timeout is longer than the marker says)
	LiveBytes    int64 // on NFS, possibly from cached sizes (see Stats)
	ExpiredBytes int64
	Temps        int64 // temp files, in use or abandoned
	StaleTemps   int64 // temp files a sweep removes: older than TempAge, and the superseded copies aside described at Restorable
	TempBytes    int64
	LockFiles    int64 // the store's lock files: the stripes', the marker's, the sweep's, the rekey's, sessgc's fleet locks (never removed)
	Leases       int64 // lease lock files, held or abandoned
	StaleLeases  int64 // lease files a sweep would remove
	Foreign      int64 // files and directories anywhere in it not taken for the store's (see Store.Sweep; never removed)
	Bytes        int64 // bytes in all regular files counted above

	// Restorable counts the live session records that a sweep which died
	// midway left aside (.tmp-gc-<name> in their shard), or a locked
	// Delete that found its lock lost (.tmp-gd-<name>), live by their
	// header's expiry: Loads find them there, and the next sweep puts them
	// back under their names and counts them as SweepStats.Restored, not
	// in its Live (unless a request holds a session's lock then: that one
	// is SkippedLocked, and left for the sweep after). They are counted in
	// Live and LiveBytes too: on a store nobody writes to meanwhile, the
	// next sweep's Live is Live minus Restorable. A copy aside whose name
	// a newer record took meanwhile is no second session: the sweep
	// removes it (its put-back fails with EEXIST) and counts it as a
	// removed temp file, and Stats counts it in Temps, StaleTemps and
	// TempBytes; the record under the name is counted as any other. So
	// is the older of two copies of a session aside at once (one under
	// each name), the newer counted as the session, live or expired.
	Restorable int64

	// OldestExpiry and NewestExpiry bound the expiry of the session records
	// as a sweep sees it: file mtime (the last Save or Touch, by the file
	// server's clock) plus MaxIdle; on NFS, for a live record, possibly an
	// older mtime the client had cached (see Stats). A record's own,
	// shorter idle timeout and its absolute deadline are in its header,
	// which Stats does not read. Both are zero when the store holds no
	// record.
	OldestExpiry time.Time
	NewestExpiry time.Time

	// Shard fill: leaf shard directories that exist (they are created on
	// first use) out of ShardCapacity (256^ShardDepth), and the fewest and
	// most entries in one of them.
	Shards        int64
	ShardCapacity int64
	MinShardFiles int64
	MaxShardFiles int64

	Errors   int64 // files or directories that could not be examined
	Duration time.Duration

	// HostClock reports that ages were judged by this host's clock: the
	// store was opened WithReadOnly, so Stats created no file whose
	// mtime tells the file server's time. A record then counts as
	// expired when its mtime, which the file server stamped, is more
	// than MaxIdle plus Grace before this host's time; a host clock
	// that is s ahead of the server's counts records expired s early
	// (and temp files and leases stale so), one behind counts them s
	// late. A store opened WithClock is judged by that clock, as its
	// Saves and Sweeps are, read-only or not: HostClock is false.
	HostClock bool

	// WholeSecondTimes reports that the store's file system keeps file
	// times in whole seconds (ext4 with 128-byte inodes, ext3, HFS+,
	// sshfs, some NAS), where WithCache serves nothing: as found by this
	// census, from the time of the file it makes to read the file
	// server's clock (not on a store opened WithReadOnly or WithClock),
	// or by the store before (see Store.WholeSecondTimes).
	WholeSecondTimes bool
}

// Stats walks the store once and counts its files, in memory that grows
// with the largest shard directory, not with the store: it remembers the
// records of the shard it lists (a few dozen bytes each), as Range does.
// It opens each shard directory once, to list it and look at every file
// by its name there, as the sweep does: a system call per file (two on
// NFS for a record its cached attributes do not show live), not a
// resolution of the file's path besides. It changes nothing in the data directory (it creates
// and removes one temp file in the store directory to read the file
// server's clock, as Sweep does, and fails with ErrNoServerClock before
// counting where it cannot; but on a store opened WithReadOnly,
// where it writes nothing and judges ages by this host's clock: see
// Stats.HostClock; and on one opened WithClock, judged by that clock).
// Like the sweep, it reads the marker again once its reading is the
// marker's max idle old, so that a long census counts a record written
// after a raise of the max idle by the raise, as the sweep keeps it.
// A record that a sweep moves aside, or
// back, while Stats lists its shard counts once, where Stats finds it, as
// the next sweep would settle it. Stats stops early with ctx's error when
// ctx ends, and with one matching ErrClosed when the store is closed
// meanwhile (not counted in Errors nor passed to OnError).
// On a bounded store it is bounded as Sweep is. A panic in OnError is
// raised again in Stats's caller, and OnError is never called after Stats
// returned, as Sweep does.
func (s *Store) Stats(ctx context.Context, opts StatsOptions) (Stats, error) {
	if err := s.usable(ctx); err != nil {
		return Stats{}, err
	}
	return guardedScan(ctx, s, "stats", func(ctx context.Context, cb *callbackGuard) (Stats, error) { return s.stats(ctx, opts, cb) })
}

func (s *Store) stats(ctx context.Context, opts StatsOptions, cb *callbackGuard) (Stats, error) {
	start := time.Now()
	if s.closed.Load() {
		return Stats{}, ErrClosed
	}
	// A panic in OnError ends the census as ctx's end would.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if f := opts.OnError; f != nil {
		opts.OnError = func(err error) { cb.call(func() { f(descriptorsHint(err)) }, cancel) }
	}
	if err := walkDefaults("stats", "StatsOptions", &opts.Concurrency, &opts.TempAge, &opts.Grace); err != nil {
		return Stats{}, err
	}
	markerStart := time.Now()
	m, err := s.readMarker()
	if err != nil {
		return Stats{}, fmt.Errorf("fsstore: stats: %w", err)
	}
	clock := hostClock()
	switch {
	case s.cfg.fakeClock:
		// The store's own clock (WithClock), read at every look, as Save,
		// Touch and Sweep read it: they stamp and judge records by it,
		// and a census by any other clock miscounts them.
		clock = serverClock{fake: s.cfg.now}
	case !s.cfg.readOnly:
		if clock, err = newServerClock(s.dir); err != nil {
			return Stats{}, fmt.Errorf("fsstore: stats: %w", err)
		}
		// A file just made (or the store's directory just touched)
		// shows the file system's tick: an mtime in whole seconds is
		// one (but one time in a billion on a finer one).
		if clock.base.Nanosecond() == 0 {
			s.noteWholeSeconds()
		}
	}
	c := &statsCounter{s: s, fs: s.root, opts: opts, clock: clock, hostClock: s.cfg.readOnly && !s.cfg.fakeClock,
		dataDir: s.dataDir, depth: s.layout.shardDepth, cachedFirst: s.lookCachedFirst(), closed: scanClosed{stop: cancel}}
	// The clock's reading when the marker was read: no later than the read.
	c.lim.raise(m, opts.Grace, clock.now().Add(-time.Since(markerStart)))
	c.minShard.Store(-1)
	if err := c.closed.result(c.root(ctx, s.dir)); errors.Is(err, ErrClosed) {
		return c.result(m, start), stoppedByClose("stats", err)
	} else if err != nil {
		return c.result(m, start), fmt.Errorf("fsstore: stats: %w", err)
	}
	err = s.walkShardsBetween(ctx, opts.Concurrency, c.shard, c.between, func(dir string, err error) error {
		c.fail(fmt.Errorf("stats %s: %w", dir, err)) // as for a leaf: the walk goes on
		return nil
	})
	if err == nil {
		err = c.locks(ctx, filepath.Join(s.dir, LockDir), s.cfg.leaseTTL)
	}
	err = c.closed.result(err)
	st := c.result(m, start)
	if errors.Is(err, ErrClosed) {
		return st, stoppedByClose("stats", err)
	}
	if err != nil {
		return st, fmt.Errorf("fsstore: stats: %w", err)
	}
	return st, nil
}

// countedFile is a record file Stats counted: its record's name and its
// inode, which a rename keeps.
type countedFile struct {
	rec string
	ino uint64
}

// shardCounted is what Stats counted in one shard directory so far (see
// shard).
type shardCounted struct {
	files map[countedFile]struct{}
	// names holds the records counted as a session under their names (or
	// aside, restorable there): by name, since a save gives the name a
	// new file, and a record looked at again after the listing passed it
	// (back) may be that new file.
	names map[string]struct{}
}

// file reports whether the file ino of record rec was counted already,
// and notes it.
func (sc *shardCounted) file(rec string, ino uint64) bool {
	k := countedFile{rec, ino}
	if _, ok := sc.files[k]; ok {
		return true
	}
	sc.files[k] = struct{}{}
	return false
}

// name reports whether a session named rec was counted already, and
// notes it.
func (sc *shardCounted) name(rec string) bool {
	if _, ok := sc.names[rec]; ok {
		return true
	}
	sc.names[rec] = struct{}{}
	return false
}

// named reports whether the file ino under the name rec, or any session
// of that name, was counted already, and notes both.
func (sc *shardCounted) named(rec string, ino uint64) bool {
	f := sc.file(rec, ino)
	n := sc.name(rec)
	return f || n
}

type statsCounter struct {
	s         *Store
	fs        *rootDir
	opts      StatsOptions
	clock     serverClock
	hostClock bool // ages by this host's clock (Stats.HostClock)
	dataDir   string
	depth     int
	// cachedFirst: count a record its cached attributes show live
	// without a fresh stat (Store.lookCachedFirst).
	cachedFirst bool
	closed      scanClosed // ends the census at the store's close

	limMu sync.Mutex
	lim   sweepLimits // under limMu; see limits

	bufs sync.Pool // *[]byte of direntBufSize: listing buffers, one per worker at a time

	live, expired, liveBytes, expiredBytes  atomic.Int64
	temps, staleTemps, tempBytes            atomic.Int64
	lockFiles, leases, staleLeases, foreign atomic.Int64
	bytes, shards, errs, restorable         atomic.Int64
	minShard, maxShard                      atomic.Int64

	mu             sync.Mutex // guards oldest, newest
	oldest, newest time.Time
}

// limits returns the marker's limits to judge records by at now, a
// reading of Stats's clock, reading the marker again as the sweep does
// (Store.rereadLimits): Stats counts what a sweep would remove, and one
// that runs longer than the max idle reads it again. A record counts as
// expired when it is older than liveFor: Stats does not read the headers
// of the records between the marker's max idle and the largest it ever
// held, which the sweep judges by (see Stats.Expired).
func (c *statsCounter) limits(now time.Time) (sweepLimits, error) {
	return c.s.rereadLimits(&c.limMu, &c.lim, c.opts.Grace, now)
}

func (c *statsCounter) result(m marker, start time.Time) Stats {
	c.limMu.Lock()
	maxIdle := c.lim.maxIdle
	c.limMu.Unlock()
	st := Stats{
		ShardDepth: m.shardDepth, LockStripes: m.stripes, MaxIdle: maxIdle,
		Live: c.live.Load(), Expired: c.expired.Load(),
		LiveBytes: c.liveBytes.Load(), ExpiredBytes: c.expiredBytes.Load(),
		Temps: c.temps.Load(), StaleTemps: c.staleTemps.Load(), TempBytes: c.tempBytes.Load(),
		LockFiles: c.lockFiles.Load(), Leases: c.leases.Load(), StaleLeases: c.staleLeases.Load(),
		Foreign: c.foreign.Load(), Bytes: c.bytes.Load(), Restorable: c.restorable.Load(),
		Shards: c.shards.Load(), ShardCapacity: 1 << (8 * m.shardDepth),
		HostClock:        c.hostClock,
		WholeSecondTimes: c.s.WholeSecondTimes(),
		MaxShardFiles:    c.maxShard.Load(), Errors: c.errs.Load(),
	}
	if n := c.minShard.Load(); n >= 0 {
		st.MinShardFiles = n
	}
	c.mu.Lock()
	st.OldestExpiry, st.NewestExpiry = c.oldest, c.newest
	c.mu.Unlock()
	st.Duration = time.Since(start)
	return st
}

// fail counts a file or directory that could not be examined.
func (c *statsCounter) fail(err error) {
	if c.closed.end(err) {
		return
	}
	c.errs.Add(1)
	if c.opts.OnError != nil {
		c.opts.OnError(err)
	}
}

// stat returns a file's size and age by Stats's clock (a temp file's by
// tempTime, as the sweep judges it) from a fresh stat; ok is false (and
// the error counted) when the file could not be examined. A file that
// vanished since the listing is skipped silently (not ok, gone). See
// statGone for d.
func (c *statsCounter) stat(d *shardDir, dir, name string, temp bool) (size int64, age time.Duration, ok bool) {
	st, mtime, ok, _ := c.statGone(d, dir, name, temp)
	if !ok {
		return 0, 0, false
	}
	return st.size, c.clock.now().Sub(mtime), true
}

// statGone returns the attributes of the file name in dir, not following
// a symlink, and the time its age counts from; it reports whether the
// file was gone. d is dir opened once for all its files, the name looked
// up in it, as the sweep does: a look by path resolved the whole path
// below the store again, an open per file (openat2 on Linux, one per
// directory level elsewhere). nil looks by path: the few files above the
// shards.
func (c *statsCounter) statGone(d *shardDir, dir, name string, temp bool) (st fileStat, mtime time.Time, ok, gone bool) {
	var err error
	if d != nil {
		if st, err = d.lstat(name); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is said below
			}
		}
	} else {
		st, err = c.fs.lstat(filepath.Join(dir, name))
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.fail(fmt.Errorf("stats %s: %w", filepath.Join(dir, name), err))
		}
		return fileStat{}, time.Time{}, false, errors.Is(err, fs.ErrNotExist)
	}
	mtime = st.mtime
	if temp {
		mtime = tempTime(name, st)
	} else if h := c.s.testHooks.judgeStat; h != nil {
		mtime = h(name, false, mtime)
	}
	return st, mtime, true, false
}

// temp counts a temp file as the sweep judges it (see statGone for d).
func (c *statsCounter) temp(d *shardDir, dir, name string) {
	size, age, ok := c.stat(d, dir, name, true)
	if !ok {
		return
	}
	c.bytes.Add(size)
	c.temps.Add(1)
	c.tempBytes.Add(size)
	if age >= c.opts.TempAge {
		c.staleTemps.Add(1)
	}
}

// root counts foreign files at the top of the store (see foreignAtRoot).
func (c *statsCounter) root(ctx context.Context, dir string) error {
	return c.fs.forEachEntry(ctx, dir, func(e fs.DirEntry) {
		switch {
		case isTemp(e):
			c.temp(nil, dir, e.Name())
		case foreignAtRoot(e):
			c.foreign.Add(1)
		}
	})
}

// between counts the entries of the directories above the leaf shards
// that are not shards: temp files (Open's writability probe) and foreign
// files, as the sweep's between does.
func (c *statsCounter) between(_ context.Context, dir string, e fs.DirEntry) error {
	if err := shardNameTaken(dir, e); err != nil {
		c.fail(err)
		return nil
	}
	if !isTemp(e) {
		c.foreign.Add(1)
		return nil
	}
	c.temp(nil, dir, e.Name())
	return nil
}

// listBuf returns a buffer for forEachName, reused from shard to shard;
// put it back in c.bufs after the listing.
func (c *statsCounter) listBuf() *[]byte {
	if b, ok := c.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, direntBufSize)
	return &b
}

func (c *statsCounter) shard(ctx context.Context, dir string) error {
	var n int64
	prefix, inShard := shardPrefix(c.dataDir, dir, c.depth)
	// Opened once, as the sweep opens it: listed, and every file looked
	// at by its name in it (statGone), as the cached look and the aside
	// records are.
	sd, err := c.fs.openShardToList(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // as a listing of a directory gone finds it: empty
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.fail(fmt.Errorf("stats %s: %w", dir, err)) // like Sweep: the walk goes on
		return nil
	}
	defer sd.close()
	// The marker's limits, read again every 64 entries as the sweep reads
	// them (limits): a census that runs longer than the max idle judges
	// the records saved after a raise by the raise.
	lim, limErr := c.limits(c.clock.now())
	// seen holds the record files of this shard counted so far, by record
	// name and inode: a sweep moving a record to the aside name and back
	// while the shard is listed makes the name it moves to new, and a
	// listing read in chunks may show the same file again under it. A
	// record aside and a newer one under its name are two files, each
	// counted. It also holds the sessions counted by name: a session
	// counted under its name is not counted again for a newer file there.
	seen := &shardCounted{files: map[countedFile]struct{}{}, names: map[string]struct{}{}}
	visit := func(b []byte, typ fs.FileMode) {
		if limErr != nil {
			return
		}
		if n++; n%64 == 0 {
			if lim, limErr = c.limits(c.clock.now()); limErr != nil {
				return
			}
		}
		if !typ.IsRegular() {
			c.foreign.Add(1)
			return
		}
		name := string(b) // the listing's bytes are valid during the call only
		isRecord := inShard && isRecordName(name) && strings.HasPrefix(name, prefix)
		// A record a sweep left aside is a session to the next sweep
		// (see aside); elsewhere one is foreign (isTempName).
		if inShard && isAsideOf(name, prefix) {
			c.aside(&sd, dir, name, seen, lim)
			return
		}
		if !isRecord && !isTempName(name) {
			c.foreign.Add(1)
			return
		}
		if isRecord && c.cachedFirst {
			// Counted live on the attributes the client has cached, as
			// the sweep keeps it on them; anything else is counted
			// from a fresh stat below, as without the look.
			if st, live := c.s.cachedLive(sd, name, c.clock.now(), lim.liveFor); live {
				if seen.named(name, st.ino) {
					return
				}
				c.bytes.Add(st.size)
				c.live.Add(1)
				c.liveBytes.Add(st.size)
				c.expiry(st.mtime.Add(lim.maxIdle))
				return
			}
		}
		st, mtime, ok, gone := c.statGone(&sd, dir, name, !isRecord)
		if !ok {
			if isRecord && gone {
				// Gone since the listing: deleted, or held aside by a
				// sweep this instant, or moved to a locked Delete's
				// aside name (left there if its lock was lost), whose
				// aside name this listing may have passed already.
				// Counted there, as the next sweep settles it, as a
				// Load finds it (readMovedAside): the sweep's, then
				// the Delete's.
				if !c.asideOf(&sd, dir, asideName(name), seen, true, lim) {
					c.asideOf(&sd, dir, deleteAsideName(name), seen, true, lim)
				}
			}
			return
		}
		if !isRecord {
			c.bytes.Add(st.size)
			c.temps.Add(1)
			c.tempBytes.Add(st.size)
			if c.clock.now().Sub(mtime) >= c.opts.TempAge {
				c.staleTemps.Add(1)
			}
			return
		}
		if !seen.named(name, st.ino) {
			c.record(st, mtime, lim)
		}
	}
	buf := c.listBuf()
	err = c.fs.forEachShardName(ctx, sd, *buf, visit)
	c.bufs.Put(buf)
	if h := c.s.testHooks.relisted; h != nil && err == nil {
		for _, e := range h(dir) {
			visit([]byte(e.Name()), e.Type())
		}
	}
	if err == nil && limErr != nil {
		err = limErr
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.fail(fmt.Errorf("stats %s: %w", dir, err)) // like Sweep: the walk goes on
		return nil
	}
	c.shards.Add(1)
	storeMin(&c.minShard, n)
	storeMax(&c.maxShard, n)
	return nil
}

// record counts a record file under its name, whose attributes are st,
// by its mtime as the sweep judges it, by the limits lim.
func (c *statsCounter) record(st fileStat, mtime time.Time, lim sweepLimits) {
	age := c.clock.now().Sub(mtime)
	if age > lim.liveFor && !sizeOfRecord(st.size) {
		c.foreign.Add(1) // the sweep keeps it: too short to be a record
		return
	}
	c.bytes.Add(st.size)
	if age > lim.liveFor || oversize(st) && age > c.opts.Grace {
		c.expired.Add(1)
		c.expiredBytes.Add(st.size)
	} else {
		c.live.Add(1)
		c.liveBytes.Add(st.size)
	}
	c.expiry(mtime.Add(lim.maxIdle))
}

// aside counts a record a sweep left aside (one that died midway) as the
// next sweep settles it (pending), by its header (asideLive): expired, it
// is removed; live, it is put back, unless its name holds a newer record,
// and then it is removed as a stale temp file, an older copy of a session
// the listing counts under its name. Unlike a record, whose mtime alone
// decides, it is read, and a live one's name looked up: such records are
// few, and a store without them pays nothing for this.
//
// seen tells whether the file, by its record's name and inode, was
// counted already (under the record's name, before a sweep moved it
// aside), and the session by its name. sd is dir, opened (see statGone).
//
// A sweep may have put the record back by the time it is looked at,
// after the listing passed its name: then the aside name is empty, or,
// halfway through the put-back, a second link to the record. Either way
// the record is counted under its name, once, as the listing would have.
// (fromName: called for a record gone from its name, whose aside name the
// listing may not show; the name is not looked at again.)
func (c *statsCounter) aside(sd *shardDir, dir, name string, seen *shardCounted, lim sweepLimits) {
	c.asideOf(sd, dir, name, seen, false, lim)
}

// asideOf is aside; found is false where the file aside was not there
// (fromName: the caller looks at the other aside name).
func (c *statsCounter) asideOf(sd *shardDir, dir, name string, seen *shardCounted, fromName bool, lim sweepLimits) (found bool) {
	p := filepath.Join(dir, name)
	recName, _ := cutAside(name)
	rec := filepath.Join(dir, recName)
	b, st, err := c.s.readHeader(p)
	if errors.Is(err, fs.ErrNotExist) && !fromName {
		c.back(sd, dir, recName, seen, lim)
		return true
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			// Past any session's life, the sweep removes it unread
			// (unreadableExpired): the expired session, or a stale
			// temp file beside another copy, counted at its own turn.
			if ust, ok := c.unreadableExpired(p, err, lim); ok {
				if !seen.file(recName, ust.ino) {
					c.bytes.Add(ust.size)
					if c.unreadableBeside(dir, name, recName, lim) {
						c.temps.Add(1)
						c.staleTemps.Add(1)
						c.tempBytes.Add(ust.size)
					} else {
						c.expired.Add(1)
						c.expiredBytes.Add(ust.size)
					}
				}
				return true
			}
			c.fail(fmt.Errorf("stats %s: %w", p, err))
			return true
		}
		return false
	}
	if seen.file(recName, st.ino) {
		return true
	}
	_, _, cmp, err := c.s.asideRival(dir, name, recName, b, st)
	if err != nil {
		// As the sweep, which leaves both copies while it cannot tell
		// which is the session: counted from this one, perhaps the
		// older, the session was live while Loads report the error.
		// Unless the other is past any session's life, the older
		// (see settleAside).
		if _, ok := c.unreadableExpired(filepath.Join(dir, otherAside(name, recName)), err, lim); !ok {
			c.fail(fmt.Errorf("stats %s: %w", rec, err))
			return true
		}
		cmp = -1
	}
	if cmp > 0 {
		// The other aside name holds a newer copy: the session, counted
		// there, live or expired. The sweep removes this one as a temp
		// file (see asideRival).
		c.bytes.Add(st.size)
		c.temps.Add(1)
		c.staleTemps.Add(1)
		c.tempBytes.Add(st.size)
		return true
	}
	if !asideLive(b, st, c.clock.now(), c.opts.Grace, c.opts.TempAge) {
		c.bytes.Add(st.size)
		c.expired.Add(1)
		c.expiredBytes.Add(st.size)
		c.expiry(st.mtime.Add(lim.maxIdle))
		return true
	}
	named, taken, err := c.s.nameStat(rec)
	if err != nil {
		c.fail(fmt.Errorf("stats %s: %w", rec, err))
		return true
	}
	if taken && named.sameFile(st) {
		// Linked back, not yet unlinked from the aside name: the record
		// under its name, counted as such (seen noted its inode).
		if !seen.name(recName) {
			c.record(named, named.mtime, lim)
		}
		return true
	}
	if !taken && seen.name(recName) {
		return true // counted under its name already, by another file
	}
	c.bytes.Add(st.size)
	if taken {
		// The sweep removes it as a temp file (see superseded).
		c.temps.Add(1)
		c.staleTemps.Add(1)
		c.tempBytes.Add(st.size)
		return true
	}
	c.live.Add(1)
	c.liveBytes.Add(st.size)
	c.restorable.Add(1)
	c.expiry(st.mtime.Add(lim.maxIdle))
	return true
}

// unreadableBeside reports whether the sweep removes the unreadable copy
// aside name of record recName in dir, past any session's life, as a
// stale temp file beside the copy under the other aside name, which is
// then counted as the session: where there is one, unless name is the
// Delete's and the sweep's copy is unreadable and past that life too. The
// sweep settles the sweep's copy first (settleAside), which goes as the
// temp file beside this one, and this one then alone, as the expired
// session; counted each as the temp file beside the other, the session
// was missing from the count.
func (c *statsCounter) unreadableBeside(dir, name, recName string, lim sweepLimits) bool {
	other := filepath.Join(dir, otherAside(name, recName))
	if _, err := c.s.root.lstat(other); err != nil {
		return false
	}
	if !strings.HasPrefix(name, deleteAsidePrefix) {
		return true
	}
	_, _, err := c.s.readHeader(other)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return err == nil
	}
	_, past := c.unreadableExpired(other, err, lim)
	return !past
}

// unreadableExpired is the sweep's unreadableExpired for stats, by the
// limits lim: the attributes of the copy aside at p, whose header could
// not be read (rerr, unreadableForGood), when it is past any session's life.
func (c *statsCounter) unreadableExpired(p string, rerr error, lim sweepLimits) (fileStat, bool) {
	if !unreadableForGood(rerr) {
		return fileStat{}, false
	}
	st, err := c.s.root.lstat(p)
	if err != nil || st.typ != 0 {
		return fileStat{}, false
	}
	return st, ageOf(c.clock.now(), st.mtime) > lim.expireAfter
}

// back counts the record rec in dir (opened: sd), found back under its
// name after the listing passed it (see aside), unless it was counted
// already: as the same file, or as another under its name. A sweep may
// have removed the aside copy as superseded by a save, whose new file the
// name then holds: counted by file alone, the session counted twice.
func (c *statsCounter) back(sd *shardDir, dir, rec string, seen *shardCounted, lim sweepLimits) {
	st, mtime, ok, _ := c.statGone(sd, dir, rec, false)
	if ok && !seen.named(rec, st.ino) {
		c.record(st, mtime, lim)
	}
}

func (c *statsCounter) expiry(t time.Time) {
	c.mu.Lock()
	if c.oldest.IsZero() || t.Before(c.oldest) {
		c.oldest = t
	}
	if t.After(c.newest) {
		c.newest = t
	}
	c.mu.Unlock()
}

// locks counts stripe lock files and lease files, judging leases as Sweep
// does. Dot files are the lock directory's own (probes, the fleet lock).
// Like a shard, the directory is opened once, readable, to be listed and
// to look at each file in: it holds a file per lock stripe in use, up to
// the store's stripes. It was opened twice, once to look in and once
// more to list (an openat2 each, and on NFS a GETATTR by close-to-open
// for the listing's).
func (c *statsCounter) locks(ctx context.Context, dir string, ttl time.Duration) error {
	if ttl == 0 {
		ttl = 15 * time.Second
	}
	ld, err := c.fs.openShardToList(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // as a listing of a directory gone finds it: empty
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer ld.close()
	// The lock package's look at the claims to judge goes through ld's
	// descriptor (see sweeper.locks).
	leases := ld.leaseDir()
	defer leases.Close()
	buf := c.listBuf()
	defer c.bufs.Put(buf)
	return c.fs.forEachShardName(ctx, ld, *buf, func(b []byte, typ fs.FileMode) {
		name := string(b) // the listing's bytes are valid during the call only
		if strings.HasPrefix(name, ".") {
			switch {
			case lockDotOwn(name):
			case lockDotTemp(name, typ):
				c.temp(&ld, dir, name)
			default:
				c.foreign.Add(1)
			}
			return
		}
		if err := lockNameTaken(dir, name, typ); err != nil {
			c.fail(err)
			return
		}
		if foreignInLocks(name, typ) {
			c.foreign.Add(1)
			return
		}
		_, broken, isLease := lock.IsLeaseFile(name)
		size, age, ok := c.stat(&ld, dir, name, false)
		if !ok {
			return
		}
		c.bytes.Add(size)
		if !isLease {
			c.lockFiles.Add(1)
			return
		}
		c.leases.Add(1)
		if broken && age >= c.opts.TempAge || !broken && age >= ttl {
			if inUse, _ := leases.LeftoverInUse(name); !inUse {
				c.staleLeases.Add(1)
			}
		}
	})
}

// The sweep and Stats count the same files as foreign (not taken for the
// store's, never removed): these rules, one per kind of directory, and
// in the shard directories anything that is not a regular file named like
// a record or a temp file.

// shardPrefix returns the hex digits the record names in shard directory
// dir start with, and whether dir is the leaf shard those digits select.
func shardPrefix(dataDir, dir string, depth int) (string, bool) {
	prefix := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(dir, dataDir), string(filepath.Separator)), string(filepath.Separator), "")
	return prefix, len(prefix) == 2*depth && shardPath(dataDir, prefix+strings.Repeat("0", 32-len(prefix)), depth) == dir
}

// foreignAtRoot reports whether an entry of the store directory is not the
// store's: anything but the marker, the data and lock directories and temp
// files (a crashed Open's or Sweep's).
func foreignAtRoot(e fs.DirEntry) bool {
	switch e.Name() {
	case MarkerFile, DataDir, LockDir:
		return false
	}
	if e.Type().IsRegular() && isKeyFile(e.Name()) {
		return false // keyring.checkKeys's
	}
	return !isTemp(e)
}

// lockDotOwn reports whether a dot file of the lock directory is one the
// store or sessgc keeps there for good: probes, the strategy, fleet locks.
func lockDotOwn(name string) bool {
	switch name {
	case ".probe", lock.StrategyFile, ".sessgc", ".sessgc-rekey":
		return true
	}
	return false
}

// lockDotTemp reports whether a dot file of the lock directory is a
// temporary file of the lock package (a strategy being recorded, a lease
// probe), which a process that died at the wrong moment leaves behind.
func lockDotTemp(n string, typ fs.FileMode) bool {
	return typ.IsRegular() && (strings.HasPrefix(n, lock.StrategyFile+"-") && strings.HasSuffix(n, ".tmp") ||
		strings.HasPrefix(n, ".probe-") && strings.HasSuffix(n, ".lease"))
}

// tempTime is the time a temp file's age counts from: its mtime, or the
// later of its mtime and its ctime for a file whose mtime does not date
// it. A rekey sets its fenced temp file's (.locked) mtime back to the
// record's last activity before the rename (the utimes moves the ctime to
// now), and an exclusive create on NFS, which makes fenced temp files,
// lease probes and strategy records, holds the client's verifier in the
// times until the SETATTR that follows. Other temp files are dated by
// their mtime alone: nothing sets it back.
func tempTime(name string, st fileStat) time.Time {
	excl := strings.HasSuffix(name, ".locked") || strings.HasPrefix(name, ".probe-") || strings.HasPrefix(name, lock.StrategyFile+"-")
	if excl && st.ctime.After(st.mtime) {
		return st.ctime
	}
	return st.mtime
}

// foreignInLocks reports whether an entry of the lock directory is not the
// store's. Dot files are the lock directory's own (probes, the fleet lock)
// and are not passed here.
func foreignInLocks(name string, typ fs.FileMode) bool {
	if !typ.IsRegular() {
		return true
	}
	_, _, isLease := lock.IsLeaseFile(name)
	return !isLease && !isStripeName(name) && !storeLockName(name) && !fleetLockName(name)
}

// storeLockName reports whether name is the file of one of the store's
// own locks other than the stripes': the marker's, the sweep's, the
// rekey's.
func storeLockName(name string) bool {
	return name == markerLock || name == sweepLock || name == rekeyLock
}

// fleetLockName reports whether name is the file of a fleet lock sessgc
// takes through the store (TryLockFleet) on a flock strategy; on the lease
// strategy only its lease file is made, which IsLeaseFile knows.
func fleetLockName(name string) bool { return name == "sessgc" || name == "sessgc-rekey" }

// isTemp reports whether an entry is a temp file.
func isTemp(e fs.DirEntry) bool { return e.Type().IsRegular() && isTempName(e.Name()) }

// isTempName reports whether name is a temp file's. A record held aside by
// a sweep or a locked Delete (cutAside) is a session, not a temp file: its own shard's
// pass settles it, and anywhere else it was put by something other than
// this store (a store made inside another, whose top is the outer one's
// shard), which removing it as stale would cost a session.
func isTempName(name string) bool {
	if _, ok := cutAside(name); ok {
		return false
	}
	return strings.HasPrefix(name, tempPrefix)
}

// isStripeName reports whether name has the form stripeName produces.
func isStripeName(name string) bool {
	return len(name) == 4 && isRecordName(name+"0000000000000000000000000000")
}

func storeMin(v *atomic.Int64, n int64) {
	for {
		cur := v.Load()
		if cur >= 0 && cur <= n || v.CompareAndSwap(cur, n) {
			return
		}
	}
}

func storeMax(v *atomic.Int64, n int64) {
	for {
		cur := v.Load()
		if cur >= n || v.CompareAndSwap(cur, n) {
			return
		}
	}
}
