package fsstore

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"strconv"
	"syscall"
)

// processUmask returns the process's umask, from /proc/self/status
// (Linux 4.7 on): umask(2) tells it only by changing it, for every thread
// of the process at once. known is false where the line is missing.
func processUmask() (umask fs.FileMode, known bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		v, ok := bytes.CutPrefix(sc.Bytes(), []byte("Umask:"))
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 32)
		if err != nil || n > 0o777 {
			return 0, false
		}
		return fs.FileMode(n), true
	}
	return 0, false
}

// hasDefaultACL reports whether dir carries a default POSIX ACL, which the
// kernel applies instead of the umask to the files and directories created
// in it. A file system without ACLs has none.
func hasDefaultACL(dir string) bool {
	n, err := syscall.Getxattr(dir, "system.posix_acl_default", nil)
	return err == nil && n > 0
}
