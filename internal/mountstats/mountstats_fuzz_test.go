package mountstats

import (
	"math/bits"
	"path"
	"strings"
	"testing"
)

// FuzzParse: mountstats text comes from the kernel, and from files a user
// points sessbench at. Parse never panics, and Total, which leaves some
// operations out, is never more than all the counts added up. An entry for
// a mount at point, escaped as the kernel escapes it, after whatever text
// came before it (unless that holds a count the kernel would not write
// in an entry at point, which fails the whole text), gives back its counts: a mount point with a space, a
// tab, a newline or a backslash in it is found, and no other entry's
// counts are taken for its.
func FuzzParse(f *testing.F) {
	f.Add(sample, "/mnt/efs")
	f.Add(sample, "/")
	f.Add("device srv:/ mounted on /mnt/efs with fstype nfs4 statvers=1.1\n\tper-op statistics\n\t        READ: 1 1 0 0 0 0 0 0 0\n", "/mnt/efs")
	f.Add("device srv:/ mounted on /mnt/efs with fstype nfs4\n\tper-op statistics\n\tREAD: x\n", "/mnt/efs")
	f.Add("device srv:/ mounted on /m with fstype nfs4\n\tper-op statistics\n\t        READ: 18446744073709551615 1 0 0 0 0 0 0 0\n\t    SEQUENCE: 1 1 0 0 0 0 0 0 0\n", "/m")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, text, point string) {
		c, err := Parse(strings.NewReader(text), point)
		// A count the kernel would not write, in an entry at point, fails
		// the whole text; otherwise an entry after the text is found.
		damaged := err != nil && strings.Contains(err.Error(), ": op ")
		if point != "" && !strings.ContainsRune(point, 0) && len(text) < 1<<16 && !damaged {
			before := text
			if before != "" && !strings.HasSuffix(before, "\n") {
				before += "\n"
			}
			entry := before + "device srv:/x mounted on " + escaper.Replace(path.Clean(point)) + " with fstype nfs4 statvers=1.1\n" +
				"\topts:\trw,vers=4.1\n\tper-op statistics\n" +
				"\t        NULL: 0 0 0 0 0 0 0 0 0\n\t        READ: 7 7 0 1 2 3 4 5 0\n\t      RENAME: 3 3 0 0 0 0 0 0 0\n"
			c, err := Parse(strings.NewReader(entry), point)
			if err != nil || len(c) != 3 || c["READ"] != 7 || c["RENAME"] != 3 || c["NULL"] != 0 {
				t.Fatalf("Parse of an entry at %q after %q: %v, %v; want NULL 0, READ 7, RENAME 3", point, text, c, err)
			}
		}
		if err != nil {
			return
		}
		var all, carry uint64
		for _, n := range c {
			all, carry = bits.Add64(all, n, 0)
			if carry != 0 {
				return // counts the kernel would need centuries for
			}
		}
		if c.Total() > all {
			t.Fatalf("Total %d is more than the counts' sum %d", c.Total(), all)
		}
		_ = c.String()
	})
}
