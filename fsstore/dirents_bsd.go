//go:build darwin || freebsd

package fsstore

import (
	"context"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// forEachShardName is forEachName for the shard directory sd, opened to
// be listed (openShardToList), from its own descriptor, as on Linux: it
// opened the directory a second time by path (an openat walk of the path
// below the store, and on NFS a GETATTR by close-to-open). The listing
// reads a duplicate of the descriptor, which shares its position: call it
// once per open. The duplicate is made close-on-exec in the same call
// (F_DUPFD_CLOEXEC): a dup, then FD_CLOEXEC set apart, left a window in
// which a fork and exec on another thread inherited it.
func (r *rootDir) forEachShardName(ctx context.Context, sd shardDir, buf []byte, fn func(name []byte, typ fs.FileMode)) error {
	fd, err := retryEINTR(func() (int, error) { return unix.FcntlInt(uintptr(sd.fd), unix.F_DUPFD_CLOEXEC, 0) })
	if err != nil {
		return &fs.PathError{Op: "dup", Path: sd.path, Err: err}
	}
	f := os.NewFile(uintptr(fd), sd.path)
	defer f.Close()
	name := buf[:0]
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := f.ReadDir(512)
		for _, e := range ents {
			name = append(name[:0], e.Name()...)
			fn(name, e.Type())
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return hideEntry(sd.path, err)
		}
	}
}
