package lock

import (
	"strings"
	"testing"
)

// FuzzLockName: a name validName accepts (a caller's lock name) is one
// path element that no listing of the lock directory takes for anything
// but its own lock: its flock file is no lease file and no dot file, and
// its lease file, and the claims, replacements and broken leases a
// breaker makes beside it, all give the name back. ParseStrategy, which
// reads --lock-strategy and the recorded strategy, reads back what String
// prints for every strategy it accepts.
func FuzzLockName(f *testing.F) {
	for _, s := range []string{"0a1f", "marker", "sweep", ".probe", "a/b", `a\b`, "a:b", "x.lease", "x.leas", "x.lease.claim-1-2", "", "é", strings.Repeat("n", 201), "FLOCK", "Lease", "auto"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if st, err := ParseStrategy(name); err == nil {
			if back, err := ParseStrategy(st.String()); err != nil || back != st {
				t.Fatalf("ParseStrategy(%q) = %v, whose String reads back as %v, %v", name, st, back, err)
			}
		}
		if !validName(name) {
			return
		}
		if strings.ContainsAny(name, "/\x00") || name == "." || name == ".." || strings.HasPrefix(name, ".") {
			t.Fatalf("validName(%q): not one plain path element", name)
		}
		if _, _, ok := IsLeaseFile(name); ok || !isFlockFile(name) {
			t.Fatalf("the flock file %q passes for a lease file (%v) or is not a flock file's (%v)", name, ok, isFlockFile(name))
		}
		lease := name + leaseSuffix
		if l, broken, ok := IsLeaseFile(lease); !ok || broken || l != name || isFlockFile(lease) {
			t.Fatalf("IsLeaseFile(%q) = %q, %v, %v; flock file %v", lease, l, broken, ok, isFlockFile(lease))
		}
		if _, _, ok := claimOf(lease); ok {
			t.Fatalf("the lease file %q passes for a claim", lease)
		}
		token := newToken()
		for _, left := range []string{lease + claimInfix + token + "-0", lease + takeInfix + token, lease + brokenInfix + token} {
			if l, broken, ok := IsLeaseFile(left); !ok || !broken || l != name || isFlockFile(left) {
				t.Fatalf("IsLeaseFile(%q) = %q, %v, %v; flock file %v", left, l, broken, ok, isFlockFile(left))
			}
		}
		if l, id, ok := claimOf(lease + claimInfix + token + "-7"); !ok || l != name || id != token {
			t.Fatalf("claimOf(a claim on %q by %s) = %q, %q, %v", name, token, l, id, ok)
		}
	})
}
