package mountinfo

import (
	"strings"
	"testing"
)

func TestExportHolding(t *testing.T) {
	const etab = `/srv/other	*(rw,sync,wdelay,hide,nocrossmnt,secure,root_squash,no_all_squash)
/srv/with\040space	192.0.2.0/24(rw,sync)
/srv/nfs	*(rw,sync,no_subtree_check)
`
	const kernel = `# Version 1.1
# Path Client(Flags) # IPs
/export	*(rw,no_root_squash,sync,wdelay,no_subtree_check,uuid=1f2e3d4c:00000000:00000000:00000000,sec=1)
`
	const v4root = `# Version 1.1
# Path Client(Flags) # IPs
/	*(ro,root_squash,sync,no_wdelay,no_subtree_check,v4root,fsid=0,uuid=00000000:00000000:00000000:00000000,sec=1)
/srv	*(ro,root_squash,sync,no_wdelay,no_subtree_check,v4root,uuid=5b2c3d4e:00000000:00000000:00000000,sec=1)
/srv/nfs	*(rw,root_squash,sync,wdelay,no_subtree_check,uuid=1f2e3d4c:00000000:00000000:00000000,sec=1)
`
	for _, tc := range []struct {
		table, abs, want string
	}{
		{etab, "/srv/nfs/sessions/locks", "/srv/nfs"},
		{etab, "/srv/nfs", "/srv/nfs"},
		{etab, "/srv/nfsx/locks", ""},
		{etab, "/srv/with space/locks", "/srv/with space"},
		{etab, "/var/lib/app/locks", ""},
		{kernel, "/export/store/locks", "/export"},
		{kernel, "/exports/store/locks", ""},
		{"", "/srv/nfs/locks", ""},
		{"# only a comment\n\n", "/srv/nfs/locks", ""},
		{"relative\t*(rw)\n", "relative/locks", ""},
		// mountd's NFSv4 pseudo-root and the directories above each
		// export, which the kernel lists once a v4 client walked them:
		// they give a client no file, so lock nothing.
		{v4root, "/var/lib/app/locks", ""},
		{v4root, "/srv/other/locks", ""},
		{v4root, "/srv/nfs/sessions/locks", "/srv/nfs"},
		{"/\t*(rw,v4root)\n/\t192.0.2.1(rw,sync)\n", "/var/lib/app/locks", "/"},
	} {
		got, ok := ExportHolding(strings.NewReader(tc.table), tc.abs)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("ExportHolding(%q, %s) = %q, %v; want %q", tc.table, tc.abs, got, ok, tc.want)
		}
	}
}
