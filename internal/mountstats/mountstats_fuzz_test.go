package mountstats

import (
	"math/bits"
	"strings"
	"testing"
)

// FuzzParse: mountstats text comes from the kernel, and from files a user
// points sessbench at. Parse never panics, and Total, which leaves some
// operations out, is never more than all the counts added up.
func FuzzParse(f *testing.F) {
	f.Add(sample, "/mnt/efs")
	f.Add(sample, "/")
	f.Add("device srv:/ mounted on /mnt/efs with fstype nfs4 statvers=1.1\n\tper-op statistics\n\t        READ: 1 1 0 0 0 0 0 0 0\n", "/mnt/efs")
	f.Add("device srv:/ mounted on /mnt/efs with fstype nfs4\n\tper-op statistics\n\tREAD: x\n", "/mnt/efs")
	f.Add("device srv:/ mounted on /m with fstype nfs4\n\tper-op statistics\n\t        READ: 18446744073709551615 1 0 0 0 0 0 0 0\n\t    SEQUENCE: 1 1 0 0 0 0 0 0 0\n", "/m")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, text, point string) {
		c, err := Parse(strings.NewReader(text), point)
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
