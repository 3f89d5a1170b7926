package fsstore

import (
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/sessfs/sessfs/internal/foreignname"
	"github.com/sessfs/sessfs/lock"
)

// hideEntry returns err, a listing's error of directory dir, with the
// name of the entry of dir it names left out as foreignname shows it,
// where that is not a name the store writes (ownName): another store's
// file (PHP's sess_ID) is named after a live session ID. A listing looks
// up each entry whose type the file system does not report (DT_UNKNOWN:
// ext4 without filetype, some FUSE and NFS servers), and the lookup's
// error named the file whole, into OnError, the log and sessgc's output,
// where the lines that list foreign files hide it. Errors that name no
// entry of dir are returned as they are.
func hideEntry(dir string, err error) error {
	pe, ok := err.(*fs.PathError)
	if !ok || filepath.Dir(pe.Path) != filepath.Clean(dir) {
		return err
	}
	name := filepath.Base(pe.Path)
	shown := shownEntry(dir, name)
	if shown == name {
		return err
	}
	return &fs.PathError{Op: pe.Op, Path: filepath.Join(dir, shown), Err: pe.Err}
}

// shownEntry is the name of the entry name of dir as an error shows it:
// whole when it is a name the store writes (ownName), else as sessgc's
// listing of foreign files shows it (foreignname.ShownInShard).
func shownEntry(dir, name string) string {
	if ownName(name) {
		return name
	}
	return foreignname.ShownInShard(name, shardOfDir(dir))
}

// ownName reports whether name is one the store gives a file or directory
// of its own, anywhere in it: the marker, its directories, shard
// directories, records and those held aside, temp files, lock and lease
// files, key files.
func ownName(name string) bool {
	switch name {
	case MarkerFile, DataDir, LockDir:
		return true
	}
	if _, ok := cutAside(name); ok {
		return true
	}
	if _, _, ok := lock.IsLeaseFile(name); ok {
		return true
	}
	return isRecordName(name) || isTempName(name) || isStripeName(name) || storeLockName(name) ||
		fleetLockName(name) || lockDotOwn(name) || isKeyFile(name) ||
		len(name) == 2 && isRecordName(name+strings.Repeat("0", 30))
}

// shardOfDir returns the names of the shard directories dir ends in (two
// lowercase hex digits each: data/ab/cd gives "abcd"), which a record's
// name there starts with; "" for a directory that is no shard.
func shardOfDir(dir string) string {
	shard := ""
	for i := 0; i < 8; i++ {
		b := filepath.Base(dir)
		if len(b) != 2 || !isRecordName(b+strings.Repeat("0", 30)) {
			break
		}
		shard = b + shard
		dir = filepath.Dir(dir)
	}
	return shard
}
