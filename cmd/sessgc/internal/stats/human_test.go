package stats

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteHumanSubMillisecond: a census of a small store, shorter than a
// millisecond, said "took 0s"; the JSON report keeps its seconds.
func TestWriteHumanSubMillisecond(t *testing.T) {
	var b bytes.Buffer
	writeHuman(&b, &Report{Dir: "/s", DurationSecs: 0.0004})
	if want := "took      <1ms\n"; !strings.Contains(b.String(), want) {
		t.Errorf("report %q, want it to hold %q", b.String(), want)
	}
}

// TestWriteHumanMount: the mount line says what this OS told, and says so
// where it told nothing.
func TestWriteHumanMount(t *testing.T) {
	for _, tc := range []struct {
		r    Report
		want string
	}{
		{Report{FSType: "nfs4", MountSource: "fs-1.efs.us-east-1.amazonaws.com:/", MountPoint: "/mnt/efs"}, "mount     nfs4 fs-1.efs.us-east-1.amazonaws.com:/ on /mnt/efs\n"},
		{Report{FSType: "ext4"}, "mount     ext4\n"},
		{Report{}, "mount     file system not named on this OS\n"},
	} {
		var b bytes.Buffer
		writeHuman(&b, &tc.r)
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("report %q, want it to hold %q", b.String(), tc.want)
		}
	}
}
