//go:build !linux && !darwin && !freebsd

package fsstore

// fileID identifies a file and tells whether it still has a name.
type fileID struct {
	ino, dev uint64
	nlink    uint32
}

func (*rootDir) statFresh(p string) (fileID, error) { return fileID{}, platformErr }
