package fsstore

import "sync/atomic"

// wholeSeconds is what the store found of its file system's time stamps:
// whether it keeps them in whole seconds (ext4 with 128-byte inodes,
// ext3, HFS+, sshfs and other FUSE file systems that pass on whole
// seconds, some NAS). There a file's attributes cannot tell it from one
// that replaced it (fileStat.identifiable): WithCache serves nothing, and
// said nothing of it.
type wholeSeconds struct {
	seen atomic.Bool
	// streak counts the records read in a row, with a cache, whose ctime
	// and mtime were both whole seconds: wholeSecondStreak of them make a
	// finding. One alone is no finding: a file system with finer times
	// stamps a time in whole seconds one time in a billion.
	streak atomic.Int32
}

// wholeSecondStreak is how many records read in a row must show whole
// seconds for the store to take its file system for one that keeps
// nothing finer (see wholeSeconds.streak).
const wholeSecondStreak = 3

// inWholeSeconds reports whether both of a file's times, its ctime and
// its mtime, are whole seconds: on a file system with finer times the two
// of one file are that one time in a billion at most (one in 10^18 when
// they are stamped at two different ticks, as a record's write and its
// rename are).
func (a fileStat) inWholeSeconds() bool {
	return a.ctime.Nanosecond() == 0 && a.mtime.Nanosecond() == 0
}

// noteReadTimes notes the times of a record that a Load read, of a store
// with a cache: wholeSecondStreak records in a row in whole seconds are a
// finding (noteWholeSeconds). Only an atomic load on a file system with
// finer times, which never has the streak going.
func (s *Store) noteReadTimes(st fileStat) {
	if !st.inWholeSeconds() {
		if s.wholeSec.streak.Load() != 0 {
			s.wholeSec.streak.Store(0)
		}
		return
	}
	if s.wholeSec.streak.Add(1) >= wholeSecondStreak {
		s.noteWholeSeconds()
	}
}

// noteWholeSeconds records that the store's file system keeps file times
// in whole seconds (Store.WholeSecondTimes) and, the first time, on a
// store with a cache, logs a warning that the cache serves nothing there:
// it costs its memory and a look per Load, and spares no read.
func (s *Store) noteWholeSeconds() {
	if s.wholeSec.seen.Swap(true) || s.cfg.cacheEntries <= 0 {
		return
	}
	s.cfg.logger.Warn("fsstore: the store's file system keeps file times in whole seconds (ext4 with 128-byte inodes, ext3, HFS+, sshfs, some NAS): a file's attributes cannot tell it from one that replaced it within the second, so WithCache serves nothing here and every Load reads the file; drop WithCache, or move the store to a file system with finer times (ext4 with 256-byte inodes, XFS, NFS from such a server)", "dir", s.dir)
}

// WholeSecondTimes reports whether the store has found that its file
// system keeps file times in whole seconds (ext4 with 128-byte inodes,
// ext3, HFS+, sshfs and other FUSE file systems that pass on whole
// seconds, some NAS). There a file's attributes cannot tell it from one
// that replaced it within the second, and what trusts them reads the
// file instead: WithCache serves nothing, and a Touch reads the record's
// header each time. The store looks at Open, when opened WithCache (the
// times of the file its write probe makes), at the records a cached Load
// reads, and in Stats (see Stats.WholeSecondTimes); the first finding of
// a store WithCache is logged as a warning. It makes no call to the file
// system.
func (s *Store) WholeSecondTimes() bool { return s.wholeSec.seen.Load() }
