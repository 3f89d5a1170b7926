package fsstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/internal/record"
)

// Record is a live session met by Range. File names are one-way hashes of
// session IDs, so the store cannot say whose session it is: its embedded
// Session has an empty ID, and IsFor checks a claimed ID (for example one
// the application keeps inside the payload, as the scs adapter does).
type Record struct {
	Session
	name string
	bind [8]byte
}

// IsFor reports whether the record is the one stored for id: the record's
// file name is derived from id and its header is bound to id. Callers
// must check it before trusting an ID read from the payload.
func (r *Record) IsFor(id string) bool {
	return ValidID(id) == nil && deriveKey(id).name == r.name && record.Bind(id) == r.bind
}

// RangeStats counts what Range met.
type RangeStats struct {
	Scanned    int64 // record files examined
	Live       int64 // records passed to the callback
	Expired    int64 // expired records skipped (left for the sweep)
	Corrupt    int64 // damaged or forged records skipped (ErrCorrupt, ErrUnencrypted)
	UnknownKey int64 // records under a key that is not configured, skipped
	Errors     int64 // files that could not be read
}

// Range calls fn for every live session in the store, one record at a
// time from one goroutine (the store's, not the caller's: a panic in fn is
// raised again in Range's caller), until fn returns false. Records are
// decrypted; expired, damaged, forged (a plaintext record in an encrypted
// store) and undecryptable records are skipped and counted. Shard
// directories are streamed, so memory grows with the largest shard, not
// with the store: Range remembers the names of the shard it lists (a
// few dozen bytes each), so that it hands each session over at most once, also
// while a sweep moves its record aside or back. Range costs one read per
// record (on NFS, minutes for a million sessions) and takes no lock: a
// record saved while Range runs may be seen in its old or new state, never
// torn, and a session created while Range runs, or whose record a sweep
// moves while Range lists its shard, may be missed.
//
// A store opened without keys (WithMaintenanceOnly) in an encrypted one
// can read no record: Range stops at the first encrypted record with an
// error matching ErrKeysRequired.
//
// Range stops with ctx's error when ctx ends, and with one matching
// ErrClosed when the store is closed meanwhile; the stats cover the records
// seen until then. On a bounded store (the default on NFS) it is a scan
// like Sweep: it fails at once while the circuit breaker is open or every
// slot is taken, and when a system call is still stuck the ceiling
// (WithOpTimeout) after ctx ended, it returns ErrUnavailable, with empty
// stats, and leaves the call to the background. fn is never called after
// Range returns, and time spent in it does not count against the ceiling;
// the scan's slot stays taken while fn runs, so a call of fn into the
// store takes another.
func (s *Store) Range(ctx context.Context, fn func(*Record) bool) (RangeStats, error) {
	if err := s.usable(ctx); err != nil {
		return RangeStats{}, err
	}
	if s.closed.Load() {
		return RangeStats{}, ErrClosed
	}
	// fn runs on the walk's goroutine, not the caller's, bounded store or
	// not, and a panic there would end the process where the caller's
	// recover (net/http's, a middleware's) cannot see it: it is caught
	// there and raised again here. On a bounded store the scan may also
	// outlive this call, stuck in the kernel: fn, the caller's, runs only
	// while the call waits for it.
	var (
		mu       sync.Mutex
		gone     bool
		inFn     atomic.Bool
		left     atomic.Int64 // when fn last returned (callerLeft; 0: never)
		panicked any
	)
	defer func() {
		mu.Lock()
		gone = true
		mu.Unlock()
	}()
	guarded := func(r *Record) (more bool) {
		mu.Lock()
		defer mu.Unlock()
		if gone || panicked != nil {
			return false
		}
		inFn.Store(true)
		defer func() {
			left.Store(callerLeft()) // before inFn: a reader seeing it false sees this
			inFn.Store(false)
			if p := recover(); p != nil {
				panicked, more = p, false
			}
		}()
		return fn(r)
	}
	caller := func() (bool, time.Duration) { return inFn.Load(), sinceCallerLeft(left.Load()) }
	var (
		st  RangeStats
		err error
	)
	if s.bnd == nil {
		st, err = s.rangeRecords(ctx, guarded)
	} else {
		st, err = boundScan(ctx, s, "range", caller, func(ctx context.Context) (RangeStats, error) { return s.rangeRecords(ctx, guarded) })
	}
	mu.Lock()
	p := panicked
	mu.Unlock()
	if p != nil {
		panic(p)
	}
	return st, descriptorsHint(err)
}

// rangeRecords is Range's scan.
func (s *Store) rangeRecords(ctx context.Context, fn func(*Record) bool) (RangeStats, error) {
	var st RangeStats
	walkCtx, stop := context.WithCancel(ctx)
	defer stop()
	stopped := false
	var keysErr, closedErr error
	// passed holds the records of the shard being listed that were
	// judged, by name: a sweep moving a record between its name and the
	// aside name while the shard is listed makes the name it moves to
	// new, and a listing read in chunks may show it again later (ext4
	// does when the name's hash lies ahead of the listing's position).
	passed := map[[16]byte]struct{}{}
	err := s.walkShards(walkCtx, 1, func(wctx context.Context, dir string) error {
		prefix, inShard := shardPrefix(s.dataDir, dir, s.layout.shardDepth)
		clear(passed)
		return s.root.forEachEntry(wctx, dir, func(e fs.DirEntry) {
			if stopped || !e.Type().IsRegular() || !inShard {
				return
			}
			if wctx.Err() != nil {
				stopped = true
				return
			}
			name, file := e.Name(), e.Name()
			var asideErr error
			if rec, ok := cutAside(name); ok {
				// Held aside by a sweep or a locked Delete (or left there by one that died):
				// still the session while its name is empty, as Load
				// finds it (readMovedAside).
				switch _, err := s.root.lstat(filepath.Join(dir, rec)); {
				case err == nil:
					return
				case !errors.Is(err, fs.ErrNotExist):
					// The name's own entry, if listed, reads it; if not,
					// the session is not skipped unsaid.
					asideErr = &fs.PathError{Op: "lstat", Path: rec, Err: err}
				default:
					// Both aside names may hold a copy: the newer is
					// the session (see readMovedAside), whichever the
					// listing showed first (the other is then passed).
					// A copy unreadable is an error: the other may be
					// the older.
					file, asideErr = s.asideToRead(dir, rec)
				}
				name = rec
			}
			if !isRecordName(name) || !strings.HasPrefix(name, prefix) {
				return
			}
			var rec [16]byte
			hex.Decode(rec[:], []byte(name))
			if _, ok := passed[rec]; ok {
				return
			}
			st.Scanned++
			var r *Record
			err := asideErr
			if err == nil {
				r, err = s.readRecordAt(dir, file, name)
			}
			if !errors.Is(err, ErrNotFound) {
				passed[rec] = struct{}{}
			}
			switch {
			case err == nil:
				st.Live++
				if !fn(r) {
					stopped = true
					stop()
				}
			case errors.Is(err, ErrExpired):
				st.Expired++
			case errors.Is(err, ErrNotFound):
				st.Scanned-- // removed since the listing: not there
			case errors.Is(err, ErrKeysRequired):
				// A keyless store in an encrypted one reads none.
				keysErr, stopped = err, true
				stop()
			case errors.Is(err, ErrUnknownKey):
				st.UnknownKey++
			case errors.Is(err, ErrCorrupt):
				st.Corrupt++
			case errors.Is(err, ErrClosed):
				// The store closed under the scan: every record left
				// would fail alike, and none of them is the error. Not
				// read, this one is not counted, as Rekey leaves one
				// the close cut out of Scanned: Scanned stays the sum
				// of the outcomes.
				st.Scanned--
				closedErr, stopped = err, true
				stop()
			default:
				st.Errors++
				s.cfg.logger.Warn("range: record skipped", "file", e.Name(), "err", err)
			}
		})
	})
	switch {
	case closedErr != nil:
		err = closedErr
	case stopped && ctx.Err() == nil:
		err = keysErr
	}
	if errors.Is(err, ErrClosed) {
		return st, stoppedByClose("range", err)
	}
	if err != nil {
		return st, fmt.Errorf("fsstore: range: %w", err)
	}
	return st, nil
}

// readRecordAt reads, checks and decrypts the record name stored in file
// (its name, or the sweep's aside name) for Range.
func (s *Store) readRecordAt(dir, file, name string) (*Record, error) {
	p := filepath.Join(dir, file)
	b, fst, err := s.root.readFile(p, maxRecordFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, s.readError(p, err)
	}
	h, pl, err := record.Split(b)
	if err == nil && (h.Flags&record.FlagEncrypted == 0 || s.keys.Load() == nil) {
		err = record.VerifyChecksum(b)
	}
	if err != nil {
		return nil, err
	}
	if s.expired(fst, &h) {
		return nil, ErrExpired
	}
	if pl, err = s.unseal(&h, name, pl); err != nil {
		return nil, err
	}
	r := &Record{name: name, bind: h.Bind, Session: Session{
		Data:    pl,
		Created: time.Unix(0, h.Created),
		Expires: expiry(fst.mtime, h.Idle, h.Deadline),
		Version: h.Version,
		Idle:    time.Duration(h.Idle),
	}}
	if h.Deadline != 0 {
		r.Deadline = time.Unix(0, h.Deadline)
	}
	return r, nil
}
