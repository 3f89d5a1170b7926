package fsstore

import (
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// TestNFSMountWarning: a store's NFS mount with an option the operator
// guide says never to use (soft, noac or actimeo=0, nocto,
// lookupcache=none, as /proc/self/mountinfo shows them) is named with
// why, and the guide's own options, or a mount that is not NFS, say
// nothing.
func TestNFSMountWarning(t *testing.T) {
	const efs = "40 25 0:35 / /mnt/efs rw,relatime shared:21 - nfs4 fs-1.efs.eu-west-1.amazonaws.com:/ rw,vers=4.1,rsize=1048576,wsize=1048576,namlen=255,"
	for _, tc := range []struct {
		name, line string
		want       []string // nil: no warning
	}{
		{"the guide's options", efs + "hard,noresvport,proto=tcp,timeo=600,retrans=2,sec=sys,local_lock=none", nil},
		{"soft", efs + "soft,noresvport,proto=tcp,timeo=600,retrans=2", []string{"/mnt/efs", "soft (", "mount hard"}},
		{"softerr", efs + "softerr,proto=tcp", []string{"softerr"}},
		{"noac", efs + "hard,noac,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,proto=tcp", []string{"noac (every stat a round trip"}},
		{"actimeo=0", efs + "hard,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,proto=tcp", []string{"actimeo=0"}},
		{"acregmax=0 alone", efs + "hard,acregmax=0,proto=tcp", nil},
		{"nocto", efs + "hard,nocto,proto=tcp", []string{"nocto"}},
		{"lookupcache=none", efs + "hard,lookupcache=none,proto=tcp", []string{"lookupcache=none"}},
		{"lookupcache=pos", efs + "hard,lookupcache=pos,proto=tcp", nil},
		{"soft and noac, both named", efs + "soft,noac,proto=tcp", []string{"soft (", "noac ("}},
		{"not NFS", "25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,soft", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := mountinfo.Parse(tc.line)
			if !ok {
				t.Fatalf("cannot parse %q", tc.line)
			}
			got := nfsMountWarning(m)
			if tc.want == nil && got != "" {
				t.Errorf("warned: %q", got)
			}
			if tc.want != nil && !strings.Contains(got, "docs/operator-guide.md") {
				t.Errorf("%q does not point at the operator guide", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not say %q", got, w)
				}
			}
		})
	}
}
