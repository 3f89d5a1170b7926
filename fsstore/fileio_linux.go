package fsstore

import (
	"bytes"
	"io/fs"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/internal/mountinfo"
	"github.com/sessfs/sessfs/internal/statmode"
)

// syncData flushes a file's data and size. fdatasync suffices for a temp
// file: nothing else about it matters once it is renamed.
func syncData(fd int) error { return unix.Fdatasync(fd) }

// preallocate allocates a temp file's blocks before the write. ext4's
// auto_da_alloc makes rename(2) over an existing file start writeback of the
// new file's delayed-allocation blocks: ~50 µs of a ~90 µs DurabilityNone
// save, measured (docs/measurements.md). Blocks allocated up front are not
// delayed, so the rename skips it. Failure (EOPNOTSUPP, ENOSPC) is ignored:
// the write reports a real lack of space, and the save then works as
// without it.
func preallocate(fd int, n int64) { unix.Fallocate(fd, 0, 0, n) }

// isExt4 reports whether dir is on ext4, where preallocate pays.
func isExt4(dir string) bool {
	var sfs unix.Statfs_t
	return unix.Statfs(dir, &sfs) == nil && sfs.Type == unix.EXT4_SUPER_MAGIC
}

// onNFS reports whether dir is on an NFS mount.
func onNFS(dir string) bool {
	mi, err := mountinfo.Lookup(dir)
	return err == nil && mi.IsNFS()
}

// forceGetattr makes the NFS client fetch dir's attributes from the server
// (statx with AT_STATX_FORCE_SYNC): one GETATTR, whatever the attribute
// cache holds. If the directory changed, the client drops its cached
// lookups in it. Where statx is refused (noStatx, see statxRefused) it is
// a stat, as on the systems without statx: the cache may answer it.
func forceGetattr(dir string, noStatx bool) error {
	if noStatx {
		var st unix.Stat_t
		if _, err := retryEINTR(func() (int, error) { return 0, unix.Stat(dir, &st) }); err != nil {
			return &fs.PathError{Op: "stat", Path: dir, Err: err}
		}
		return nil
	}
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, dir, unix.AT_STATX_FORCE_SYNC, unix.STATX_BASIC_STATS, &stx)
	if err != nil {
		return &fs.PathError{Op: "statx", Path: dir, Err: err}
	}
	return nil
}

// statxRefused reports whether this process may not make statx(2): a
// kernel before 4.11 answers ENOSYS, a seccomp profile written before
// statx (Docker's default before 18.04, older runc and gVisor) EPERM or
// ENOSYS, and systemd's SystemCallFilter= whatever SystemCallErrorNumber=
// names (EACCES, say), to every call whatever its file; a filter may even
// answer 0, success with nothing filled in. The store then stats with
// fstatat, as on the systems without statx, deciding once, at Open, not
// per call. It asks with a descriptor no file has (-1), which an allowed
// statx answers EBADF without reaching any file system: no round trip on
// NFS, and no file server's answer (a FUSE daemon's EPERM) is taken for
// a refusal. So any other answer is a refusal, not only the errors known
// today: a statx taken for allowed where it is refused would fail every
// stat of the store.
func statxRefused() bool {
	var stx unix.Statx_t
	return unix.Statx(-1, "", unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS, &stx) != unix.EBADF
}

// openat2Refused reports whether this process may not make openat2(2),
// as statxRefused does for statx: a kernel before 5.6 answers ENOSYS, a
// seccomp profile or systemd's SystemCallFilter= that does not list it
// whatever errno it was given (EPERM, EACCES, ENOENT...). An allowed
// openat2 answers a relative name under a descriptor no file has (-1)
// EBADF without reaching any file system; any other answer is a refusal.
// Taken for the file's answer, a refusal made every open of the store
// fail: EACCES as a permission error, ENOENT as a missing record. The
// store then resolves one directory at a time (walkBeneath), deciding
// once, at Open. A descriptor a filter answered with (0) is not the
// probe's to close.
func openat2Refused() bool {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH}
	_, err := openat2(-1, "x", &how)
	return err != unix.EBADF
}

// dirLookupFlags opens a directory only to resolve names in it: no read
// permission needed, and nothing for an NFS client to open.
const dirLookupFlags = unix.O_PATH

// openBeneath opens rel below root without following symlinks, in one
// openat2(2) call; on kernels without it (before 5.6, or a seccomp policy
// that refuses it: see openat2Refused) one directory at a time.
func (r *rootDir) openBeneath(root int, rel string, flags int, mode uint32) (int, error) {
	if !r.noOpenat2.Load() {
		how := unix.OpenHow{
			Flags:   uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		}
		if flags&unix.O_CREAT != 0 {
			how.Mode = uint64(mode)
		}
		fd, err := retryEINTR(func() (int, error) { return openat2(root, rel, &how) })
		switch err {
		case unix.ENOSYS:
			r.noOpenat2.Store(true)
		case unix.EPERM:
			// A seccomp filter, or a real permission error: the walk
			// tells them apart.
			fd, err := walkBeneath(root, rel, flags, mode)
			if err == nil {
				r.noOpenat2.Store(true)
			}
			return fd, err
		default:
			return fd, symlinkErr(root, rel, err)
		}
	}
	return walkBeneath(root, rel, flags, mode)
}

// cPathBuf holds a path handed to the kernel, NUL-terminated, on the
// caller's stack: x/sys/unix copies every path into a slice of its own on
// the heap, and on a locked request those copies were a third of the
// allocations, each about as costly as the rest of the call's user-space
// work. Paths are the store's own (a shard directory, a record or temp
// name below the store), far shorter than the buffer; a longer one takes
// x/sys/unix's way.
type cPathBuf [256]byte

// ptr returns s NUL-terminated, in b when it fits. A NUL in s is EINVAL,
// as x/sys/unix answers it.
func (b *cPathBuf) ptr(s string) (*byte, error) {
	if len(s) >= len(b) {
		return unix.BytePtrFromString(s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, unix.EINVAL
	}
	copy(b[:], s)
	b[len(s)] = 0
	return &b[0], nil
}

// ptrBytes is ptr for a name held as bytes: a directory entry's, as the
// sweep reads it from its listing without making a string of it.
func (b *cPathBuf) ptrBytes(s []byte) (*byte, error) {
	if len(s) >= len(b) {
		return unix.BytePtrFromString(string(s))
	}
	if bytes.IndexByte(s, 0) >= 0 {
		return nil, unix.EINVAL
	}
	copy(b[:], s)
	b[len(s)] = 0
	return &b[0], nil
}

// statxName is unix.Statx, the name passed from the stack (see cPathBuf).
func statxName(dirfd int, name []byte, flags, mask int, stx *unix.Statx_t) error {
	var buf cPathBuf
	p, err := buf.ptrBytes(name)
	if err != nil {
		return err
	}
	_, _, e := unix.Syscall6(unix.SYS_STATX, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(mask), uintptr(unsafe.Pointer(stx)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// unlinkatName is unix.Unlinkat, the name passed from the stack (see
// cPathBuf).
func unlinkatName(dirfd int, name string) error {
	var buf cPathBuf
	p, err := buf.ptr(name)
	if err != nil {
		return err
	}
	_, _, e := unix.Syscall(unix.SYS_UNLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// openat2 is unix.Openat2, the path passed from the stack (see cPathBuf).
func openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	var buf cPathBuf
	p, err := buf.ptr(path)
	if err != nil {
		return -1, err
	}
	fd, _, e := unix.Syscall6(unix.SYS_OPENAT2, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(how)), unix.SizeofOpenHow, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// openatName is unix.Openat, the path passed from the stack (see
// cPathBuf).
func openatName(dirfd int, path string, flags int, mode uint32) (int, error) {
	var buf cPathBuf
	p, err := buf.ptr(path)
	if err != nil {
		return -1, err
	}
	fd, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags|unix.O_LARGEFILE), uintptr(mode), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// renameatName is unix.Renameat, the paths passed from the stack (see
// cPathBuf).
func renameatName(olddirfd int, oldpath string, newdirfd int, newpath string) error {
	var ob, nb cPathBuf
	op, err := ob.ptr(oldpath)
	if err != nil {
		return err
	}
	np, err := nb.ptr(newpath)
	if err != nil {
		return err
	}
	// The fifth argument is renameat2's flags where sysRenameat is
	// renameat2 (0: a plain rename), and ignored by renameat.
	_, _, e := unix.Syscall6(sysRenameat, uintptr(olddirfd), uintptr(unsafe.Pointer(op)), uintptr(newdirfd), uintptr(unsafe.Pointer(np)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// pathOnlyFlags opens a file only to name it: no NFS OPEN round trip.
const pathOnlyFlags = unix.O_PATH

// touchFD sets the times of the open file fd: utimensat with a NULL path
// acts on the descriptor itself (a regular descriptor, not O_PATH).
func touchFD(fd int, ts []unix.Timespec) error {
	var p unsafe.Pointer
	if ts != nil {
		p = unsafe.Pointer(&ts[0])
	}
	_, err := retryEINTR(func() (int, error) {
		_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(p), 0, 0, 0)
		if e != 0 {
			return 0, e
		}
		return 0, nil
	})
	return err
}

// touchPathFD sets the times of the file opened O_PATH as fd
// (AT_EMPTY_PATH). A kernel that does not take AT_EMPTY_PATH here says
// EINVAL or ENOENT: errNoFDTouch, the caller touches by name.
func touchPathFD(fd int, ts []unix.Timespec) error {
	_, err := retryEINTR(func() (int, error) { return 0, unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH) })
	if err == unix.EINVAL || err == unix.ENOENT {
		return errNoFDTouch
	}
	return err
}

// statFreshAt returns name's attributes in dfd (no symlink followed) from
// the file server: statx with AT_STATX_FORCE_SYNC sends a GETATTR on NFS,
// whatever the attribute cache holds; on a local filesystem it is a stat.
// Where statx is refused (noStatx) it is an fstatat, which the cache may
// answer (see Store.fetchesFresh).
func statFreshAt(dfd int, name string, noStatx bool) (fileStat, error) {
	return statxAt(dfd, name, unix.AT_STATX_FORCE_SYNC, noStatx)
}

// statxAt is statFreshAt with the say over the attribute cache left to
// sync: AT_STATX_FORCE_SYNC asks the server, AT_STATX_DONT_SYNC never does.
// Where statx is refused (noStatx) it is an fstatat, whatever sync.
func statxAt(dfd int, name string, sync int, noStatx bool) (fileStat, error) {
	if noStatx {
		return fstatatNoFollow(dfd, name)
	}
	var stx unix.Statx_t
	_, err := retryEINTR(func() (int, error) {
		return 0, unix.Statx(dfd, name, unix.AT_SYMLINK_NOFOLLOW|sync, unix.STATX_BASIC_STATS, &stx)
	})
	if err != nil {
		return fileStat{}, err
	}
	return statxOf(&stx), nil
}

// statxNameAt is statxAt for a name held as bytes (see cPathBuf.ptrBytes).
// The fstatat where statx is refused makes a string of the name.
func statxNameAt(dfd int, name []byte, sync int, noStatx bool) (fileStat, error) {
	if noStatx {
		return fstatatNoFollow(dfd, string(name))
	}
	var stx unix.Statx_t
	_, err := retryEINTR(func() (int, error) {
		return 0, statxName(dfd, name, unix.AT_SYMLINK_NOFOLLOW|sync, unix.STATX_BASIC_STATS, &stx)
	})
	if err != nil {
		return fileStat{}, err
	}
	return statxOf(&stx), nil
}

func statxOf(stx *unix.Statx_t) fileStat {
	return fileStat{
		dev:   statxDev(stx),
		ino:   stx.Ino,
		size:  int64(stx.Size),
		typ:   statmode.Type(uint32(stx.Mode)),
		mtime: time.Unix(stx.Mtime.Sec, int64(stx.Mtime.Nsec)),
		atime: time.Unix(stx.Atime.Sec, int64(stx.Atime.Nsec)),
		ctime: time.Unix(stx.Ctime.Sec, int64(stx.Ctime.Nsec)),
		nlink: uint64(stx.Nlink),
	}
}

// statxDev is stx's device as an fstat reports it on this architecture
// (see setDev): the sweep compares the two calls' answers.
func statxDev(stx *unix.Statx_t) uint64 {
	var st unix.Stat_t
	setDev(&st.Dev, unix.Mkdev(stx.Dev_major, stx.Dev_minor))
	return uint64(st.Dev)
}

// setDev stores dev in a Stat_t's Dev, whose type is the architecture's:
// uint64 on most, uint32 on mips, mipsle, mips64 and mips64le, where the
// kernel fills an fstat's st_dev with the 32-bit encoding of its dev_t
// (12 bits of major, 20 of minor), which is Mkdev's low 32 bits. So a
// statx's device compares equal to an fstat's on every architecture.
func setDev[T ~uint32 | ~uint64](dst *T, dev uint64) { *dst = T(dev) }

// noatimeFlag keeps reads from updating the access time (see openRead).
const noatimeFlag = unix.O_NOATIME

// changedAt is when the file fi describes last changed: the later of its
// mtime and its ctime, which a tool that sets the mtime back after its
// write (cp -p, rsync -t) also moves.
func changedAt(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if c := time.Unix(st.Ctim.Unix()); c.After(t) {
			t = c
		}
	}
	return t
}
