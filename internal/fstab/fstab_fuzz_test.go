package fstab

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// mangle escapes s for a field of fstab(5) as mount(8) and the kernel
// write one: space, tab, newline and backslash in octal.
func mangle(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, `\%03o`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzFstabEntry: /etc/fstab is read as mount(8) reads it (libmount:
// fields split at spaces and tabs only, octal escapes undone, one "\r"
// before the newline dropped). Whatever the file holds, the entry found
// holds the directory and is never the root file system; and an entry
// written for any mount point, escaped as fstab(5) has it, is the one
// found for a store below that point, unless it is noauto, with or
// without its dump and pass fields, and no entry for a store beside it
// whose directory's name starts with the point's ("/mnt/a b" beside
// "/mnt/a"): the first check sees a random file, which can hardly name
// the test's temporary directory, so it alone never saw a match. An
// entry read otherwise names a mount point that is not the share's: a
// store on the local disk below a share that failed to mount is not told
// apart (the fleet's sessions split), or a store on another disk is
// refused. The looser reading (MisreadShare), split at every white space,
// finds an entry that holds the directory too, and the line written with
// no-break spaces for its blanks, which mount(8) reads as no entry, as the
// entry for its point.
func FuzzFstabEntry(f *testing.F) {
	root := f.TempDir()
	f.Add("/dev/sdb1 /mnt/data xfs defaults 0 2\n# comment\nUUID=x /mnt/data/app ext4 noauto 0 0\n", "app/sessions", "share", false, false)
	f.Add("srv:/e /mnt/a\\040b nfs4 rw,x-systemd.automount,noauto 0 0\r\n", "a b/sessions", "a b", true, false)
	f.Add("\t# indented comment\n /dev/sdc /srv swap sw 0 0\nsrv:/x / nfs defaults\n", "srv/s", "efs\\share", false, true)
	f.Add("a\n\n  \nb c\n", "x", "new\nline", true, true)
	f.Add("", "", "tab\tname", false, false)
	f.Add("srv:/e\u00a0/mnt/x\u00a0nfs4\u00a0defaults\u00a00\u00a00\n", "x/sessions", "pasted", false, false)
	f.Add("srv:/e\v/\vnfs4\vdefaults\nsrv:/f /mnt\u3000nfs4 defaults\n", "s", "a\u00a0b", true, false)
	f.Fuzz(func(t *testing.T, tab, below, name string, crlf, noauto bool) {
		// Any file: the entry found holds the directory.
		dir := filepath.Join(root, below)
		if strings.HasPrefix(dir, root+"/") {
			abs := resolveExisting(dir)
			if e, ok := fstabEntryHolding(strings.NewReader(tab), abs); ok {
				if e.point == "/" || e.at == "/" || abs != e.at && !strings.HasPrefix(abs, e.at+"/") {
					t.Fatalf("fstab %q: the entry for %s is %+v", tab, abs, e)
				}
			}
			// So does the entry of the looser reading (MisreadShare).
			if e, n, ok := entryHolding(strings.NewReader(tab), abs, true); ok {
				if e.point == "/" || e.at == "/" || abs != e.at && !strings.HasPrefix(abs, e.at+"/") || n < 1 {
					t.Fatalf("fstab %q: read loosely, the entry for %s is %+v (line %d)", tab, abs, e, n)
				}
			}
		}
		// One entry for point, escaped as fstab(5) has it.
		point := filepath.Join(root, name)
		if !strings.HasPrefix(point, root+"/") {
			return
		}
		opts := "defaults,_netdev"
		if noauto {
			opts += ",noauto"
		}
		eol := "\n"
		if crlf {
			eol = "\r\n"
		}
		// With its dump and pass fields and without (fstab(5) lets them
		// be left out, the options then end the line). A store beside
		// point, in a directory whose name starts with point's ("/mnt/a b"
		// beside "/mnt/a"), is not below it.
		abs := resolveExisting(filepath.Join(point, "sessions"))
		beside := resolveExisting(filepath.Join(point+" b", "sessions"))
		for _, tail := range []string{" 0 0", ""} {
			line := "# /etc/fstab" + eol + "srv:/export " + mangle(point) + " nfs4 " + opts + tail + eol
			e, ok := fstabEntryHolding(strings.NewReader(line), abs)
			switch {
			case noauto && ok:
				t.Fatalf("fstab %q: a noauto entry was taken for %s: %+v", line, abs, e)
			case noauto:
			case !ok || e.point != point || e.source != "srv:/export" || e.fstype != "nfs4":
				t.Fatalf("fstab %q: for %s got %+v (found %v), want the entry for %q", line, abs, e, ok, point)
			}
			if e, ok := fstabEntryHolding(strings.NewReader(line), beside); ok {
				t.Fatalf("fstab %q: the entry for %s is %+v, which does not hold it", line, beside, e)
			}
			// The same line pasted with no-break spaces for its blanks is
			// no entry to mount(8); split at every white space (a point
			// holding none itself), it is the entry for point, on its
			// line.
			pasted := strings.ReplaceAll(line, " ", "\u00a0")
			if e, ok := fstabEntryHolding(strings.NewReader(pasted), abs); ok {
				t.Fatalf("fstab %q: mount(8) reads no entry, but %+v was read for %s", pasted, e, abs)
			}
			e, n, ok := entryHolding(strings.NewReader(pasted), abs, true)
			switch {
			case strings.ContainsFunc(point, unicode.IsSpace):
				// Split there too: another entry, or none.
			case noauto && ok:
				t.Fatalf("fstab %q: read loosely, a noauto entry was taken for %s: %+v", pasted, abs, e)
			case noauto:
			case !ok || e.point != point || n != 2:
				t.Fatalf("fstab %q: read loosely, for %s got %+v on line %d (found %v), want the entry for %q on line 2", pasted, abs, e, n, ok, point)
			}
		}
	})
}
