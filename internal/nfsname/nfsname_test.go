package nfsname

import "testing"

func TestIsLeftover(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{".nfs000000000004a2b1000000a1", true}, // Linux
		{".nfs.00000001.0004", true},           // FreeBSD, macOS
		{".nfsA1B2", true},                     // Solaris
		{".nfs", true},
		{".NFS000000000004a2b1000000a1", false}, // names are case-sensitive
		{"nfs000000000004a2b1000000a1", false},
		{"x.nfs000000000004a2b1000000a1", false},
		{".nf", false},
		{".tmp-marker-123", false},
		{"", false},
	} {
		if got := IsLeftover(tc.name); got != tc.want {
			t.Errorf("IsLeftover(%q) = %v; want %v", tc.name, got, tc.want)
		}
	}
}
