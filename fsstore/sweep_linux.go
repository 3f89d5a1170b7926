package fsstore

import (
	"io/fs"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// statFreshForced: statID asks the server past the attribute cache
// (AT_STATX_FORCE_SYNC), so its success is the server's answer; not where
// statx is refused (rootDir.noStatx).
const statFreshForced = true

// statID returns the identity of name in dfd (no symlink followed) from the
// file server, not from this client's attribute cache: statx with
// AT_STATX_FORCE_SYNC sends a GETATTR on NFS, by the cached file handle:
// call Store.revalidateName first for the name's current file. Where
// statx is refused (noStatx, see statxRefused) it is an fstatat, which the
// attribute cache may answer.
func statID(dfd int, name string, noStatx bool) (fileID, string, error) {
	if noStatx {
		var st unix.Stat_t
		_, err := retryEINTR(func() (int, error) { return 0, unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
		return fileID{ino: uint64(st.Ino), dev: uint64(st.Dev), nlink: uint32(st.Nlink), mtime: time.Unix(st.Mtim.Unix())}, "fstatat", err
	}
	var stx unix.Statx_t
	_, err := retryEINTR(func() (int, error) {
		return 0, unix.Statx(dfd, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_FORCE_SYNC,
			unix.STATX_INO|unix.STATX_NLINK|unix.STATX_MTIME, &stx)
	})
	return fileID{ino: stx.Ino, dev: statxDev(&stx), nlink: stx.Nlink,
		mtime: time.Unix(stx.Mtime.Sec, int64(stx.Mtime.Nsec))}, "statx", err
}

// judgeCachedFirst: the sweep judges a record first by the attributes
// the client already has (shardDir.lstatCached), see sweeper.judge; not
// where statx is refused (rootDir.noStatx).
const judgeCachedFirst = true

// lstatCached returns name's attributes in d as this host's NFS client has
// them cached, however old, without a round trip (statx with
// AT_STATX_DONT_SYNC); a name the client has no inode for is looked up,
// which brings fresh ones. On a local filesystem, and where statx is
// refused, it is an lstat.
func (d shardDir) lstatCached(name string) (fileStat, error) {
	st, err := statxAt(d.fd, name, unix.AT_STATX_DONT_SYNC, d.noStatx)
	if err != nil {
		return fileStat{}, &fs.PathError{Op: "statx", Path: filepath.Join(d.path, name), Err: err}
	}
	return st, nil
}

// lstatName is lstat for a name held as bytes, a listing's (see
// rootDir.forEachName): the name goes to the kernel from the stack, no
// string made of it.
func (d shardDir) lstatName(name []byte) (fileStat, error) {
	st, err := statxNameAt(d.fd, name, unix.AT_STATX_SYNC_AS_STAT, d.noStatx)
	if err != nil {
		return fileStat{}, &fs.PathError{Op: "stat", Path: filepath.Join(d.path, string(name)), Err: err}
	}
	return st, nil
}

// lstatCachedName is lstatCached for a name held as bytes (see lstatName).
func (d shardDir) lstatCachedName(name []byte) (fileStat, error) {
	st, err := statxNameAt(d.fd, name, unix.AT_STATX_DONT_SYNC, d.noStatx)
	if err != nil {
		return fileStat{}, &fs.PathError{Op: "statx", Path: filepath.Join(d.path, string(name)), Err: err}
	}
	return st, nil
}

// openShardToList opens the shard directory dir to resolve names in it
// and to list it once (rootDir.forEachShardName): readable, where
// openShard's descriptor (O_PATH) only resolves names.
func (r *rootDir) openShardToList(dir string) (shardDir, error) {
	fd, err := r.open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return shardDir{}, err // the sweep names the directory
	}
	return shardDir{fd: fd, path: dir, noStatx: r.noStatx}, nil
}
