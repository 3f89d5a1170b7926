package fstab

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/sessfs/sessfs/internal/mountinfo"
	"github.com/sessfs/sessfs/internal/shellquote"
)

// Hosts is where a caller learns which file systems the host is meant to
// have mounted and whether one is: /etc/fstab and the directory tree
// itself (System), or a test's stand-ins.
type Hosts struct {
	Fstab   string                  // path of the fstab(5) file
	Mounted func(point string) bool // whether a file system is mounted at point
}

// System is the host's own: /etc/fstab and IsMountPoint.
var System = Hosts{Fstab: "/etc/fstab", Mounted: IsMountPoint}

// UnmountedShare returns why dir, missing or empty, is most likely a
// share that failed to mount: the /etc/fstab entry whose mount point holds
// dir (the longest such, never "/") when nothing is mounted there now.
// That is the classic failure: the mount failed at boot, the mount
// point is an empty directory of the root file system, and a directory below
// it is missing or empty as on a fresh volume. It returns "" when no entry
// holds dir, that entry is mounted, something is mounted on dir or between
// it and the entry's mount point (mountedBelow), or the file cannot be
// read (a container, which gets its volumes from elsewhere, has none).
func (h Hosts) UnmountedShare(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	f, err := os.Open(h.Fstab)
	if err != nil {
		return ""
	}
	defer f.Close()
	abs = resolveExisting(abs)
	e, ok := fstabEntryHolding(f, abs)
	if !ok || h.Mounted(e.point) || h.mountedBelow(e.at, abs) {
		return ""
	}
	return fmt.Sprintf("%s, which %s mounts (%s %s), is not mounted on this host: mount it (mount %s), and find out why it was not mounted at boot", e.point, h.Fstab, e.fstype, e.source, shellquote.Quote(e.point))
}

// mountedBelow reports whether a file system is mounted on abs or on a
// directory between it and point, which holds it: abs is then on that
// file system, not on the disk below point, whether or not point is
// mounted. A container's volume (or a share mounted by hand, by an autofs
// map or a systemd mount unit) below a mount point of an fstab the image
// or host brought along, which nothing mounts there, is where the store
// belongs; refused, the application could not start.
func (h Hosts) mountedBelow(point, abs string) bool {
	for p := abs; len(p) > len(point) && strings.HasPrefix(p, point+"/"); p = filepath.Dir(p) {
		if h.Mounted(p) {
			return true
		}
	}
	return false
}

// fstabEntry is one line of fstab(5); at is its mount point with the
// symbolic links of its existing part resolved (see resolveExisting).
type fstabEntry struct{ source, point, fstype, at string }

// fstabEntryHolding returns the entry of r whose mount point is abs or the
// nearest directory above it, leaving out the root file system, swap, and
// noauto entries: those are not mounted at boot, so an operator may leave
// one unmounted on purpose (a standby host, with --missing-ok), unless
// systemd mounts it on first access (x-systemd.automount). Both abs
// and the mount points are compared with their symbolic links resolved
// (see resolveExisting), so a directory reached through a link to the share,
// or a mount point written through one, is still found.
func fstabEntryHolding(r io.Reader, abs string) (fstabEntry, bool) {
	e, _, ok := entryHolding(r, abs, false)
	return e, ok
}

// entryHolding is fstabEntryHolding, also returning the entry's line
// number. loose reads only the lines that split at every Unicode white
// space (strings.Fields) give other fields than mount(8) reads, and reads
// them so: see MisreadShare.
func entryHolding(r io.Reader, abs string, loose bool) (fstabEntry, int, bool) {
	var best fstabEntry
	bestLen, bestLine := 0, 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := fields(sc.Text())
		if loose {
			lf := strings.Fields(sc.Text())
			if slices.Equal(f, lf) {
				continue
			}
			f = lf
		}
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		e := fstabEntry{source: mountinfo.Unescape(f[0]), point: filepath.Clean(mountinfo.Unescape(f[1])), fstype: mountinfo.Unescape(f[2])}
		var opts string
		if len(f) > 3 {
			opts = mountinfo.Unescape(f[3])
		}
		if !filepath.IsAbs(e.point) || e.point == "/" || e.fstype == "swap" || hasOption(opts, "noauto") && !hasOption(opts, "x-systemd.automount") {
			continue
		}
		point := resolveExisting(e.point)
		if point == "/" {
			continue
		}
		if (abs == point || strings.HasPrefix(abs, point+"/")) && len(point) > bestLen {
			e.at = point
			best, bestLen, bestLine = e, len(point), n
		}
	}
	return best, bestLine, best.point != ""
}

// MisreadShare returns a warning where dir, missing or empty, is below
// the mount point of an /etc/fstab line whose fields are separated by
// white space that mount(8) does not split at (a no-break space, U+00A0,
// or \v, as a line pasted from a web page or a word processor has): mount
// reads no such entry, so nothing mounts the share there, and
// UnmountedShare, reading as mount does, says nothing either. Split at
// every Unicode white space, the line names that mount point; where
// nothing is mounted on it, dir is most likely on the local disk below a
// share the operator meant to mount. A warning, not a refusal: the reading
// is a guess (such a character may be a mount point's own). Call it where
// UnmountedShare returned "": it returns "" where the entry mount(8) reads
// holds dir as closely, or where the looser reading finds nothing
// unmounted.
func (h Hosts) MisreadShare(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	f, err := os.Open(h.Fstab)
	if err != nil {
		return ""
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return ""
	}
	abs = resolveExisting(abs)
	e, line, ok := entryHolding(bytes.NewReader(text), abs, true)
	if !ok {
		return ""
	}
	if strict, ok := fstabEntryHolding(bytes.NewReader(text), abs); ok && len(strict.at) >= len(e.at) {
		return ""
	}
	if h.Mounted(e.point) || h.mountedBelow(e.at, abs) {
		return ""
	}
	return fmt.Sprintf("%s line %d names %s (%s %s) only if split at %s, which mount(8) does not split fields at: mount reads no such entry, and nothing is mounted on %s, so %s is most likely on the local disk below it; if the share belongs there, retype that line's white space as spaces and mount it (mount %s)",
		h.Fstab, line, e.point, e.fstype, e.source, oddSpace(nthLine(text, line)), e.point, abs, shellquote.Quote(e.point))
}

// nthLine returns line n (from 1) of text.
func nthLine(text []byte, n int) string {
	for i, l := range strings.Split(string(text), "\n") {
		if i == n-1 {
			return l
		}
	}
	return ""
}

// oddSpace names the first white space of line that is neither a space
// nor a tab.
func oddSpace(line string) string {
	for _, r := range line {
		if r == ' ' || r == '\t' || !unicode.IsSpace(r) {
			continue
		}
		switch r {
		case '\u00a0':
			return "a no-break space (U+00A0)"
		case '\v':
			return "a vertical tab (\\v)"
		case '\f':
			return "a form feed (\\f)"
		case '\r':
			return "a carriage return (\\r)"
		}
		return fmt.Sprintf("white space U+%04X", r)
	}
	return "white space"
}

// fields splits a line of fstab(5) into its fields as mount(8) does
// (libmount): separated by spaces and tabs only. Other white space (\r,
// \v, \f, U+00A0) is part of a field, unescaped, as in mountinfo: split
// there too (strings.Fields), a mount point holding it was read as a
// shorter one with the fields after it shifted (its options, noauto among
// them, read as the file system type), so a store below a share that
// failed to mount was not told apart from one on the share, or one below
// the shorter path was refused. The one "\r" before the newline that
// libmount drops, bufio.ScanLines has dropped already: a second one is
// the last field's, as libmount reads it ("noauto\r" is no noauto).
func fields(line string) []string {
	return strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
}

// hasOption reports whether the comma-separated options opts hold name.
func hasOption(opts, name string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == name {
			return true
		}
	}
	return false
}

// resolveExisting returns the absolute path p with the symbolic links of
// its longest existing ancestor resolved: a missing directory below a link to
// the share cannot be resolved whole, and its existing part says where it
// leads.
func resolveExisting(p string) string {
	var rest []string
	for q := p; ; {
		if r, err := filepath.EvalSymlinks(q); err == nil {
			slices.Reverse(rest)
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(q)
		if parent == q {
			return p
		}
		rest = append(rest, filepath.Base(q))
		q = parent
	}
}
