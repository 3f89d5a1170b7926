//go:build !linux && !darwin && !freebsd

package fsstore

import (
	"io"
	"io/fs"
	"os"
	"runtime"
	"time"
)

// The store needs POSIX semantics it cannot get here: a rename over a file
// another process has open, link(2), O_NOFOLLOW, directory descriptors,
// server-side mtimes. Open fails with ErrNotSupported; the stubs below only
// keep the package compiling so that programs importing it build
// everywhere.
var platformErr = unsupportedErr(runtime.GOOS, runtime.GOARCH)

type rootDir struct{ noStatx bool }

func openRoot(path string) (*rootDir, error)    { return nil, platformErr }
func (*rootDir) close() error                   { return nil }
func (*rootDir) setTestHook(func(string))       {}
func (*rootDir) setTestDirSync(func(int) error) {}
func (*rootDir) forcesFresh() bool              { return false }

// rfile is a file open for reading. Only readSmallFile opens one here, so
// that ReadLayout works for tools on this platform.
type rfile struct{ f *os.File }

// openReadPath opens a regular file for reading. Without O_NOFOLLOW or
// O_NONBLOCK here, it refuses a symlink or non-regular file seen by Lstat,
// and checks the type again on the open file.
func openReadPath(p string) (rfile, fileStat, error) {
	if fi, err := os.Lstat(p); err != nil {
		return rfile{}, fileStat{}, err
	} else if !fi.Mode().IsRegular() {
		return rfile{}, fileStat{typ: fi.Mode().Type()}, errNotRegular
	}
	f, err := os.Open(p)
	if err != nil {
		return rfile{}, fileStat{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return rfile{}, fileStat{}, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return rfile{}, fileStat{typ: fi.Mode().Type()}, errNotRegular
	}
	return rfile{f}, fileStat{size: fi.Size(), mtime: fi.ModTime()}, nil
}

type dirRef struct{}

func (*rootDir) dirOf(p string) (dirRef, error) { return dirRef{}, platformErr }
func (dirRef) close()                           {}
func (dirRef) lstat() (fileStat, error)         { return fileStat{}, platformErr }
func (dirRef) touch(t *time.Time) error         { return platformErr }

func (*rootDir) openRead(path string) (rfile, fileStat, error) {
	return rfile{}, fileStat{}, platformErr
}
func (rfile) readAt(b []byte, off int64) (int, error) { return 0, platformErr }

func (r rfile) read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

func (r rfile) close() error {
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}

func (*rootDir) openDir(dir string) (*os.File, error) { return nil, platformErr }

func (*rootDir) writeAtomic(dir, name string, data []byte, perm fs.FileMode, dirPerm fs.FileMode, d Durability, prealloc bool) error {
	return platformErr
}

func (*rootDir) writeAtomicCheck(dir, name string, data []byte, perm fs.FileMode, dirPerm fs.FileMode, d Durability, prealloc bool, check, fence func() error, times *[2]time.Time) error {
	return platformErr
}

func writeAtomic(dir, name string, data []byte, perm fs.FileMode, dirPerm fs.FileMode, d Durability, prealloc bool) error {
	return platformErr
}

func isSymlinkErr(err error) bool                                   { return false }
func isStale(err error) bool                                        { return false }
func syncDir(dir string) error                                      { return platformErr }
func (*rootDir) lstat(path string) (fileStat, error)                { return fileStat{}, platformErr }
func (*rootDir) unlink(path string) error                           { return platformErr }
func (*rootDir) rename(oldpath, newpath string) error               { return platformErr }
func (*rootDir) link(oldpath, newpath string) error                 { return platformErr }
func (*rootDir) setTimes(path string, atime, mtime time.Time) error { return platformErr }
func isExt4(dir string) bool                                        { return false }
func onNFS(dir string) bool                                         { return false }
func forceGetattr(dir string, _ bool) error                         { return platformErr }
func statxRefused() bool                                            { return true }

func (rfile) touch(t *time.Time) error                      { return platformErr }
func (rfile) stat() (fileStat, error)                       { return fileStat{}, platformErr }
func (*rootDir) statNow(p string) (fileStat, error)         { return fileStat{}, platformErr }
func (*rootDir) openPath(p string) (pfile, fileStat, error) { return pfile{}, fileStat{}, platformErr }

type pfile struct{}

func (pfile) close() error             { return nil }
func (pfile) stat() (fileStat, error)  { return fileStat{}, platformErr }
func (pfile) touch(t *time.Time) error { return platformErr }

// changedAt is when the file fi describes last changed: its mtime, the
// only time known everywhere.
func changedAt(fi fs.FileInfo) time.Time { return fi.ModTime() }
