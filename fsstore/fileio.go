package fsstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"sync"
	"time"

	"github.com/sessfs/sessfs/internal/record"
)

// fileStat is what the store needs of a file's attributes, the same on
// every platform.
type fileStat struct {
	dev, ino     uint64
	size         int64
	typ          fs.FileMode // type bits only: 0 for a regular file
	mtime, atime time.Time
	ctime        time.Time // any change to the inode, a touch included
	nlink        uint64    // 0: open somewhere, but no name left
}

// sameFile reports whether a and b show the same file, unchanged: the
// same inode, size and ctime (any write or touch moves the ctime).
func (a fileStat) sameFile(b fileStat) bool {
	return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.ctime.Equal(b.ctime)
}

// identifiable reports whether the file's attributes can tell it from a
// file that replaced it under the same inode number (freed and reused),
// as sameFile assumes: whether its ctime is finer than a second. A file
// system that keeps whole seconds (ext4 with 128-byte inodes, ext3, HFS+,
// sshfs and other FUSE file systems that pass on whole seconds) stamps
// the record a process saves twice within that second with the ctime of
// the version before, and ext4 gives the second save's file the inode
// number the first freed: the same device, inode, size and ctime, other
// bytes. What trusts sameFile to tell a file unchanged since it was read
// (the cache, seenHeaders, a rekey) must not trust it for such a file,
// and reads it again. A finer tick (a jiffy, on Linux before 6.13; a
// millisecond) leaves the residual risk the cache's documentation
// describes: two saves of one session within it. A file system with finer
// times gives a ctime in whole seconds one time in a billion, which costs
// that read and nothing else (as keysQuiet takes such a time).
func (a fileStat) identifiable() bool {
	return a.ctime.Nanosecond() != 0
}

var (
	// errNoFDTouch: this platform cannot set the times of an open
	// descriptor; the caller touches the file by name instead.
	errNoFDTouch  = errors.New("touch by descriptor not supported")
	errNotRegular = errors.New("not a regular file")
	errTooBig     = errors.New("file larger than any record a store writes (64 MiB and its header)")
	// errTempTaken: a fenced write's temp file was gone at its rename and
	// the record was not found to hold the write (see writeAtomicAt).
	errTempTaken = errors.New("the temp file was moved or removed by another writer (a host that lost this session's lock, a Delete, or the sweep), and the record could not be confirmed to hold this write")
	// errUnsynced: a write was published, its rename through, but the
	// fsync of its directory failed. It is visible, and a crash may still
	// lose it; the rename cannot be taken back (a reader may have the
	// record already), so the caller must not be told it did not happen.
	errUnsynced = errors.New("published, but its directory was not synced")
)

// tempPrefix starts the name of every temp file. Sweeps recognise stale temp
// files by it; a dot keeps them out of casual listings.
const tempPrefix = ".tmp-"

// fencedTemp is the temp file name of a write under a record's lock: one
// fixed name per record (see writeAtomicAt).
func fencedTemp(record string) string { return tempPrefix + record + ".locked" }

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// readFile reads a whole regular file that must not be a symlink, refusing
// files larger than limit (errTooBig) and anything but a regular file
// (errNotRegular). It returns the bytes and the file's attributes, taken
// from the open descriptor.
func (r *rootDir) readFile(path string, limit int) ([]byte, fileStat, error) {
	b, st, _, err := r.readFileKeep(path, limit, false, nil)
	return b, st, err
}

// readFileKeep is readFile that, with keep, returns the file still open
// (ok set) when it returns no error: a locked Load keeps its record open
// so that a Touch in the same request sets the times through the
// descriptor, without resolving the name again. The file is read into buf
// when it fits there (see readAll).
func (r *rootDir) readFileKeep(path string, limit int, keep bool, buf []byte) ([]byte, fileStat, keptFile, error) {
	f, st, err := r.openRead(path)
	if err != nil {
		return nil, st, keptFile{}, err
	}
	b, err := readAll(f, st, limit, buf)
	if err != nil || !keep {
		f.close()
		return b, st, keptFile{}, err
	}
	return b, st, keptFile{f: f, ok: true}, nil
}

// keptFile is a record file a locked Load left open; ok is false when
// there is none.
type keptFile struct {
	f  rfile
	ok bool
}

func (k *keptFile) close() {
	if k.ok {
		k.f.close()
		*k = keptFile{}
	}
}

// readSmallFile reads a store-owned file that sits directly in the store's
// directory (the marker, a key check file) by path, for the callers that
// have no directory descriptor: Open before it has one, ReadLayout, the
// keys check. The same guards as rootDir.readFile hold: the open is
// non-blocking and refuses a symlink (the store's directory itself may be
// one; the file in it may not), the type is checked on the descriptor and
// the size is capped, so a FIFO, a device or a huge file planted at the
// marker's name is refused (errNotRegular, errTooBig, ELOOP) instead of
// hanging Open and every Sweep.
func readSmallFile(path string, limit int) ([]byte, error) {
	f, st, err := openReadPath(path)
	if err != nil {
		return nil, err
	}
	defer f.close()
	return readAll(f, st, limit, nil)
}

// readAll reads the file f, whose attributes are st, refusing one larger
// than limit. It reads into buf's capacity when the file fits there, and
// into a new slice otherwise; only the bytes read are returned, so what buf
// held before never shows, even when the file is shorter than st says.
func readAll(f rfile, st fileStat, limit int, buf []byte) ([]byte, error) {
	if st.size > int64(limit) {
		return nil, errTooBig
	}
	if int64(cap(buf)) >= st.size {
		buf = buf[:st.size]
	} else {
		buf = make([]byte, st.size)
	}
	n := 0
	for n < len(buf) {
		m, err := f.read(buf[n:])
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break // shorter than fstat said: the decoder reports truncation
		}
		n += m
	}
	return buf[:n], nil
}

// seenHeaders remembers, per record name, the idle timeout and deadline of
// the record file this process last loaded, and whether and under which key
// it is sealed (for Touch to refuse what Load would now refuse: the key set
// may have changed since), with the file's identity, so
// that a Touch after a Load need not read the header again (on NFS that is
// an OPEN, a READ and a CLOSE: the client drops its cached data after every
// touch). A record file is never changed in place: Save and Rekey write a
// new file, and only a touch, a rename or a link changes the inode's ctime
// otherwise. So the same device, inode, size and ctime mean the same
// header, where the ctime can tell (fileStat.identifiable); a file whose
// ctime moved (another host's Touch, this one's, the sweep's move-aside)
// is read again. Bounded; an entry dropped costs one
// header read.
type seenHeaders struct {
	mu sync.Mutex
	m  map[string]seenHeader
}

type seenHeader struct {
	dev, ino       uint64
	size           int64
	ctime          time.Time
	idle, deadline int64
	flags          uint16
	keyID          uint32
}

// maxSeenHeaders bounds seenHeaders at about 100 bytes an entry.
const maxSeenHeaders = 4096

// remember records h's times and sealing for the record file st.
func (c *seenHeaders) remember(name string, st fileStat, h *record.Header) {
	e := seenHeader{dev: st.dev, ino: st.ino, size: st.size, ctime: st.ctime, idle: h.Idle, deadline: h.Deadline, flags: h.Flags, keyID: h.KeyID}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]seenHeader)
	}
	if _, ok := c.m[name]; !ok && len(c.m) >= maxSeenHeaders {
		for n := range c.m { // an arbitrary victim: map order is random
			delete(c.m, n)
			break
		}
	}
	c.m[name] = e
}

// has reports whether an entry for name exists, whatever file it was for.
func (c *seenHeaders) has(name string) bool {
	c.mu.Lock()
	_, ok := c.m[name]
	c.mu.Unlock()
	return ok
}

// lookup returns what was remembered of the record file st, in a header
// that holds only the fields remember keeps.
func (c *seenHeaders) lookup(name string, st fileStat) (h record.Header, ok bool) {
	c.mu.Lock()
	e, ok := c.m[name]
	c.mu.Unlock()
	if !ok || e.dev != st.dev || e.ino != st.ino || e.size != st.size || !e.ctime.Equal(st.ctime) || !st.identifiable() {
		return record.Header{}, false
	}
	return record.Header{Idle: e.idle, Deadline: e.deadline, Flags: e.flags, KeyID: e.keyID}, true
}

// targetError is targetErr's: the path also tells a permission hint
// where the refused temp file, whose error names it alone, was.
type targetError struct {
	path string
	err  error
}

func (e *targetError) Error() string { return e.path + ": " + e.err.Error() }
func (e *targetError) Unwrap() error { return e.err }
