package lock

import (
	"testing"

	"github.com/sessfs/sessfs/internal/fdlimit"
	"github.com/sessfs/sessfs/internal/mountinfo"
)

// EFS is recognised by its DNS names and by efs-utils' local TLS tunnel;
// other NFS servers, a plain loopback mount and lookalike names are not.
func TestIsEFS(t *testing.T) {
	for _, tc := range []struct {
		source, options string
		want            bool
	}{
		{"fs-0123abcd.efs.us-east-1.amazonaws.com:/", "rw,vers=4.1", true},
		{"fs-0123abcd.efs.eu-west-3.amazonaws.com:/sessions", "rw,vers=4.1", true},
		{"us-east-1a.fs-0123abcd.efs.us-east-1.amazonaws.com:/", "rw", true},
		{"FS-0123ABCD.EFS.US-EAST-1.AMAZONAWS.COM:/", "rw", true},
		{"fs-0123abcd.efs.cn-north-1.amazonaws.com.cn:/", "rw", true},
		{"127.0.0.1:/", "rw,vers=4.1,port=20127", true},
		{"127.0.0.1:/sessions", "rw,port=20049", true},
		{"[::1]:/", "rw,port=21049", true},
		{"127.0.0.1:/", "rw,vers=4.1", false},    // loopback, no tunnel port
		{"127.0.0.1:/", "rw,port=2049", false},   // a local nfsd
		{"10.0.1.23:/", "rw,port=20127", false},  // not loopback
		{"10.0.1.23:/", "rw,vers=4.1", false},    // by IP: Config.EFS
		{"nfs.example.com:/export", "rw", false}, // other server
		{"efs.example.com:/", "rw", false},       // lookalike
		{"fs-1.efs.us-east-1.amazonaws.com.evil.example:/", "rw", false},
		{"", "", false},
	} {
		m := mountinfo.Mount{FSType: "nfs4", Source: tc.source, Options: tc.options}
		if got := isEFS(m); got != tc.want {
			t.Errorf("isEFS(%q, %q) = %v, want %v", tc.source, tc.options, got, tc.want)
		}
	}
}

// The defaults of MaxHeld and MaxOpen follow EFS and the descriptor
// limit; explicit values are kept, except that kept descriptors never
// exceed the descriptor budget.
func TestSetLimits(t *testing.T) {
	budget := max(fdlimit.Soft()/4, 1)
	for _, tc := range []struct {
		name               string
		cfg                Config
		wantHeld, wantOpen int
	}{
		{"defaults", Config{}, min(defaultMaxHeld, budget), min(defaultMaxOpen, budget)},
		{"efs", Config{efs: true}, min(defaultMaxHeldEFS, budget), min(defaultMaxOpen, budget)},
		{"explicit", Config{MaxHeld: 5, MaxOpen: 7}, 5, min(7, budget)},
		{"explicit-efs", Config{MaxHeld: 200, efs: true}, 200, min(defaultMaxOpen, budget)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.setLimits()
			if c.MaxHeld != tc.wantHeld || c.MaxOpen != tc.wantOpen {
				t.Fatalf("MaxHeld, MaxOpen = %d, %d; want %d, %d", c.MaxHeld, c.MaxOpen, tc.wantHeld, tc.wantOpen)
			}
		})
	}
}
