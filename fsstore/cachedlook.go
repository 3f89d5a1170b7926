package fsstore

import "time"

// The scans' cached look (Sweep, Stats): a record's attributes as this
// host's NFS client has them cached, however old, cost no round trip,
// where a fresh stat of a file whose cached attributes expired costs a
// GETATTR, one per live session on a pass over shards unchanged since this
// host listed them (docs/operations.md). A record's mtime only moves
// forward (Save and Touch stamp the server's time), so a cached mtime is no
// newer than the server's, and a record the cached attributes show live
// is live. The scans trust them for that alone: whatever else they show
// is decided by a fresh stat.

// lookCachedFirst reports whether s's scans look at a record's cached
// attributes before a fresh stat: where the platform has the look
// (judgeCachedFirst) and the store is on NFS. On a local filesystem the
// look is a stat already as fresh as the second one, which it would only
// double; where statx is refused (rootDir.noStatx) there is no look
// without a round trip, the look would be a plain lstat. A test turns it on there too (testHooks.cachedFirst), to stand
// in for a stale cache.
func (s *Store) lookCachedFirst() bool {
	return judgeCachedFirst && !s.root.noStatx && (s.nfs || s.testHooks.cachedFirst)
}

// cachedLive returns the attributes of the record name in sd as this
// host's NFS client has them cached (shardDir.lstatCached), and whether
// they show it live: at most liveFor old at now, by the server's clock,
// and of a record's type and size (ours). false is no verdict: the caller
// looks again with a fresh stat. Call it only when lookCachedFirst.
func (s *Store) cachedLive(sd shardDir, name string, now time.Time, liveFor time.Duration) (fileStat, bool) {
	st, err := sd.lstatCached(name)
	if h := s.testHooks.judgeStat; h != nil {
		st.mtime = h(name, true, st.mtime)
	}
	return st, err == nil && now.Sub(st.mtime) <= liveFor && ours(st) && !oversize(st)
}

// cachedLiveName is cachedLive for a name held as bytes, a listing's
// (see sweeper.judge).
func (s *Store) cachedLiveName(sd shardDir, name []byte, now time.Time, liveFor time.Duration) (fileStat, bool) {
	st, err := sd.lstatCachedName(name)
	if h := s.testHooks.judgeStat; h != nil {
		st.mtime = h(string(name), true, st.mtime)
	}
	return st, err == nil && now.Sub(st.mtime) <= liveFor && ours(st) && !oversize(st)
}
