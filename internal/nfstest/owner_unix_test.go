//go:build unix

package nfstest_test

import (
	"io/fs"
	"syscall"
	"testing"
)

// fileOwner returns the uid and gid that own the file fi describes.
func fileOwner(t *testing.T, fi fs.FileInfo) (uid, gid uint32) {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("%s: no owner in %T", fi.Name(), fi.Sys())
	}
	return st.Uid, st.Gid
}
