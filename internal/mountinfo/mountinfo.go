// Package mountinfo finds the mount that holds a path and reports its
// filesystem type and options, from /proc/self/mountinfo on Linux.
package mountinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Mount describes one entry of /proc/self/mountinfo.
type Mount struct {
	ID, Parent string // the mount's ID and that of the mount it is on
	Dev        string // major:minor of its file system
	Root       string // the directory of its file system mounted at Point ("/": the whole)
	Point      string // mount point
	FSType     string // e.g. "nfs4", "ext4", "tmpfs"
	Source     string // e.g. "fs-123.efs.us-east-1.amazonaws.com:/"
	// Options are the per-mount options, then the superblock options,
	// each once, where it first appears: "rw" is in both fields of every
	// writable mount.
	Options string
}

// IsNFS reports whether the mount is an NFS mount (any version).
func (m Mount) IsNFS() bool { return m.FSType == "nfs" || m.FSType == "nfs4" }

// Option returns the value of a key=value option and whether it is present;
// a bare flag such as "hard" is present with an empty value.
func (m Mount) Option(key string) (string, bool) {
	for _, o := range strings.Split(m.Options, ",") {
		k, v, _ := strings.Cut(o, "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}

// ErrUnavailable reports that mount information cannot be read here (not
// Linux, or /proc not mounted).
var ErrUnavailable = errors.New("mountinfo: /proc/self/mountinfo unavailable")

// Lookup returns the mount holding path: the entry with the longest mount
// point that is a prefix of the cleaned, symlink-resolved absolute path.
func Lookup(path string) (Mount, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Mount{}, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Mount{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer f.Close()
	return lookup(f, abs)
}

// Table returns every entry of /proc/self/mountinfo, in its order (a
// mount after the one it is on).
func Table() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer f.Close()
	var t []Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m, ok := Parse(sc.Text()); ok {
			t = append(t, m)
		}
	}
	return t, sc.Err()
}

func lookup(r io.Reader, abs string) (Mount, error) {
	var best Mount
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m, ok := Parse(sc.Text())
		if !ok || !within(abs, m.Point) {
			continue
		}
		// Later entries shadow earlier ones mounted on the same point.
		if !found || len(m.Point) >= len(best.Point) {
			best, found = m, true
		}
	}
	if err := sc.Err(); err != nil {
		return Mount{}, err
	}
	if !found {
		return Mount{}, fmt.Errorf("mountinfo: no mount holds %s", abs)
	}
	return best, nil
}

func within(path, point string) bool {
	if point == "/" {
		return true
	}
	return path == point || strings.HasPrefix(path, point+"/")
}

// Parse parses one line of /proc/self/mountinfo (see proc(5)). It reports
// false for a malformed line.
func Parse(line string) (Mount, bool) {
	// Fields are separated by single spaces. The kernel escapes space, tab,
	// newline and backslash in paths and nothing else, so a path may hold
	// other white space (\r, U+00A0) that strings.Fields would split on.
	f := strings.Split(line, " ")
	// id parent major:minor root point options [optional...] - fstype source superopts
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+1 >= len(f) {
		return Mount{}, false
	}
	m := Mount{ID: f[0], Parent: f[1], Dev: f[2], Root: Unescape(f[3]), Point: Unescape(f[4]), Options: f[5], FSType: f[sep+1]}
	if sep+2 < len(f) {
		m.Source = Unescape(f[sep+2])
	}
	if sep+3 < len(f) {
		m.Options += "," + f[sep+3]
	}
	m.Options = once(m.Options)
	return m, true
}

// once returns the comma-separated list opts with each item kept only
// where it first appears.
func once(opts string) string {
	items := strings.Split(opts, ",")
	out := items[:0]
	for _, o := range items {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return strings.Join(out, ",")
}

// Unescape undoes the octal escapes (\040 for a space) of mountinfo's
// fields, which /etc/fstab and the NFS server's export tables use too.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOct(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }

// ExportHolding reads an NFS server's export table (the kernel's,
// /proc/fs/nfsd/exports, or exportfs's, /var/lib/nfs/etab: one export a
// line, its path first, octal-escaped as in mountinfo, then a tab and its
// clients) and returns the exported path that holds abs, a cleaned,
// symlink-resolved absolute path. The kernel's NFSv4 pseudo-filesystem
// entries (option v4root: "/" and the directories above each export,
// which mountd adds once a v4 client walks them) export no file, and are
// skipped: "/" would hold every path of the host.
func ExportHolding(r io.Reader, abs string) (string, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		p, client, _ := strings.Cut(strings.TrimRight(line, "\r"), "\t")
		p, _, _ = strings.Cut(p, " ")
		if _, opts, ok := strings.Cut(client, "("); ok {
			opts, _, _ = strings.Cut(opts, ")")
			if slices.Contains(strings.Split(opts, ","), "v4root") {
				continue
			}
		}
		if p = Unescape(p); strings.HasPrefix(p, "/") && within(abs, p) {
			return p, true
		}
	}
	return "", false
}
