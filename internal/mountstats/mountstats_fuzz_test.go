package mountstats

import (
	"strings"
	"testing"
)

// FuzzParse: mountstats text comes from the kernel, and from files a user
// points sessbench at. Parse never panics, and the groups of what it
// returns add up to no more than its total plus what Total leaves out.
func FuzzParse(f *testing.F) {
	f.Add(sample, "/mnt/efs")
	f.Add(sample, "/")
	f.Add("device srv:/ mounted on /mnt/efs with fstype nfs4 statvers=1.1\n\tper-op statistics\n\t        READ: 1 1 0 0 0 0 0 0 0\n", "/mnt/efs")
	f.Add("device srv:/ mounted on /mnt/efs with fstype nfs4\n\tper-op statistics\n\tREAD: x\n", "/mnt/efs")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, text, point string) {
		c, err := Parse(strings.NewReader(text), point)
		if err != nil {
			return
		}
		var all uint64
		for _, n := range c {
			all += n
		}
		if c.Total() > all {
			t.Fatalf("Total %d is more than the counts' sum %d", c.Total(), all)
		}
		_ = c.String()
	})
}
