package fsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/internal/record"
	"github.com/sessfs/sessfs/lock"
)

// RekeyOptions configures Rekey.
type RekeyOptions struct {
	// Rate caps records rewritten per second (0: no cap).
	Rate float64
	// Concurrency is the number of shard directories walked at once
	// (default 1, at most 64), fewer under a low open-file limit (see
	// SweepOptions.Concurrency).
	Concurrency int
	// Grace is how long after its expiry by the file server's clock a
	// record is still rekeyed (default 1 minute, as SweepOptions.Grace):
	// give the sweep's. The sweep keeps such a record, and an application
	// host whose clock is behind the server's by less still serves it and
	// touches it back to life, under the key it was left under.
	Grace time.Duration
	// OnError, if set, is called for every record that could not be
	// rewritten, or was rewritten but not made durable (ErrInDoubt), and
	// for every shard directory that could not be listed; the pass goes
	// on. The records under a key that a file the pass may not read
	// leaves (ErrKeyOrderUnreadable) are reported once, with the first,
	// and counted each. With Concurrency > 1 it is called from several
	// goroutines at once.
	OnError func(error)
	// Progress, if set, is where the pass counts as it goes, so that the
	// counts can be read before Rekey returns: by a caller that gives up
	// on a pass stuck in a call to a file server that does not answer,
	// which may never return, and still reports what it rewrote. Give
	// each pass its own.
	Progress *RekeyProgress
}

// RekeyProgress holds a running Rekey pass's counts (see
// RekeyOptions.Progress). Its zero value is ready to use.
type RekeyProgress struct {
	scanned, rekeyed, upToDate, plain, expired, errs atomic.Int64
}

// Stats returns the counts so far, each record counted as it is done;
// Duration is left zero. It may be called from any goroutine at any time.
func (p *RekeyProgress) Stats() RekeyStats {
	return RekeyStats{Scanned: p.scanned.Load(), Rekeyed: p.rekeyed.Load(), UpToDate: p.upToDate.Load(),
		Plaintext: p.plain.Load(), Expired: p.expired.Load(), Errors: p.errs.Load()}
}

// RekeyStats summarizes a Rekey pass.
type RekeyStats struct {
	Scanned  int64 // records examined
	Rekeyed  int64 // records rewritten under the newest key
	UpToDate int64 // records already under the newest key
	// Plaintext counts the plaintext records among Rekeyed (only with
	// WithPlaintextMigration; otherwise they are errors).
	Plaintext int64
	// Expired counts expired records, left alone for the sweep whatever
	// their key: they never load again, so they do not hold a key back.
	// Expired is by the file server's clock, by more than
	// RekeyOptions.Grace: a record expired less than that ago is rekeyed
	// where the key set opens it, since a host whose clock is behind
	// still serves it.
	Expired  int64
	Errors   int64
	Duration time.Duration
}

// Rekey rewrites every live record that is not encrypted with the newest
// key under the newest key, for key rotation. Plaintext records are
// encrypted only when the store was opened WithPlaintextMigration (the
// end of a migration to encryption); otherwise they are errors
// (ErrUnencrypted), never laundered into valid encrypted records. A pass
// that encrypted some logs a warning, at its end, naming a few: nothing
// tells a record left from before the migration from one forged in clear
// text since, which encrypting it made valid.
// Expired records are skipped (by more than RekeyOptions.Grace: see
// RekeyStats.Expired), judged by the file server's clock: where it cannot
// be read, the pass is refused (ErrNoServerClock), as a sweep is. A record under a key that became the
// application hosts' newest key after the newest key of this key set did
// (by the order the hosts record in the store, or, for keys without that
// record, by the key check files' times) is not moved back under it
// (ErrKeyRollback): this key set is older than the hosts'. Where the
// pass may not read a file that order takes (ErrKeyOrderUnreadable), it
// leaves every record under that key.
// Each record is rewritten under its lock with the same version, times and
// payload, and keeps its mtime (its last activity), so rekeying neither
// extends nor shortens any session. Requests may go on meanwhile: a record
// that one saves, touches or deletes between the rekey's read and its
// rename (checked right before the rename) is left as the request left it,
// and read again. A record that a sweep moves aside or back while the
// pass lists its shard is counted once, and rekeyed by its name wherever
// the listing shows it (under its name or aside): the pass remembers the
// records of the shard it lists by name (a few dozen bytes each), as Range
// does. A live one that a running sweep holds aside under an old key is
// rekeyed once that sweep has ended (the pass waits for it up to a minute,
// then reports an error saying it still runs), and so is one expired, or
// within a minute of its expiry, that a running sweep may remove without
// the session's lock; one a sweep left aside (it died) is an error until
// a sweep puts it back. The pass is resumable: an
// interrupted pass leaves every record either old or new, and the next pass
// skips the records already converted. A Close of the store during the
// pass ends it with an error matching ErrClosed, as for Sweep; a file
// system that turns read-only on this host during the pass ends it at the
// first rewrite it refuses, as for Sweep. One pass
// at a time runs: a Rekey while another of the store's runs, in any
// process on any host, returns an error matching ErrRekeyRunning at
// once, having rewritten nothing.
//
// On a bounded store it is bounded as Sweep is. A panic in OnError is
// raised again in Rekey's caller, and OnError is never called after Rekey
// returned, as Sweep does.
func (s *Store) Rekey(ctx context.Context, opts RekeyOptions) (RekeyStats, error) {
	if err := s.usable(ctx); err != nil {
		return RekeyStats{}, err
	}
	if s.closed.Load() {
		// Before the complaints about the configuration below: the
		// fix for a closed store is to stop using it, not to give it
		// keys.
		return RekeyStats{}, ErrClosed
	}
	if err := s.refuseWrite("rekey"); err != nil {
		return RekeyStats{}, err
	}
	return guardedScan(ctx, s, "rekey", func(ctx context.Context, cb *callbackGuard) (RekeyStats, error) { return s.rekey(ctx, opts, cb) })
}

func (s *Store) rekey(ctx context.Context, opts RekeyOptions, cb *callbackGuard) (RekeyStats, error) {
	start := time.Now()
	// A panic in OnError ends the pass as ctx's end would.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if f := opts.OnError; f != nil {
		opts.OnError = func(err error) { cb.call(func() { f(descriptorsHint(err)) }, cancel) }
	}
	if s.keys.Load() == nil {
		return RekeyStats{}, errors.New("fsstore: rekey: no keys configured (WithKeys)")
	}
	if err := s.checkMarkedEncrypted(ctx); err != nil {
		return RekeyStats{}, fmt.Errorf("fsstore: rekey: %w; nothing was rewritten", err)
	}
	if s.full != nil {
		// Every rewrite would fail for want of space, each counted as
		// an error: the store is unusable for a rekey as a whole.
		return RekeyStats{}, fmt.Errorf("fsstore: rekey: %w; nothing was rewritten", s.full)
	}
	// A maintenance store (sessgc) rewrites records only under a key that
	// an application host vouched for, migrating plaintext or not.
	var guard *deployedGuard
	if s.cfg.maintenanceOnly {
		guard = &deployedGuard{dir: s.dir}
		if err := guard.check(s.keys.Load()); err != nil {
			return RekeyStats{}, fmt.Errorf("fsstore: rekey: %w; nothing was rewritten", err)
		}
	}
	order := &rollbackGuard{dir: s.dir, logger: s.cfg.logger, lstat: s.testHooks.keyCheckLstat}
	if opts.Concurrency == 0 {
		opts.Concurrency = 1
	}
	switch {
	case opts.Concurrency < 1 || opts.Concurrency > 64:
		return RekeyStats{}, fmt.Errorf("fsstore: rekey: RekeyOptions.Concurrency %d is outside 1..64; 0 selects 1", opts.Concurrency)
	case opts.Rate < 0 || math.IsNaN(opts.Rate):
		return RekeyStats{}, fmt.Errorf("fsstore: rekey: RekeyOptions.Rate %v is negative or not a number", opts.Rate)
	case opts.Grace == 0:
		opts.Grace = time.Minute
	case opts.Grace < 0:
		return RekeyStats{}, fmt.Errorf("fsstore: rekey: RekeyOptions.Grace %v is negative; 0 selects the default", opts.Grace)
	}
	// One pass at a time: a second rewrites nothing the first does not,
	// and ran alongside it, each failing the records near their expiry
	// that met the sweep lock the other held for its own, as if a sweep
	// ran (TestRekeyWhileAnotherProcessRekeys). Tried, never waited for:
	// it is above every lock a rekey takes.
	held, err := s.locks.TryLock(rekeyLock, rekeyLock, lock.Exclusive)
	if errors.Is(err, lock.ErrLocked) {
		// A lease outlives a holder that died: say so, or an operator
		// looks for a rekey that is not running.
		dead := ""
		if s.locks.Strategy() == lock.Lease {
			dead = fmt.Sprintf(", or one killed or whose host was lost holds its lease %s until its lease expires (the lease strategy: a lease TTL after its last renewal)",
				filepath.Join(s.dir, LockDir, rekeyLock+".lease"))
		}
		return RekeyStats{}, fmt.Errorf("fsstore: rekey: %w (it holds the lock %q in %s%s): nothing was rewritten; that pass rewrites what this one would, and a pass after it has ended finds anything left",
			ErrRekeyRunning, rekeyLock, filepath.Join(s.dir, LockDir), dead)
	}
	if err := closedLock(err); errors.Is(err, ErrClosed) {
		return RekeyStats{}, stoppedByClose("rekey", fmt.Errorf("rekey lock: %w", err))
	} else if err != nil {
		return RekeyStats{}, fmt.Errorf("fsstore: rekey: rekey lock: %w; nothing was rewritten", err)
	}
	defer s.unlockLogged(held, "rekey", "")
	var lim *limiter
	if opts.Rate > 0 {
		lim = newLimiter(opts.Rate, s.closing)
	}
	// Expiry is judged by the file server's clock, which stamps the
	// records' mtimes, as the sweep judges it (see rekeyDone).
	// Without it, no pass, as no sweep (TestRekeyWithoutServerClock): by
	// this host's clock, one ahead left live records under the old key
	// as expired, whose retirement logged their users out, and one behind
	// rewrote records the sweep may remove by their mtime alone, without
	// the sweep lock, bringing back what it reported removed.
	clock := serverClock{fake: s.cfg.now}
	if !s.cfg.fakeClock {
		if clock, err = newServerClock(s.dir); err != nil {
			return RekeyStats{}, fmt.Errorf("fsstore: rekey: %w; nothing was rewritten: a rekey judges which records have expired by that clock, as the sweep does; give the user it runs as write access to %s, as to the shards", err, s.dir)
		}
	}
	rc := rekeyClock{clock, opts.Grace, new(atomic.Bool)}
	c := opts.Progress
	if c == nil {
		c = new(RekeyProgress)
	}
	scanned, rekeyed, upToDate, plain, expired, errs := &c.scanned, &c.rekeyed, &c.upToDate, &c.plain, &c.expired, &c.errs
	closed := scanClosed{stop: cancel}
	readOnly := s.scanReadOnly(cancel, false)
	failing := scanFailing{stop: cancel, limit: s.testHooks.failingRun}
	var madePlain plainRecords
	// fail counts err, unless the store's close or an earlier refusal
	// of the read-only file system ended the pass: then what failed is
	// left for the next pass, and the caller uncounts it from Scanned,
	// which stays the sum of the outcomes (counted false).
	//
	// err is unprefixed: the pass's own error, which wraps the refusal
	// that stopped it (or the close's error), says "fsstore: rekey:"
	// once, as each error passed to OnError does.
	//
	// d is the shard directory's stop-rule state (scanFailing), nil for a
	// directory above the shards.
	fail := func(d *dirIO, err error) (counted bool) {
		if closed.end(err) {
			return false
		}
		if readOnly.end(err) || failing.end(d, err) {
			return false
		}
		err = fmt.Errorf("fsstore: rekey: %w", err)
		errs.Add(1)
		if errors.Is(err, errKeyOrderReported) {
			// Reported with the first record under its key (see
			// rollbackGuard.check): the same error for each would bury
			// it and whatever else failed.
			return true
		}
		s.cfg.logger.Warn("rekey: record failed", "err", err)
		if opts.OnError != nil {
			opts.OnError(err)
		}
		return true
	}
	// A shard directory that cannot be listed is one failure, as a record
	// that cannot be rewritten is: one unreadable directory is not an
	// unusable store, and the pass goes on with the others. It counts as
	// scanned too, so that Scanned stays the sum of the outcomes.
	// d is the shard's stop-rule state, nil for a directory above them.
	dirFailedIn := func(d *dirIO, dir string, err error) error {
		if closed.end(err) {
			return nil
		}
		if d != nil {
			d.listing = ioFailure(err)
		}
		scanned.Add(1)
		if !fail(d, fmt.Errorf("%s: %w", dir, err)) {
			scanned.Add(-1)
		}
		return nil
	}
	dirFailed := func(dir string, err error) error { return dirFailedIn(nil, dir, err) }
	err = s.walkShardsBetween(ctx, opts.Concurrency, func(ctx context.Context, dir string) error {
		// passed holds the records of this shard counted so far, by
		// name: a sweep moving a record to the aside name and back while
		// the shard is listed makes the name it moves to new, and a
		// listing read in chunks may show it again (as Range's passed).
		// By name, not by file: a record is its session's, whose ID the
		// name derives from and the sealed record is bound to, and it
		// is read by its name whatever file holds it; its file changes
		// with every save, and with the rekey's own rewrite.
		passed := map[string]struct{}{}
		// This worker's alone: the shard is scanned by it from start to end.
		var shard dirIO
		defer failing.endDir(ctx, &shard)
		visit := func(e fs.DirEntry) {
			if !e.Type().IsRegular() || ctx.Err() != nil {
				return
			}
			// A record aside (.tmp-gc-<name>, or a locked Delete's
			// .tmp-gd-<name>) is a sighting of the record itself: a sweep
			// or a Delete holds it there this instant, or left it there
			// (it died, or could not put it back), and the listing
			// may have passed its name while it was away. It is rekeyed
			// by its name, as one listed there, wherever it is by then:
			// back under its name (rewritten), still aside (read there,
			// see rekeyGone), or gone.
			name, ok := cutAside(e.Name())
			if !ok {
				name = e.Name()
			}
			if !isRecordName(name) {
				return
			}
			if _, ok := passed[name]; ok {
				return
			}
			passed[name] = struct{}{}
			scanned.Add(1)
			if h := s.testHooks.rekeyListed; h != nil {
				h(name)
			}
			res, err := s.rekeyOne(ctx, dir, name, lim, guard, order, rc)
			// A record a request changed meanwhile is read again: a
			// touch leaves it under the old key. Deleted or saved, it is
			// gone or under the newest key then. One aside is read again
			// too: a sweep puts it back in an instant, unless it died.
			// One still aside is read once more after the sweep that
			// holds it has ended (awaitSweep).
			for try := 1; (res == rekeyRaced || res == rekeyAside || res == rekeySweeping) && err == nil; try++ {
				if try == rekeyTries {
					if res == rekeyAside || res == rekeySweeping {
						res, err = s.rekeyAfterSweep(ctx, dir, name, res, lim, guard, order, rc)
						break
					}
					err = fmt.Errorf("%s: %w %d times in a row; the next pass tries again", filepath.Join(dir, name), errRekeyRaced, try)
					break
				}
				res, err = s.rekeyOne(ctx, dir, name, lim, guard, order, rc)
			}
			switch {
			case err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
				scanned.Add(-1) // cut short, not failed: left for the next pass
			case err != nil && closed.end(err):
				scanned.Add(-1) // the store closed: left for the next pass
			case err != nil:
				// Every error names the record (rekeyOne), however deep
				// in the rewrite it arose. One more refusal of the
				// read-only file system that ended the pass is left for
				// the next, as one the close cut.
				if !fail(&shard, err) {
					scanned.Add(-1)
				}
			case res == rekeyedPlain:
				shard.ok()
				plain.Add(1)
				rekeyed.Add(1)
				madePlain.add(filepath.Join(dir, name))
			case res == rekeyedSealed:
				shard.ok()
				rekeyed.Add(1)
			case res == rekeyExpired:
				shard.ok()
				expired.Add(1)
			default:
				shard.ok()
				upToDate.Add(1)
			}
		}
		err := s.root.forEachEntry(ctx, dir, visit)
		if h := s.testHooks.relisted; h != nil && err == nil {
			for _, e := range h(dir) {
				visit(e)
			}
		}
		if err != nil && ctx.Err() == nil {
			return dirFailedIn(&shard, dir, err)
		}
		return err
	}, nil, dirFailed)
	err = failing.result(readOnly.result(closed.result(err), "rewrite"))
	st := c.Stats()
	st.Duration = time.Since(start)
	if n, some := madePlain.get(); n > 0 {
		// Nothing tells a record left from before the migration from
		// one forged in clear text since, which this made valid: said
		// once, at the end, where a migration's pass encrypts many.
		s.cfg.logger.Warn("rekey: encrypted plaintext records (WithPlaintextMigration): each was written in clear text; after the migration to encryption such a record is a forgery, or a host's without keys, and encrypting it made it a valid session; remove WithPlaintextMigration (sessgc rekey: --migrate-plaintext) once a migration's pass has ended with no errors",
			"records", n, "some", strings.Join(some, " "))
	}
	if errors.Is(err, ErrClosed) {
		return st, stoppedByClose("rekey", err)
	}
	if err != nil {
		return st, fmt.Errorf("fsstore: rekey: %w", err)
	}
	return st, nil
}

// stoppedByClose is the error of a scan (op: rekey, sweep, stats,
// range) that a Close of its store cut, err the error of the step it
// cut: said as what happened to the scan, since that step's own error
// ("sweep .../data/2f: sweep lock: store closed") reads as a failure of
// its own.
func stoppedByClose(op string, err error) error {
	what := map[string]string{
		"rekey": "the next pass rewrites what this one did not reach",
		"sweep": "the next sweep removes what this one did not reach",
		"stats": "its counts are of the part it reached",
		"range": "it did not reach every record",
	}[op]
	return fmt.Errorf("fsstore: %s stopped by the store's Close; %s (%w)", op, what, err)
}

// plainRecords counts the plaintext records a rekey encrypted, and keeps
// the paths of the first few, for its warning.
type plainRecords struct {
	mu    sync.Mutex
	n     int64
	paths []string
}

// plainRecordsNamed bounds the paths a rekey's warning names.
const plainRecordsNamed = 5

func (p *plainRecords) add(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if len(p.paths) < plainRecordsNamed {
		p.paths = append(p.paths, path)
	}
}

func (p *plainRecords) get() (int64, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n, p.paths
}

// rekeyResult is what rekeyOne did with a record.
type rekeyResult int

const (
	rekeyUpToDate rekeyResult = iota // already under the newest key, or gone
	rekeyedSealed                    // rewritten from an older key
	rekeyedPlain                     // rewritten from plaintext (migration)
	rekeyExpired                     // expired: left for the sweep
	rekeyRaced                       // changed by a request meanwhile: left as it is
	rekeyAside                       // live under an old key, aside (the sweep's or a locked Delete's aside name): left as it is
	rekeySweeping                    // expired or about to, while a sweep runs: left as it is until the sweep has ended
)

// rekeySweepMargin is how long before its expiry a record is rewritten
// under the sweep lock (see rekeyOne): a sweep that removes by mtime alone
// takes none of the session's, and what expires between the rekey's look
// and its rename, which a stalled file server may hold up for as long,
// would be within its reach otherwise.
const rekeySweepMargin = time.Minute

// rekeyLock names the lock, in the store's lock directory, that one Rekey
// pass at a time holds, from before its first record to its end.
const rekeyLock = "rekey"

// deployedGuard checks that the newest key of the key set a maintenance
// store's rekey or save seals a record with was vouched for by an
// application host.
// Checked once at the start of the pass, it would let a keys file reloaded
// meanwhile (WithKeysFile) make newest a key that no host has, and rewrite
// the rest of the pass under it: so each record's key set is checked, at
// the cost of one small read each time the newest key changes.
type deployedGuard struct {
	dir     string
	checked atomic.Uint32 // the newest key last found vouched for; 0: none
}

// check returns ErrKeyNotDeployed, or the key check's error, unless kr's
// newest key has a check file written with its secret.
func (g *deployedGuard) check(kr *keyring) error {
	if g == nil || kr.newest == g.checked.Load() {
		return nil
	}
	if err := kr.newestDeployed(g.dir); err != nil {
		return err
	}
	g.checked.Store(kr.newest)
	return nil
}

// rekeyOne rewrites one record if needed, under the newest key if guard
// (nil: no check) finds it deployed, and if order finds that the key it
// is sealed with did not reach the hosts after the newest one. Its errors
// name the record by its path: on a full or read-only disk the call that
// fails is about a temp or lock file, which says nothing to the operator.
func (s *Store) rekeyOne(ctx context.Context, dir, name string, lim *limiter, guard *deployedGuard, order *rollbackGuard, clock rekeyClock) (rekeyResult, error) {
	kr := s.keys.Load() // one key set for the whole record, even across a keys file reload
	p := filepath.Join(dir, name)
	limit := maxRecordFile
	b, st, err := s.root.readFile(p, limit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return s.rekeyGone(dir, name, clock)
		}
		return rekeyUpToDate, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	if h, _, err := record.DecodeHeader(b); err == nil {
		if res, done := s.rekeyDone(kr, st, &h, clock.now(), clock.grace); done {
			return res, nil
		}
	}
	if err := guard.check(kr); err != nil {
		return rekeyUpToDate, fmt.Errorf("%s: %w", p, err)
	}
	if lim != nil {
		if err := lim.wait(ctx); err != nil {
			return rekeyUpToDate, err
		}
	}
	hl, err := s.locks.Lock(ctx, stripeName(stripeOfName(name), s.layout.stripes), name, lock.Exclusive)
	if errors.Is(err, lock.ErrLockLost) {
		// Its stripe's lock, held here for another record, was found
		// lost: tried again once its holders let go.
		return rekeyRaced, nil
	}
	if err != nil {
		return rekeyUpToDate, fmt.Errorf("%s: lock: %w", p, closedLock(err))
	}
	defer s.unlockLogged(hl, "rekey", p)
	// Re-read under the lock: a request may have saved meanwhile.
	b, st, err = s.root.readFile(p, limit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return s.rekeyGone(dir, name, clock)
		}
		return rekeyUpToDate, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	// Where times cannot tell a newer save from this file (see unchanged
	// below), what it holds is kept to tell it: decryption opens the
	// payload in place.
	var read []byte
	if !st.identifiable() {
		read = bytes.Clone(b)
	}
	h, pl, err := record.Decode(b)
	if err != nil {
		return rekeyUpToDate, fmt.Errorf("%s: %w", p, err)
	}
	now := clock.now()
	if res, done := s.rekeyDone(kr, st, &h, now, clock.grace); done {
		return res, nil
	}
	if expiredAt(expiry(st.mtime, h.Idle, h.Deadline), now.Add(rekeySweepMargin)) {
		// A sweep removes a record idle for longer than the largest
		// idle timeout the marker ever held by its mtime alone, without
		// the session's lock: the rewrite of one the sweep moved aside
		// and unlinked after the look before the rename brought it back,
		// though the sweep reported it removed. Every removal of a sweep
		// holds the sweep lock, so the rewrite of a record that expired,
		// or may expire before its rename, holds it shared
		// (TestRekeyAndSweepAtOnce). Judged here, under the stripe's
		// lock, not before the wait for it, which a request holding the
		// session or Rate may make long: a record expired meanwhile was
		// rewritten without it (TestRekeyRecordExpiresWhileItWaits), and
		// one held while waiting kept every sweep waiting for as long
		// (TestRekeyWaitingForSessionLetsSweepsRun). The sweep lock is
		// above the stripe's in the lock order, so it is only tried; a
		// busy one leaves the record for after the sweep.
		hs, err := s.locks.TryLock(sweepLock, sweepLock, lock.Shared)
		if errors.Is(err, lock.ErrLocked) {
			return rekeySweeping, nil
		}
		if err != nil {
			return rekeyUpToDate, fmt.Errorf("%s: sweep lock: %w", p, closedLock(err))
		}
		defer s.unlockLogged(hs, "rekey", p)
	}
	res := rekeyedSealed
	if h.Flags&record.FlagEncrypted == 0 {
		res = rekeyedPlain
	} else if err := order.check(kr, h.KeyID); err != nil {
		return rekeyUpToDate, fmt.Errorf("%s: %w", p, err)
	}
	if pl, err = s.unsealWith(kr, &h, name, pl); err != nil {
		return rekeyUpToDate, fmt.Errorf("%s: %w", p, err)
	}
	h.Flags &^= record.FlagEncrypted
	h.KeyID = 0
	sealed := kr.seal(nil, &h, name, pl)
	if hk := s.testHooks.rekeyRead; hk != nil {
		hk(name)
	}
	// The lock keeps out locked writers only: Store.Save, Delete and
	// Touch take none (scs's and gorilla's stores use them). Publishing
	// the rewrite of what was read after one of them would bring back a
	// deleted session, lose a save, or undo a touch. So the record must
	// be the one read, right before the rename. (A Delete between that
	// look and the rename removes the fenced temp file, which fails a
	// rename after it, then the name, which removes a record renamed in
	// before: TestRenameAcrossDelete. A Save or Touch in that
	// instant is still undone.)
	unchanged := func() error {
		if err := hl.Verify(); err != nil {
			return err
		}
		s.refreshDir(p)
		now, err := s.root.statNow(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stat: %w", err) // the write names the record
		}
		if err != nil || !now.sameFile(st) || !now.mtime.Equal(st.mtime) {
			return errRekeyRaced
		}
		if !st.identifiable() {
			// Times too coarse to tell a newer save from the record
			// read (fileStat.identifiable): its bytes tell.
			again, _, err := s.root.readFile(p, limit)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("read: %w", err)
			}
			if err != nil || !bytes.Equal(again, read) {
				return errRekeyRaced
			}
		}
		if hk := s.testHooks.rekeyChecked; hk != nil {
			hk(name)
		}
		return nil
	}
	// Rekeying is not activity: the rewrite keeps the last-activity time.
	times := [2]time.Time{st.atime, st.mtime}
	werr := s.root.writeAtomicCheck(dir, name, record.Append(nil, &h, sealed), s.cfg.fileMode, s.cfg.dirMode, s.cfg.durability, false, unchanged, hl.Verify, &times)
	if errors.Is(werr, errRekeyRaced) || errors.Is(werr, errTempTaken) {
		// Written or removed meanwhile by a request: what it wrote is
		// under the newest key, and a record left under an old one (a
		// touch) is rewritten by the next pass.
		return rekeyRaced, nil
	}
	if werr != nil && !errors.Is(werr, errUnsynced) {
		return rekeyUpToDate, werr
	}
	if werr != nil {
		// Rewritten, its directory not synced: the record is in place.
		// It is reported (an error: it may not survive a crash), and the
		// next pass finds it up to date or rewrites it again.
		werr = fmt.Errorf("%w: %w", werr, ErrInDoubt)
	}
	if s.cache != nil {
		s.cache.drop(name)
	}
	return res, werr
}

// rollbackGuard keeps a rekey from undoing a rotation: it refuses to move
// a record off a key that became the newest key of the application hosts
// after the newest key of the rekey's key set did, by the order the hosts
// record in the store (recordNewest), which needs no clock. For a key
// without that record (a store whose hosts predate it), it judges by when
// each key first reached a host: when that host wrote its check file
// (checkKeys), by the file server's clock. It judges each key once per
// key set.
type rollbackGuard struct {
	dir    string
	logger *slog.Logger                      // a record not valid is logged, then judged by the check files
	lstat  func(string) (fs.FileInfo, error) // of the check files; nil: os.Lstat (tests fail it)

	mu    sync.Mutex
	kr    *keyring         // the key set judged; another one starts afresh
	later map[uint32]error // key ID: ErrKeyRollback, or nil
}

// keyRollbackSlack is how much later than the newest key's check file a
// key's must be for the guard, judging by the check files, to find that
// key newer: the first host opened with several keys writes their check
// files one after the other, in no particular order, within one Open.
const keyRollbackSlack = time.Minute

// check returns ErrKeyRollback if key id of kr became the hosts' newest
// key after kr's newest key did. A file that cannot be read fails the
// record at hand, and proves nothing (see judge); one it may not read
// (ErrKeyOrderUnreadable) would fail every record under the key the same
// way, so that error is kept for the key set's pass, and the records
// after the first are returned errKeyOrderReported, counted but not
// reported again.
func (g *rollbackGuard) check(kr *keyring, id uint32) error {
	if g == nil || id == kr.newest || kr.aeads[id] == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.kr != kr {
		g.kr, g.later = kr, make(map[uint32]error)
	}
	err, ok := g.later[id]
	if ok {
		return err
	}
	verdict, err := g.judge(kr, id)
	if errors.Is(err, ErrKeyOrderUnreadable) {
		g.later[id] = fmt.Errorf("%w: %w", errKeyOrderReported, err)
	}
	if err != nil {
		return err
	}
	g.later[id] = verdict
	return verdict
}

// judge is check's verdict on key id (nil or ErrKeyRollback), uncached,
// or the error of a record that could not be read (a transient EIO, a
// server that did not answer): no verdict, and not kept, so it fails the
// record at hand only and the next record under the key is judged again.
// A record this process may not read (EACCES, EPERM) is no verdict
// either, and ErrKeyOrderUnreadable: judged by the check files instead,
// as one not valid is, it could let a stale key set roll back what the
// record would refuse, where the fix is the operator's, at hand.
func (g *rollbackGuard) judge(kr *keyring, id uint32) (verdict, err error) {
	hint := fmt.Sprintf("left under key %d (update this keys file to the hosts' and run again; to move off key %d anyway, rotate to a new key, which every host then makes newest)", id, id)
	newestAt, err1 := keyBecameNewest(g.dir, kr.newest, kr.aeads[kr.newest])
	thisAt, err2 := keyBecameNewest(g.dir, id, kr.aeads[id])
	// No record, or one not valid (damaged, forged: left so by the hosts,
	// see recordNewest), is judged by the check files below; a record
	// that could not be read is no verdict.
	for i, err := range []error{err1, err2} {
		if errors.Is(err, fs.ErrPermission) {
			of := []uint32{kr.newest, id}[i]
			return nil, g.unreadable(kr, id, fmt.Sprintf("%s, the record of when key %d became the hosts' newest key", keyNewestPath(g.dir, of), of), keyCheckPath(g.dir, of), err)
		}
		if err != nil && !errors.Is(err, errNoKeyOrder) && !errors.Is(err, errBadKeyOrder) {
			return nil, fmt.Errorf("order of keys %d and %d: %w", kr.newest, id, err)
		}
		if errors.Is(err, errBadKeyOrder) && g.logger != nil {
			g.logger.Warn("fsstore: rekey: a record of the order keys became newest is not valid; judging by the key check files' times", "err", err)
		}
	}
	return g.judgeRead(kr, id, hint, newestAt, thisAt, err1, err2)
}

// judgeRead is judge's verdict from the records as read: err1 and err2
// are those of kr's newest key and of key id, nil or saying there is no
// valid record. Without both records it judges by the key check files,
// and a check file that could not be looked at (other than missing) is no
// verdict, as a record that could not be read is: taken for an allowance
// and kept, it let a stale key set roll back every record under the key
// for the rest of the pass.
func (g *rollbackGuard) judgeRead(kr *keyring, id uint32, hint string, newestAt, thisAt uint64, err1, err2 error) (verdict, err error) {
	if err1 == nil && err2 == nil {
		if thisAt < newestAt {
			return nil, nil
		}
		return fmt.Errorf("%w: key %d became the hosts' newest key after key %d did (number %d and %d of the order recorded in %s and %s), but this key set puts key %d first: it is older than the hosts' key set, and rewriting the record under key %d would undo their rotation; %s",
			ErrKeyRollback, id, kr.newest, thisAt, newestAt, keyNewestPath(g.dir, id), keyNewestPath(g.dir, kr.newest), kr.newest, kr.newest, hint), nil
	}
	// No order recorded for one of them: the check files' times.
	lstat := g.lstat
	if lstat == nil {
		lstat = os.Lstat
	}
	newest, err1 := lstat(keyCheckPath(g.dir, kr.newest))
	this, err2 := lstat(keyCheckPath(g.dir, id))
	for i, err := range []error{err1, err2} {
		if errors.Is(err, fs.ErrPermission) {
			of := []uint32{kr.newest, id}[i]
			return nil, g.unreadable(kr, id, fmt.Sprintf("%s, the check file of key %d, whose time orders the keys where the store has no record of the order", keyCheckPath(g.dir, of), of), keyCheckPath(g.dir, of), err)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("key check files of keys %d and %d: %w", kr.newest, id, err)
		}
	}
	if err1 != nil || err2 != nil || !this.ModTime().After(newest.ModTime().Add(keyRollbackSlack)) {
		return nil, nil
	}
	return fmt.Errorf("%w: key %d reached the hosts after key %d (%s is newer than %s, and the store has no record of the order in which the two became newest, which only hosts of this version keep), but this key set puts key %d first: most likely it is older than the hosts' key set, and rewriting the record under key %d would undo their rotation; %s (also if key %d was installed as a standby before key %d, or its check file re-created: the new key's order is then recorded)",
		ErrKeyRollback, id, kr.newest, keyCheckPath(g.dir, id), keyCheckPath(g.dir, kr.newest), kr.newest, kr.newest, hint, kr.newest, id), nil
}

// unreadable is the error of file, described by what (its name first),
// which the guard needs to judge key id and may not read (err): a
// permission that no later read changes, until the operator fixes it.
// like names a file with the owner and mode it should have.
func (g *rollbackGuard) unreadable(kr *keyring, id uint32, what, like string, err error) error {
	cause := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		cause = pe.Err
	}
	return fmt.Errorf("%s: %w (%w); without it the rekey cannot tell whether key %d became the hosts' newest key after key %d did, and leaves every record under key %d as it is, each an error, this one reported for all of them; give the user this rekey runs as read access to it, as to the store's other files (owner and mode as %s), and run again",
		what, ErrKeyOrderUnreadable, cause, id, kr.newest, id, like)
}

// errKeyOrderReported: a record left under its key by an ErrKeyOrderUnreadable
// that an earlier record under that key reported (see rollbackGuard.check).
var errKeyOrderReported = errors.New("left under its key, as reported for an earlier record")

// rekeyGone judges a record listed but not found under its name: deleted,
// or held aside by a sweep this instant (see readMovedAside), which puts a
// live one back, under its old key (perhaps already, since the look at
// its name: then it is read again, rekeyRaced), or by a sweep that died.
// Counted as up to date, such a record would let a pass report nothing
// left to do, and the old key be retired: it is to be read again
// (rekeyAside), unless it expired (left to the sweep, as under its name)
// or is under the newest key already.
func (s *Store) rekeyGone(dir, name string, clock rekeyClock) (rekeyResult, error) {
	p, aside := filepath.Join(dir, name), filepath.Join(dir, asideName(name))
	if h := s.testHooks.asideLook; h != nil {
		h(p)
	}
	b, st, err := s.readHeader(aside)
	if errors.Is(err, fs.ErrNotExist) {
		// A locked Delete's aside name: a Delete that found its lock
		// lost, or was killed there, leaves the record there for the
		// sweep to put back, under its old key.
		aside = filepath.Join(dir, deleteAsideName(name))
		b, st, err = s.readHeader(aside)
	} else if err == nil {
		// Both may hold a copy: the newer is the session, which the
		// sweep puts back (see readMovedAside), judged here; the older,
		// expired or under the newest key, said nothing of it. The
		// Delete's unreadable, which is the newer cannot be told: the
		// error, as for the sweep's (counted up to date from the older,
		// the newer under an old key let a pass report the key free).
		gd := filepath.Join(dir, deleteAsideName(name))
		switch db, dst, derr := s.readHeader(gd); {
		case derr == nil && newerCopy(db, dst, b, st):
			aside, b, st = gd, db, dst
		case derr != nil && !errors.Is(derr, fs.ErrNotExist):
			aside, err = gd, derr
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Deleted, or put back by the sweep since the look at its name
		// (the put-back takes no lock of the session): that name once
		// more, after a fresh look at the directory on NFS, whose client
		// would answer from the "no such file" it cached at the first
		// (see readMovedAside). Back, it is read again.
		s.refreshDir(p)
		switch _, err := s.root.lstat(p); {
		case err == nil:
			return rekeyRaced, nil
		case !errors.Is(err, fs.ErrNotExist):
			return rekeyUpToDate, &fs.PathError{Op: "stat", Path: p, Err: err}
		}
		return rekeyUpToDate, nil
	case err != nil:
		return rekeyUpToDate, fmt.Errorf("%s: %w", p, &fs.PathError{Op: "read", Path: filepath.Base(aside), Err: err})
	}
	if h, _, err := record.DecodeHeader(b); err == nil {
		if res, done := s.rekeyDone(s.keys.Load(), st, &h, clock.now(), clock.grace); done {
			return res, nil
		}
	}
	return rekeyAside, nil
}

// rekeyDone reports a record with header h and attributes st that needs
// no rewrite under kr: expired at now (left for the sweep), or under the
// newest key already. now is the pass's reading of the file server's
// clock, which stamped the record's mtime: judged by this host's, a rekey
// on a host whose clock ran an hour ahead took every session of a shorter
// idle timeout for expired and left it under the old key, whose
// retirement then logged its user out.
//
// A record expired by less than grace (RekeyOptions.Grace) is rewritten all the same, if
// kr may open it: an application host whose clock is behind the file
// server's still serves it, and its Touch keeps it live under the old
// key, whose retirement, after a pass that reported no error, then logged
// its user out.
func (s *Store) rekeyDone(kr *keyring, st fileStat, h *record.Header, now time.Time, grace time.Duration) (rekeyResult, bool) {
	exp := expiry(st.mtime, h.Idle, h.Deadline)
	sealed := h.Flags&record.FlagEncrypted != 0
	switch {
	case expiredAt(exp, now.Add(-grace)):
		return rekeyExpired, true
	case sealed && h.KeyID == kr.newest:
		return rekeyUpToDate, true
	case expiredAt(exp, now) && (sealed && kr.aeads[h.KeyID] == nil || !sealed && !s.cfg.plaintextMigration):
		// Expired by the server's clock, and none this pass could
		// rewrite: not counted as an error.
		return rekeyExpired, true
	}
	return rekeyUpToDate, false
}

// rekeyClock is the file server's clock, by which a rekey judges expiry,
// and the grace after expiry during which it still rekeys a record
// (RekeyOptions.Grace).
type rekeyClock struct {
	serverClock
	grace time.Duration
	// sweepOutlasted is set once a wait for a running sweep's end, by a
	// record expired or about to (rekeySweeping), ran out: the records
	// after it do not wait again, each a minute of a worker's, while a
	// long sweep runs, but fail at once.
	sweepOutlasted *atomic.Bool
}

// rekeyAsideWait bounds how long a rekey waits for a running sweep that
// holds a record aside to end (see rekeyAfterSweep). A sweep holds its
// lock from its first move aside to its end, which on a large store may
// be long: the rekey does not wait for all of it.
const rekeyAsideWait = time.Minute

// rekeyAfterSweep rekeys a record still aside after rekeyTries reads: it
// waits, at most rekeyAsideWait, until no sweep holds the store's sweep
// lock (a running sweep settles what it moved aside before it releases
// it, and what it finds aside in the shards it lists: puts a live record
// back, or removes an expired one), and reads it once more. A record
// still aside then waits for the next sweep: left by a sweep that died,
// or by a locked Delete that found its lock lost (or was killed there),
// which leaves it for the sweep. No lock of a session is held while it
// waits: a sweep takes those with its own held.
//
// A record that expired, or is about to, met while a sweep held the sweep
// lock (was, rekeySweeping: see rekeyOne) waits for the sweep's end so.
func (s *Store) rekeyAfterSweep(ctx context.Context, dir, name string, was rekeyResult, lim *limiter, guard *deployedGuard, order *rollbackGuard, clock rekeyClock) (rekeyResult, error) {
	wait := rekeyAsideWait
	if d := s.testHooks.rekeyAsideWaitFor; d != 0 {
		wait = d
	}
	where := func() string {
		if was == rekeySweeping {
			return filepath.Join(dir, name) + ", expired or about to"
		}
		return s.asideWhere(dir, name)
	}
	if was == rekeySweeping && clock.sweepOutlasted.Load() {
		return was, fmt.Errorf("%s, under an old key, and a sweep is still running after %v: rekey again once it has ended", where(), wait)
	}
	if h := s.testHooks.rekeyAsideWait; h != nil {
		h(name)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	h, err := s.locks.Lock(wctx, sweepLock, sweepLock, lock.Shared)
	cancel()
	switch {
	case err == nil:
		s.unlockLogged(h, "rekey's wait for the sweep", filepath.Join(dir, name))
	case ctx.Err() != nil:
		return rekeyAside, fmt.Errorf("%s, under an old key: waiting for the sweep: %w", where(), ctx.Err())
	case errors.Is(err, lock.ErrLocked):
		if was == rekeySweeping {
			clock.sweepOutlasted.Store(true)
		}
		return rekeyAside, fmt.Errorf("%s, under an old key, and a sweep is still running after %v: rekey again once it has ended", where(), wait)
	default:
		return rekeyAside, fmt.Errorf("%s, under an old key: sweep lock: %w", where(), closedLock(err))
	}
	res, err := s.rekeyOne(ctx, dir, name, lim, guard, order, clock)
	if res == rekeySweeping && err == nil {
		err = fmt.Errorf("%s, under an old key and expired or about to, and another sweep started after the one waited for: rekey again once it has ended", filepath.Join(dir, name))
	}
	if res == rekeyAside && err == nil {
		err = fmt.Errorf("%s, under an old key, and no sweep is running: run a sweep (sessgc run) to put it back, then rekey again", where())
	}
	if res == rekeyRaced && err == nil {
		err = fmt.Errorf("%s: %w after a sweep put it back; the next pass tries again", filepath.Join(dir, name), errRekeyRaced)
	}
	return res, err
}

// asideWhere says, for rekeyAfterSweep's errors, where the record name in
// dir is while not under its name, and what put it there: the sweep's
// aside name, where a sweep holds it (or one that died left it), else a
// locked Delete's, where a Delete that found its lock lost (or was killed
// there) left it for the sweep; the newer where both hold a copy (see
// readMovedAside). The two are told apart for the operator:
// a Delete's copy is no sweep's doing, and waits for the next sweep all
// the same.
func (s *Store) asideWhere(dir, name string) string {
	p := filepath.Join(dir, name)
	switch file, err := s.asideToRead(dir, name); {
	case err != nil:
		return fmt.Sprintf("%s is aside (as %s or %s; which holds the session could not be told: %v)", p, asideName(name), deleteAsideName(name), err)
	case file == asideName(name):
		return fmt.Sprintf("%s is held aside (as %s) by a sweep", p, asideName(name))
	}
	return fmt.Sprintf("%s is left aside (as %s) by a locked Delete that found its lock lost or was stopped there, for the sweep to put back", p, deleteAsideName(name))
}

// rekeyTries is how many times a rekey reads a record that requests keep
// changing before it reports it as an error.
const rekeyTries = 3

// errRekeyRaced: the record changed between a rekey's read and its rename.
var errRekeyRaced = errors.New("record changed, or its lock was busy, while it was rekeyed")

// expired reports whether a record with header h and attributes st has
// expired by the store's clock (its own idle timeout and deadline).
func (s *Store) expired(st fileStat, h *record.Header) bool {
	exp := expiry(st.mtime, h.Idle, h.Deadline)
	return !exp.IsZero() && !s.cfg.now().Before(exp)
}
