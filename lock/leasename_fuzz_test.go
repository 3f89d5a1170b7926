package lock

import (
	"strings"
	"testing"
)

// FuzzLeaseFileName: the sweep passes every name in the lock directory to
// IsLeaseFile and LeaseLeftoverInUse's claimOf. They never panic, and what
// they return is a part of the name they were given.
func FuzzLeaseFileName(f *testing.F) {
	for _, s := range []string{"0a1f.lease", "0a1f.lease.claim-0123456789abcdef0123456789abcdef-0",
		"0a1f.lease.claim-i12345-7", "0a1f.lease.take-0123456789abcdef0123456789abcdef",
		"0a1f.lease.broken-ab", ".lease", ".lease.claim--", "x.lease.claim-", "0a1f", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		lockName, broken, ok := IsLeaseFile(name)
		if ok && (lockName == "" || !strings.HasPrefix(name, lockName+leaseSuffix)) {
			t.Fatalf("IsLeaseFile(%q) = %q, %v, %v", name, lockName, broken, ok)
		}
		if !ok && (lockName != "" || broken) {
			t.Fatalf("IsLeaseFile(%q) = %q, %v, false", name, lockName, broken)
		}
		if l, id, ok := claimOf(name); ok {
			if l == "" || id == "" || !strings.HasPrefix(name, l+leaseSuffix+claimInfix+id+"-") {
				t.Fatalf("claimOf(%q) = %q, %q", name, l, id)
			}
			if _, broken, isLease := IsLeaseFile(name); !isLease || !broken {
				t.Fatalf("claimOf(%q) is a claim, but IsLeaseFile says %v, %v", name, broken, isLease)
			}
		}
	})
}
