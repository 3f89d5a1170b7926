package mountinfo

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// escape writes a field the way the kernel does in mountinfo: space, tab,
// newline and backslash as three-digit octal escapes.
func escape(s string) string {
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

// FuzzMountinfoParse: Parse never panics on any line, and a line built the
// way the kernel builds one parses back to its fields.
func FuzzMountinfoParse(f *testing.F) {
	f.Add("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue", "/mnt/efs", "nfs4", "fs-1.efs.amazonaws.com:/", "rw,relatime", "vers=4.1,local_lock=none")
	f.Add(`97 29 0:52 / /mnt/with\040space rw shared:5 - nfs 10.0.0.1:/export rw,vers=3`, "/a b", "tmpfs", "tmpfs", "rw", "size=256k")
	f.Add("", "/", "x", "", "", "")
	f.Add("1 2 3:4 / / rw - ", `/\`, "nfs", "s", "o", "rw")
	f.Fuzz(func(t *testing.T, line, point, fstype, source, opts, superOpts string) {
		Parse(line) // must not panic
		// Build only lines the kernel can produce: no NUL in paths, and
		// fstype and options (which the kernel does not escape) free of
		// white space and backslashes. Mount points and sources may hold
		// anything else, raw: the kernel escapes only space, tab, newline
		// and backslash.
		if point == "" || fstype == "" || source == "" || opts == "" || superOpts == "" || strings.ContainsRune(point+source, 0) {
			return
		}
		if strings.ContainsFunc(fstype+opts+superOpts, func(r rune) bool { return unicode.IsSpace(r) || r == '\\' || r == 0 || r == utf8.RuneError }) {
			return
		}
		built := fmt.Sprintf("36 35 98:0 / %s %s shared:1 - %s %s %s", escape(point), opts, fstype, escape(source), superOpts)
		m, ok := Parse(built)
		if !ok {
			t.Fatalf("Parse(%q) refused a well-formed line", built)
		}
		var want []string
		for _, o := range strings.Split(opts+","+superOpts, ",") {
			if !slices.Contains(want, o) {
				want = append(want, o)
			}
		}
		if m.Point != point || m.FSType != fstype || m.Source != source || m.Options != strings.Join(want, ",") {
			t.Fatalf("Parse(%q) = %+v", built, m)
		}
	})
}

func TestLookupLongestPrefix(t *testing.T) {
	table := strings.Join([]string{
		"1 0 8:1 / / rw - ext4 /dev/sda1 rw",
		"2 1 0:40 / /mnt/efs rw - nfs4 fs:/ rw,local_lock=none",
		"3 1 0:41 / /mnt/efsx rw - tmpfs tmpfs rw",
		`4 2 0:42 / /mnt/efs/a\040b rw - nfs 10.0.0.1:/x rw,local_lock=flock`,
	}, "\n")
	for _, tc := range []struct{ path, fstype string }{
		{"/mnt/efs/sessions", "nfs4"},
		{"/mnt/efsx/s", "tmpfs"},
		{"/mnt/efs", "nfs4"},
		{"/mnt/efs/a b/c", "nfs"},
		{"/home", "ext4"},
	} {
		m, err := lookup(strings.NewReader(table), tc.path)
		if err != nil || m.FSType != tc.fstype {
			t.Errorf("lookup(%q) = %+v, %v; want %s", tc.path, m, err, tc.fstype)
		}
	}
}

// TestParseOptionsOnce: an option in both the per-mount and the
// superblock field ("rw" on every writable mount) is listed once, where
// it first appears; sessbench's mount_options repeated it.
func TestParseOptionsOnce(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro", "rw,relatime,errors=remount-ro"},
		{"97 29 0:52 / /mnt/efs rw,relatime shared:5 - nfs4 fs:/ rw,vers=4.1,hard,rw", "rw,relatime,vers=4.1,hard"},
		// A value differing is another option: both stay, in order.
		{"3 1 0:41 / /ro ro,relatime - tmpfs tmpfs rw,size=1k", "ro,relatime,rw,size=1k"},
		{"3 1 0:41 / /x rw - tmpfs tmpfs size=1k,size=2k", "rw,size=1k,size=2k"},
	} {
		m, ok := Parse(tc.line)
		if !ok || m.Options != tc.want {
			t.Errorf("Parse(%q).Options = %q, want %q", tc.line, m.Options, tc.want)
		}
	}
}
