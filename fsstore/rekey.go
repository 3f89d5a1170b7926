package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/record"
	"github.com/sessfs/sessfs/lock"
)

// RekeyOptions configures Rekey.
type RekeyOptions struct {
	// Rate caps records rewritten per second (0: no cap).
	Rate float64
	// Concurrency is the number of shard directories walked at once
	// (default 1, at most 64).
	Concurrency int
	// OnError, if set, is called for every record that could not be
	// rewritten; the pass goes on.
	OnError func(error)
}

// RekeyStats summarizes a Rekey pass.
type RekeyStats struct {
	Scanned  int64 // records examined
	Rekeyed  int64 // records rewritten under the newest key
	UpToDate int64 // records already under the newest key
	Errors   int64
	Duration time.Duration
}

// Rekey rewrites every record that is not encrypted with the newest key
// (plaintext records included) under the newest key, for key rotation.
// Each record is rewritten under its lock with the same version, times and
// payload, and its mtime (its last activity) is restored, so rekeying
// neither extends nor shortens any session. The pass is resumable: an
// interrupted pass leaves every record either old or new, and the next pass
// skips the records already converted.
func (s *Store) Rekey(ctx context.Context, opts RekeyOptions) (RekeyStats, error) {
	start := time.Now()
	if s.keys == nil {
		return RekeyStats{}, errors.New("fsstore: rekey: no keys configured (WithKeys)")
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 1
	}
	if opts.Concurrency < 1 || opts.Concurrency > 64 || opts.Rate < 0 {
		return RekeyStats{}, fmt.Errorf("fsstore: rekey: concurrency must be 1..64 and rate not negative")
	}
	var lim *limiter
	if opts.Rate > 0 {
		lim = newLimiter(opts.Rate)
	}
	var scanned, rekeyed, upToDate, errs atomic.Int64
	fail := func(err error) {
		errs.Add(1)
		s.cfg.logger.Warn("rekey: record skipped", "err", err)
		if opts.OnError != nil {
			opts.OnError(err)
		}
	}
	err := s.walkShards(ctx, opts.Concurrency, func(ctx context.Context, dir string) error {
		return forEachEntry(ctx, dir, func(e fs.DirEntry) {
			if !e.Type().IsRegular() || !isRecordName(e.Name()) || ctx.Err() != nil {
				return
			}
			scanned.Add(1)
			done, err := s.rekeyOne(ctx, dir, e.Name(), lim)
			switch {
			case err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
				scanned.Add(-1) // cut short, not failed: left for the next pass
			case err != nil:
				fail(err)
			case done:
				rekeyed.Add(1)
			default:
				upToDate.Add(1)
			}
		})
	})
	st := RekeyStats{Scanned: scanned.Load(), Rekeyed: rekeyed.Load(), UpToDate: upToDate.Load(), Errors: errs.Load(), Duration: time.Since(start)}
	if err != nil {
		return st, fmt.Errorf("fsstore: rekey: %w", err)
	}
	return st, nil
}

// rekeyOne rewrites one record if needed; it reports whether it did.
func (s *Store) rekeyOne(ctx context.Context, dir, name string, lim *limiter) (bool, error) {
	p := filepath.Join(dir, name)
	limit := record.HeaderSize + sealOverhead + s.cfg.maxSize
	b, _, err := readFile(p, limit)
	if err != nil {
		if err == unix.ENOENT {
			return false, nil
		}
		return false, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	if h, _, err := record.DecodeHeader(b); err == nil && h.Flags&record.FlagEncrypted != 0 && h.KeyID == s.keys.newest {
		return false, nil
	}
	if lim != nil {
		if err := lim.wait(ctx); err != nil {
			return false, err
		}
	}
	hl, err := s.locks.Lock(ctx, stripeName(stripeOfName(name), s.layout.stripes), lock.Exclusive)
	if err != nil {
		return false, err
	}
	defer hl.Unlock()
	// Re-read under the lock: a request may have saved meanwhile.
	b, st, err := readFile(p, limit)
	if err != nil {
		if err == unix.ENOENT {
			return false, nil
		}
		return false, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	h, pl, err := record.Decode(b)
	if err != nil {
		return false, fmt.Errorf("%s: %w", p, err)
	}
	if h.Flags&record.FlagEncrypted != 0 {
		if h.KeyID == s.keys.newest {
			return false, nil
		}
		if pl, err = s.keys.open(&h, name, pl); err != nil {
			return false, fmt.Errorf("%s: %w", p, err)
		}
	}
	h.Flags &^= record.FlagEncrypted
	h.KeyID = 0
	sealed := s.keys.seal(nil, &h, name, pl)
	if err := hl.Verify(); err != nil {
		return false, err
	}
	if err := writeAtomic(dir, name, record.Append(nil, &h, sealed), s.cfg.fileMode, s.cfg.dirMode, s.cfg.durability, false); err != nil {
		return false, err
	}
	// Restore the last-activity time: rekeying is not activity.
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return true, &fs.PathError{Op: "utimes", Path: p, Err: err}
	}
	if s.cache != nil {
		s.cache.drop(name)
	}
	return true, nil
}
