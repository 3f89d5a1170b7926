package fsstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"time"
)

// fileStat is what the store needs of a file's attributes, the same on
// every platform.
type fileStat struct {
	dev, ino     uint64
	size         int64
	typ          fs.FileMode // type bits only: 0 for a regular file
	mtime, atime time.Time
}

var (
	errNotRegular = errors.New("not a regular file")
	errTooBig     = errors.New("file larger than the size limit")
)

// tempPrefix starts the name of every temp file. Sweeps recognise stale temp
// files by it; a dot keeps them out of casual listings.
const tempPrefix = ".tmp-"

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
	f, st, err := r.openRead(path)
	if err != nil {
		return nil, st, err
	}
	defer f.close()
	if st.size > int64(limit) {
		return nil, st, errTooBig
	}
	buf := make([]byte, st.size)
	n := 0
	for n < len(buf) {
		m, err := f.read(buf[n:])
		if err != nil {
			return nil, st, err
		}
		if m == 0 {
			break // shorter than fstat said: the decoder reports truncation
		}
		n += m
	}
	return buf[:n], st, nil
}
