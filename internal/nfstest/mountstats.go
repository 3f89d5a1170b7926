package nfstest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats holds per-operation NFS RPC counts of one mount, keyed by the
// operation names of /proc/self/mountstats ("OPEN", "CLOSE", "GETATTR",
// "LOOKUP", "READ", "WRITE", "COMMIT", "LOCK", ...).
type Stats map[string]uint64

// RPCStats returns the number of RPCs sent so far, per operation, for the
// NFS mount at mnt ("" means Mount()), from /proc/self/mountstats of this
// process's mount namespace. In the harness each host's mount is visible
// only to that host's processes.
func RPCStats(mnt string) (Stats, error) {
	if mnt == "" {
		mnt = Mount()
	}
	f, err := os.Open("/proc/self/mountstats")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountStats(f, mnt)
}

// parseMountStats reads the "per-op statistics" block of the device whose
// mount point is mnt. Each line there is "OP: ops transmissions timeouts
// ..."; we keep the first number, the operations requested.
func parseMountStats(r io.Reader, mnt string) (Stats, error) {
	mnt = filepath.Clean(mnt)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var st Stats
	inDev, inOps := false, false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "device ") {
			if st != nil {
				break // the block we wanted has ended
			}
			// device SRC mounted on MNT with fstype TYPE ...
			f := strings.Fields(line)
			inDev = len(f) >= 5 && f[2] == "mounted" && f[3] == "on" && unescape(f[4]) == mnt
			inOps = false
			if inDev {
				st = Stats{}
			}
			continue
		}
		if !inDev {
			continue
		}
		s := strings.TrimSpace(line)
		if s == "per-op statistics" {
			inOps = true
			continue
		}
		if !inOps || s == "" {
			continue
		}
		name, rest, ok := strings.Cut(s, ":")
		if !ok {
			continue
		}
		nums := strings.Fields(rest)
		if len(nums) == 0 {
			continue
		}
		n, err := strconv.ParseUint(nums[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("nfstest: mountstats: bad line %q", s)
		}
		st[name] = n
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("nfstest: no NFS mount at %s in /proc/self/mountstats", mnt)
	}
	return st, nil
}

// unescape undoes the octal escapes (\040 for a space) of mount paths.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Diff returns after-before for each operation whose count changed.
func Diff(before, after Stats) Stats {
	d := Stats{}
	for op, n := range after {
		if n != before[op] {
			d[op] = n - before[op]
		}
	}
	return d
}

// Total returns the sum of all counts.
func (s Stats) Total() uint64 {
	var n uint64
	for _, v := range s {
		n += v
	}
	return n
}

// String formats the nonzero counts as "GETATTR=1 OPEN=2", sorted by name.
func (s Stats) String() string {
	var parts []string
	for _, op := range sortedKeys(s) {
		if s[op] != 0 {
			parts = append(parts, op+"="+strconv.FormatUint(s[op], 10))
		}
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, " ")
}
