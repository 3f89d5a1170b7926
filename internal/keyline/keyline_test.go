package keyline

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

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
		// Quoted: an escape's letter or digits glued to the secret.
		{`"7\t` + std + `"`, true},
		{`"7\u0009` + url + `"`, true},
		{`C:\` + std, true},
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
		{`{"dir":"7\t` + std + `"}`, `{"dir":"7\t` + Redacted + `"}`},
		{`dir="/x/7\u0009` + url + ` y"`, `dir="/x/7\u0009` + Redacted + ` y"`},
		{`C:\` + std + `\keys`, `C:\` + Redacted + `\keys`},
	} {
		if got := Redact(tc.s); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestRedactGiven(t *testing.T) {
	const std = "BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v+4="
	const url = "BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v-4"
	// A name the store makes: 43 characters of the URL-safe alphabet,
	// which decode as 32 bytes, a secret's length.
	const temp = "tmp-probe-07b7385762d0b0bb-5d67d888755b3c04"
	if !Holds(temp) {
		t.Fatalf("%s does not read as a secret: the case below tests nothing", temp)
	}
	for _, tc := range []struct {
		s     string
		given []string
		want  string
	}{
		{"create temp /srv/s/data/.tmp-." + temp + ": read-only file system", []string{"run", "--dir", "/srv/s"},
			"create temp /srv/s/data/.tmp-." + temp + ": read-only file system"},
		{"store /srv/1 " + std + " and " + temp, []string{"--dir", "/srv/1 " + std},
			"store /srv/1 " + Redacted + " and " + temp},
		{"got " + url + " and " + std, []string{"1 " + std + "\n2 " + url + "\n"}, "got " + Redacted + " and " + Redacted},
		{"no input " + std, nil, "no input " + std},
		// A secret is what the user gave, wherever it stands in an
		// argument: a long flag's value after "=", a short flag's glued
		// to its letter, a path's component, a variable's value.
		{"store directory " + url + " does not exist", []string{"run", "--dir=" + url}, "store directory " + Redacted + " does not exist"},
		{"store directory " + std + " does not exist", []string{"run", "-d" + std}, "store directory " + Redacted + " does not exist"},
		{"store directory " + url + " does not exist", []string{"run", "-qd" + url}, "store directory " + Redacted + " does not exist"},
		{"store directory /srv/" + std + " does not exist", []string{"/srv/" + std}, "store directory /srv/" + Redacted + " does not exist"},
		{"store directory /srv/" + std + "/s does not exist", []string{"--dir=/srv/" + std + "/s"}, "store directory /srv/" + Redacted + "/s does not exist"},
		{"--textfile /x/" + std + ".prom: stat /x: no such file", []string{"--textfile=/x/" + std + ".prom"}, "--textfile /x/" + Redacted + ".prom: stat /x: no such file"},
		// A path's component of 43 URL-safe characters is a name, not a
		// secret: only the padded standard form, a keys file's, counts
		// there (a Go test's temporary directory was shown redacted).
		{"remove /tmp/TestDryRunAgreesInStickyDirectory3554290276/001/data: operation not permitted", []string{"--dir", "/tmp/TestDryRunAgreesInStickyDirectory3554290276/001"},
			"remove /tmp/TestDryRunAgreesInStickyDirectory3554290276/001/data: operation not permitted"},
		{"store /srv/" + url + "/s", []string{"--dir=/srv/" + url + "/s"}, "store /srv/" + url + "/s"},
		{"keys in " + url, []string{"SESSGC_KEYS_FILE=" + url}, "keys in " + Redacted},
		// A secret after a "-", up to an "=", and a standard one quoted
		// without its padding: pflag cuts "--bogus-SECRET=" at the "=".
		{"unknown flag: --bogus-" + std[:43], []string{"run", "--bogus-" + std}, "unknown flag: --bogus-" + Redacted},
		{"unknown flag: --bogus-" + url, []string{"run", "--bogus=" + url + "=x"}, "unknown flag: --bogus-" + Redacted},
		// After a "-", 43 URL-safe characters are a name (pvc-...).
		{"unknown flag: --bogus-" + url, []string{"run", "--bogus-" + url + "=x"}, "unknown flag: --bogus-" + url},
		{"keys " + std[:43] + " and " + std, []string{"SESSGC_KEYS_FILE=7-" + std + "/x"}, "keys " + Redacted + " and " + Redacted},
		// Glued to a letter, a secret is not told from a long name, which
		// the operator needs.
		{"store directory /x/x" + url + "y does not exist", []string{"--dir=/x/x" + url + "y"}, "store directory /x/x" + url + "y does not exist"},
		// Only what was given: a name the store made stays whole even
		// next to a given path that is not a secret.
		{"create temp /srv/s/data/.tmp-." + temp + ": read-only file system", []string{"--dir=/srv/s", "-d/srv/s"},
			"create temp /srv/s/data/.tmp-." + temp + ": read-only file system"},
	} {
		if got := RedactGiven(tc.s, tc.given...); got != tc.want {
			t.Errorf("RedactGiven(%q, %q) = %q, want %q", tc.s, tc.given, got, tc.want)
		}
	}
}

// TestRedactGivenAfterSeparator: a standard secret given after any of
// the separators "/", "=", "-" (a URL-safe one after "="), and before "/", "=" or the word's end, is left
// out of a message that repeats it, padded or not.
func TestRedactGivenAfterSeparator(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const before, after = "/=-", "/="
	for range 2000 {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		secrets := []string{base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)}
		which := rng.IntN(2)
		sec := secrets[which]
		end := ""
		if rng.IntN(2) == 0 {
			end = after[rng.IntN(len(after)):][:1] + "x"
		}
		sep := before[rng.IntN(len(before)):][:1]
		if which == 1 {
			sep = "=" // after "/" or "-", 43 URL-safe characters are a name
		}
		given := "--dir=/srv/a" + sep + sec + end
		for _, shown := range []string{given, sec, strings.TrimRight(sec, "=")} {
			got := RedactGiven("error: "+shown+" no such file", "run", given)
			if strings.Contains(got, strings.TrimRight(sec, "=")) {
				t.Fatalf("RedactGiven(%q, %q) = %q: the secret is in it", shown, given, got)
			}
		}
	}
}
