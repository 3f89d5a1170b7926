package lock

import (
	"io"
	"os"
	"path/filepath"

	"github.com/sessfs/sessfs/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// exportTables are where this host's NFS server lists what it exports:
// the kernel's table (which holds an export once a client has used it)
// and exportfs's.
func exportTables() []string {
	return []string{"/proc/fs/nfsd/exports", "/proc/fs/nfs/exports", "/var/lib/nfs/etab"}
}

// exportOf returns the path of the NFS export of this host that holds dir,
// "" when none does (or no NFS server runs here). tables, when not nil,
// replaces exportTables (tests). An export reached here under another path
// (a bind mount) is not recognised.
func exportOf(dir string, tables []string) string {
	if tables == nil {
		tables = exportTables()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	// A directory reached over NFS is no export reached without it, even
	// below an exported path (a mount under an export): there a flock
	// and an open file description lock of this process, through two
	// open files, are two lock owners to the server, which would refuse
	// FileLock's second lock.
	var st unix.Statfs_t
	if unix.Statfs(abs, &st) == nil && st.Type == unix.NFS_SUPER_MAGIC {
		return ""
	}
	for _, t := range tables {
		f, err := os.Open(t)
		if err != nil {
			continue
		}
		p, ok := mountinfo.ExportHolding(io.LimitReader(f, 16<<20), abs)
		f.Close()
		if ok {
			return p
		}
	}
	return ""
}

// ofdTryFile takes a whole-file open file description lock on f without
// waiting, besides the flock a FileLock holds on it, in a directory this
// host exports (see flockBackend.ofd): EWOULDBLOCK when the NFS server
// holds a lock on the file for a client. Closing f releases it.
func ofdTryFile(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := sc.Control(func(fd uintptr) { lerr = ofdLock(int(fd), unix.F_WRLCK) }); err != nil {
		return err
	}
	return lerr
}
