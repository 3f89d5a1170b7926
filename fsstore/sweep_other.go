//go:build !linux && !darwin && !freebsd

package fsstore

import (
	"context"
	"io/fs"
	"time"

	"github.com/sessfs/sessfs/lock"
)

// fileID identifies a file and tells whether it still has a name.
type fileID struct {
	ino, dev uint64
	nlink    uint32
	mtime    time.Time
}

const judgeCachedFirst = false

func (*rootDir) statFresh(p string) (fileID, error) { return fileID{}, platformErr }

type shardDir struct{ path string }

func (*rootDir) openShardToList(string) (shardDir, error) { return shardDir{}, platformErr }
func (shardDir) close()                                   {}

// leaseDir: openShardToList fails first here.
func (d shardDir) leaseDir() *lock.LeaseDir               { return lock.NewLeaseDir(d.path) }
func (shardDir) lstat(string) (fileStat, error)           { return fileStat{}, platformErr }
func (shardDir) lstatCached(string) (fileStat, error)     { return fileStat{}, platformErr }
func (shardDir) lstatName([]byte) (fileStat, error)       { return fileStat{}, platformErr }
func (shardDir) lstatCachedName([]byte) (fileStat, error) { return fileStat{}, platformErr }
func (shardDir) rename(string, string) error              { return platformErr }
func (shardDir) unlink(string) error                      { return platformErr }

func touchNow(string) error { return platformErr }

// forEachShardName is forEachName for the shard directory sd (on Linux,
// macOS and FreeBSD it lists from sd's descriptor; here openShardToList
// fails first).
func (r *rootDir) forEachShardName(ctx context.Context, sd shardDir, buf []byte, fn func(name []byte, typ fs.FileMode)) error {
	return r.forEachName(ctx, sd.path, buf, fn)
}
