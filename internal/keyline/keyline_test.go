package keyline

import "testing"

func TestHolds(t *testing.T) {
	const std = "BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v+4="
	const url = "BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v-4"
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"1 " + std, true},
		{"1 " + url, true},
		{"1 " + std + "\n2 " + url + "\n", true},
		{"/etc/sessfs/keys", false},
		{"/etc/sessfs/1 " + std, true},
		{"/var/run/secrets/..2026_12_06_23_47_31.123456789/keys", false},
		{std[:40], false},
		{"", false},
	} {
		if got := Holds(tc.s); got != tc.want {
			t.Errorf("Holds(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	const std = "BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v+4="
	const url = "BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v-4"
	for _, tc := range []struct{ s, want string }{
		{"/etc/sessfs/keys: no such file", "/etc/sessfs/keys: no such file"},
		{`got ["` + std + `" "2" "` + url + `"]`, `got ["` + Redacted + `" "2" "` + Redacted + `"]`},
		{`invalid argument "1 ` + std + `\n2 ` + url + `"`, `invalid argument "1 ` + Redacted + `\n2 ` + Redacted + `"`},
		{std[:40], std[:40]},
		{"", ""},
	} {
		if got := Redact(tc.s); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
