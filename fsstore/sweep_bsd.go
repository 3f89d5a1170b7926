//go:build darwin || freebsd

package fsstore

import (
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// statFreshForced: a plain fstatat may be answered from the client's
// attribute cache.
const statFreshForced = false

// statID returns the identity of name in dfd (no symlink followed). These
// systems have no Linux AT_STATX_FORCE_SYNC: it is an fstatat, exact on
// local filesystems; on an NFS client it may come from the attribute cache.
func statID(dfd int, name string, _ bool) (fileID, string, error) {
	var st unix.Stat_t
	_, err := retryEINTR(func() (int, error) { return 0, unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	return fileID{ino: uint64(st.Ino), dev: uint64(st.Dev), nlink: uint32(st.Nlink), mtime: time.Unix(st.Mtim.Unix())}, "fstatat", err
}

// judgeCachedFirst: these systems have no statx(AT_STATX_DONT_SYNC), and
// a look at the cached attributes would be one more fstatat, answered
// from the cache or not as the client decides.
const judgeCachedFirst = false

func (d shardDir) lstatCached(name string) (fileStat, error) { return d.lstat(name) }

// lstatName is lstat for a name held as bytes (on Linux it goes to the
// kernel from the stack).
func (d shardDir) lstatName(name []byte) (fileStat, error) { return d.lstat(string(name)) }

func (d shardDir) lstatCachedName(name []byte) (fileStat, error) { return d.lstatName(name) }

// openShardToList opens the shard directory dir to resolve names in it
// and to list it once (rootDir.forEachShardName): O_PATH is Linux's, and
// the descriptor is readable here.
func (r *rootDir) openShardToList(dir string) (shardDir, error) {
	fd, _, err := r.parent(filepath.Join(dir, "x"), false)
	if err != nil {
		return shardDir{}, err
	}
	return shardDir{fd: fd, path: dir, noStatx: r.noStatx}, nil
}
