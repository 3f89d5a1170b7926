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
	} {
		got, ok := ExportHolding(strings.NewReader(tc.table), tc.abs)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("ExportHolding(%q, %s) = %q, %v; want %q", tc.table, tc.abs, got, ok, tc.want)
		}
	}
}
