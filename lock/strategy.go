package lock

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
)

// StrategyFile is the file in a lock directory that records the strategy
// of the processes sharing it. A flock and a lease file do not exclude
// each other, so a process that picked the other strategy (a host whose
// mount has local_lock=flock, or lacks lock support; a forced strategy)
// would run beside them unexcluded; see NewTable.
const StrategyFile = ".strategy"

// strategyNote follows the strategy's name in StrategyFile, for the
// operator who finds the file.
const strategyNote = `# sessfs lock strategy of every process that shares this directory.
# A process that cannot use it refuses to start, since a flock and a lease
# file do not exclude each other. To change it, stop all of them, then
# remove this file.
`

// maxStrategyFile bounds what is read of StrategyFile.
const maxStrategyFile = 4096

// readStrategy returns the strategy recorded in d, or Auto when none is.
func readStrategy(d *lockDir) (Strategy, error) {
	// What is not a regular file there (a symlink, a socket, a
	// directory) fails the open or the read: ErrNotLockFile says so.
	notFile := func(err error) error {
		if errors.Is(err, ErrNotLockFile) {
			return err
		}
		if m, merr := d.mode(StrategyFile); merr == nil && !m.IsRegular() {
			return notLockFile(d.join(StrategyFile), m, err)
		}
		return err
	}
	f, err := openRecord(d, StrategyFile, time.Second)
	if errors.Is(err, fs.ErrNotExist) {
		return Auto, nil
	}
	if err != nil {
		return 0, notFile(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStrategyFile))
	if err != nil {
		return 0, notFile(pathError("read", d.join(StrategyFile), err))
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	s, err := ParseStrategy(string(bytes.TrimSpace(line)))
	if err != nil || s == Auto {
		return 0, fmt.Errorf("lock: %s: first line %q names no strategy (flock or lease); with every process that uses the directory stopped, remove the file", d.join(StrategyFile), line)
	}
	return s, nil
}

// recordStrategy records s in d unless a strategy is recorded already, and
// returns the recorded one. The file is written under a name of its own,
// flushed, and then linked to StrategyFile, which fails if another process
// got there first: no reader ever sees a file half written, and a crash
// leaves at most a stray temporary dot file. On a filesystem without hard
// links nothing is recorded (errNoLinks): nothing is checked there, as
// before this file existed. Auto with no error means that the file another
// process linked was gone again when read: the caller looks again.
func recordStrategy(cfg *Config, d *lockDir, s Strategy) (Strategy, error) {
	tmp := StrategyFile + "-" + newToken() + ".tmp"
	f, err := d.open(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscallNoFollow, cfg.FileMode)
	if err != nil {
		return 0, err
	}
	defer d.remove(tmp) // its link, if any, stays; a failed remove leaves a stray dot file
	_, err = f.WriteString(s.String() + "\n" + strategyNote)
	if err == nil {
		// Before the link: a power loss must not leave StrategyFile in
		// place and empty.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, pathError("write", d.join(tmp), err)
	}
	err = d.link(tmp, StrategyFile)
	if cfg.linkResult != nil {
		err = cfg.linkResult(err)
	}
	switch {
	case err == nil:
		return s, nil
	case errors.Is(err, fs.ErrExist):
		return readStrategy(d)
	case linkUnsupported(err):
		return Auto, errNoLinks
	default:
		return 0, err
	}
}

// ErrStrategyMismatch reports a lock directory whose processes use another
// strategy than the one asked for (Config.Strategy), or than the only one
// that works for this process. A flock and a lease file do not exclude
// each other, so the process must not run beside them.
var ErrStrategyMismatch = errors.New("lock: the processes sharing the lock directory use another strategy")

// errNoLinks reports a filesystem where StrategyFile cannot be published.
var errNoLinks = errors.New("lock: no hard links here")

// agreeStrategy returns the strategy this process uses in cfg.Dir: the one
// recorded there (StrategyFile) when cfg.Strategy is Auto and it works
// here, cfg.Strategy or the probe's pick otherwise, recorded when nothing
// is. A strategy recorded that cfg.Strategy or this mount rules out is
// ErrStrategyMismatch.
func agreeStrategy(cfg *Config, d *lockDir, localOnly string) (Strategy, error) {
	rec, err := readStrategy(d)
	if err != nil {
		return 0, err
	}
	for range 3 {
		want := cfg.Strategy
		if want == Auto {
			want = rec
		}
		if rec != Auto && want != rec {
			return 0, fmt.Errorf("%w: %s records %s, and this process asks for %s; force the same strategy on every process, or none", ErrStrategyMismatch, d.join(StrategyFile), rec, want)
		}
		s, err := pickStrategy(cfg, d, want, localOnly)
		if err != nil {
			// Only a strategy that cannot work here is a mismatch; an
			// I/O error is itself (and may pass).
			if rec != Auto && errors.Is(err, ErrNotSupported) {
				return 0, fmt.Errorf("%w: %s records %s, which does not work for this process (%w); mount the export with the same options on every host", ErrStrategyMismatch, d.join(StrategyFile), rec, err)
			}
			return 0, err
		}
		if rec != Auto {
			return s, nil
		}
		joined := "" // a lease file this process picked Lease to join
		if cfg.Strategy == Auto && s == Flock {
			// Nothing recorded, and lease files (not probes: those are
			// dot files) in use: processes of an earlier version lock
			// here with leases. Join them, and record it.
			name, err := fileOf(d, func(n string) bool {
				_, broken, ok := IsLeaseFile(n)
				return ok && !broken && !strings.HasPrefix(n, ".")
			})
			if err != nil {
				return 0, err
			}
			if name != "" {
				if s, err = pickStrategy(cfg, d, Lease, localOnly); err != nil {
					return 0, err
				}
				joined = name
			}
		}
		if cfg.Strategy == Auto && s == Lease {
			// Processes of an earlier version record nothing and may be
			// locking here with flock, which does not work for this one:
			// recording lease would make every later Auto process adopt
			// it, beside them.
			name, err := fileOf(d, isFlockFile)
			if err != nil {
				return 0, err
			}
			if name != "" && joined == "" && cfg.fuse {
				// A FUSE mount, where Auto picks Lease since flock may
				// reach this host alone; but processes of an earlier
				// version picked flock here, and its lock files are
				// here. Join them, as before, where flock works at all,
				// and record it. (To move the store to leases: stop
				// every process and force Lease once.)
				if f, ferr := pickStrategy(cfg, d, Flock, localOnly); ferr == nil {
					s, name = f, ""
				}
			}
			if name != "" {
				if joined != "" {
					return 0, fmt.Errorf("%w: %s records no strategy and holds both lease files (%s) and flock lock files (%s); with every process stopped, or once you know which strategy the running ones use, force that strategy once to record it", ErrStrategyMismatch, d.path, joined, name)
				}
				return 0, fmt.Errorf("%w: %s records no strategy and holds flock lock files (%s), and flock does not work for this process; mount the export with the same options on every host, or, if no process locks with flock here any more, force the lease strategy once to record it", ErrStrategyMismatch, d.path, name)
			}
		}
		rec, err = recordStrategy(cfg, d, s)
		switch {
		case errors.Is(err, errNoLinks):
			return s, nil
		case err != nil:
			return 0, err
		case rec == s:
			return s, nil
		}
		// Another process recorded another strategy meanwhile: adopt it
		// (Auto), or fail as if it had been there first. Or what it
		// recorded was gone again when read (rec is Auto): look again.
	}
	return 0, fmt.Errorf("%w: %s changed while this process opened it", ErrStrategyMismatch, d.join(StrategyFile))
}

// isFlockFile reports whether name, in a lock directory, is a flock lock
// file: neither a dot file (probes, fleet locks, StrategyFile) nor a lease
// file (or one a lease breaker left).
func isFlockFile(name string) bool {
	_, _, lease := IsLeaseFile(name)
	return !lease && !strings.HasPrefix(name, ".")
}

// fileOf returns the name of a regular file in d that is, or "" if there
// is none. Directories (lost+found at a file system's root) are no one's
// locks.
func fileOf(d *lockDir, is func(name string) bool) (string, error) {
	f, err := d.list()
	if err != nil {
		return "", err
	}
	defer f.Close()
	for {
		ents, err := f.ReadDir(256)
		for _, e := range ents {
			if e.Type().IsRegular() && is(e.Name()) {
				return e.Name(), nil
			}
		}
		if err == io.EOF {
			return "", nil
		}
		if err != nil {
			return "", err
		}
	}
}
