package fsstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// direntBufSize is the listing buffer a sweep worker reuses from shard
// to shard: about 580 entries of a record's name per getdents64, where
// os.File.ReadDir reads 8 KiB at a time.
const direntBufSize = 32 << 10

// forEachName calls fn with the name and type of every entry of dir but
// "." and "..", as forEachEntry does with an fs.DirEntry, from getdents64
// into buf: no Go value, string or allocation per entry. name is valid
// only during the call (the next getdents64 overwrites it): fn copies
// what it keeps. As os.File.ReadDir does, an entry whose type the file
// system does not report (DT_UNKNOWN) is looked up (lstat), and one gone
// by then is left out.
func (r *rootDir) forEachName(ctx context.Context, dir string, buf []byte, fn func(name []byte, typ fs.FileMode)) error {
	fd, err := r.open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	return listFd(ctx, fd, dir, r.noStatx, buf, fn)
}

// forEachShardName is forEachName for the shard directory sd, opened
// to be listed (openShardToList), from its own descriptor: the sweep's
// scan lists the directory it resolves names in, rather than open it a
// second time (a GETATTR on NFS, by close-to-open, and an openat walk
// where openat2 is refused). It lists from the descriptor's position, the
// start for a descriptor just opened: call it once per open.
func (r *rootDir) forEachShardName(ctx context.Context, sd shardDir, buf []byte, fn func(name []byte, typ fs.FileMode)) error {
	return listFd(ctx, sd.fd, sd.path, sd.noStatx, buf, fn)
}

// listFd lists the directory dir open at fd for forEachName.
func listFd(ctx context.Context, fd int, dir string, noStatx bool, buf []byte, fn func(name []byte, typ fs.FileMode)) error {
	lstat := func(name []byte) (fs.FileMode, error) {
		st, err := statxNameAt(fd, name, unix.AT_STATX_SYNC_AS_STAT, noStatx)
		if err != nil {
			return 0, &fs.PathError{Op: "lstat", Path: filepath.Join(dir, shownEntry(dir, string(name))), Err: err}
		}
		return st.typ, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := retryEINTR(func() (int, error) { return unix.Getdents(fd, buf) })
		if err != nil {
			return &fs.PathError{Op: "readdirent", Path: dir, Err: err}
		}
		if n <= 0 {
			return nil
		}
		if err := eachDirent(buf[:n], lstat, fn); err != nil {
			return err
		}
	}
}

// The fixed part of a struct linux_dirent64, the same on every
// architecture: d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1),
// then d_name, NUL-terminated and padded.
const (
	direntReclenOff = 16
	direntTypeOff   = 18
	direntNameOff   = 19
)

// eachDirent calls fn for each entry in b, what getdents64 returned,
// skipping ".", ".." and entries without an inode (as os.File.ReadDir
// does); lstat tells the type of an entry the listing does not type. A
// record that does not fit the buffer it says it fills is an error, not
// a panic.
func eachDirent(b []byte, lstat func(name []byte) (fs.FileMode, error), fn func(name []byte, typ fs.FileMode)) error {
	for len(b) > 0 {
		if len(b) < direntNameOff {
			return errBadDirent
		}
		ino := binary.NativeEndian.Uint64(b)
		reclen := int(binary.NativeEndian.Uint16(b[direntReclenOff:]))
		if reclen < direntNameOff || reclen > len(b) {
			return errBadDirent
		}
		dt := b[direntTypeOff]
		name := b[direntNameOff:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		b = b[reclen:]
		if ino == 0 || len(name) == 0 || string(name) == "." || string(name) == ".." {
			continue
		}
		typ, ok := direntType(dt)
		if !ok {
			var err error
			typ, err = lstat(name)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing
			}
			if err != nil {
				return err
			}
		}
		fn(name, typ)
	}
	return nil
}

// errBadDirent: getdents64 returned a record that does not fit.
var errBadDirent = errors.New("malformed directory entry from getdents64")

// direntType is the type bits of fs.FileMode for a d_type, as
// os.File.ReadDir gives them; false for DT_UNKNOWN and types it does not
// know.
func direntType(dt byte) (fs.FileMode, bool) {
	switch dt {
	case unix.DT_REG:
		return 0, true
	case unix.DT_DIR:
		return fs.ModeDir, true
	case unix.DT_LNK:
		return fs.ModeSymlink, true
	case unix.DT_FIFO:
		return fs.ModeNamedPipe, true
	case unix.DT_SOCK:
		return fs.ModeSocket, true
	case unix.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case unix.DT_BLK:
		return fs.ModeDevice, true
	}
	return 0, false
}
