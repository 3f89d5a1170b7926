// Package keyline reads the secret of a keys file line ("ID
// BASE64SECRET"), and tells a text that may hold one, so that what sessfs
// says about a text given where a path was expected (a keys file's
// contents passed as its path) never repeats a secret.
package keyline

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// DecodeSecret decodes a key line's secret: 32 bytes in standard base64,
// or in unpadded URL-safe base64.
func DecodeSecret(s string) ([]byte, bool) {
	secret, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		secret, err = base64.RawURLEncoding.DecodeString(s)
	}
	return secret, err == nil && len(secret) == 32
}

// Holds reports whether s holds a word that DecodeSecret takes, words
// being split at every character of neither base64 alphabet, and at every
// backslash escape (\t, \n, \u0009, \x09: no secret holds a backslash):
// a keys file's line, or its whole text, given as a path ("$(cat keys)"
// for the file's name), as is or quoted (strconv.Quote, JSON, slog's text),
// or a path that only looks so. Callers say less about such a text rather
// than quote it.
func Holds(s string) bool {
	for _, w := range words(s) {
		if _, ok := DecodeSecret(s[w[0]:w[1]]); ok {
			return true
		}
	}
	return false
}

// words returns the start and end of each word of s (see Holds), split
// both ways: at the escapes, and not (a backslash right before a secret,
// "C:\\u00ab...", is no escape of the secret's first letters). Without the
// escapes, the letter of a quoted tab before a secret ("7\tSECRET") made
// one word with it, which no secret is, and the secret was shown.
func words(s string) [][2]int {
	return append(split(s, false), split(s, true)...)
}

// split returns the words of s, split at backslash escapes too if escapes.
func split(s string, escapes bool) [][2]int {
	var ws [][2]int
	start := -1
	end := func(i int) {
		if start >= 0 {
			ws = append(ws, [2]int{start, i})
			start = -1
		}
	}
	for i := 0; i < len(s); {
		if escapes && s[i] == '\\' {
			end(i)
			i += escapeLen(s[i:])
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !inAlphabet(r):
			end(i)
		case start < 0:
			start = i
		}
		i += n
	}
	end(len(s))
	return ws
}

// escapeLen is the length of the backslash escape e starts with, as Go
// and JSON quote: \uXXXX, \UXXXXXXXX, \xXX, else a backslash and one
// character; the hex digits are counted only as far as they go.
func escapeLen(e string) int {
	if len(e) < 2 {
		return len(e)
	}
	digits := map[byte]int{'u': 4, 'U': 8, 'x': 2}[e[1]]
	n := 2
	for ; n < 2+digits && n < len(e) && strings.IndexByte("0123456789abcdefABCDEF", e[n]) >= 0; n++ {
	}
	return n
}

// inAlphabet reports whether r is of either base64 alphabet (padding
// included): words are split at every other character.
func inAlphabet(r rune) bool {
	return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune("+/-_=", r)
}

// Redacted stands in Redact's output for each word that may be a key's
// secret.
const Redacted = "(a key's secret, not shown)"

// Redact returns s with every word that Holds would take for a key's
// secret replaced by Redacted, the rest as it was: for a message that
// quotes what the user typed (an argument, a flag's value), which may be
// a keys file's text given in the wrong place, and nothing else.
func Redact(s string) string {
	return redact(s, func(string) bool { return true })
}

// RedactGiven returns s with every secret that the user gave in one of
// given (what the user typed: the arguments, the environment's values)
// replaced by Redacted, wherever it stands in s, with or without a
// standard secret's "=" padding: for a message that may quote the user's
// input among other text. A secret given is a run of characters that
// DecodeSecret takes standing alone in a word of given (words split as
// for Holds) or in a piece of one: a long flag's value after "="
// (--dir=SECRET), a short flag's glued to its letters (-dSECRET), a
// path's component (/srv/SECRET), or what follows a "-" up to a "/", an
// "=" or the word's end (--bogus-SECRET=, which pflag quotes without its
// "="; these two in the padded standard form only, see secretsIn), each
// of which is one word, as "/", "=" and "-" are of the alphabet. A secret
// glued to a letter (/srv/xSECRET) is not one: any 43
// characters of the URL-safe alphabet decode as a secret, so every name
// that long would be, and a directory's long name was left out of the
// textfile's labels and the errors that named it. Other text may hold a
// word that decodes as a secret without being one, such as a temp file's
// name ("tmp-probe-" and two runs of 16 hex digits), and Redact put "(a
// key's secret, not shown)" in the middle of a path the operator needed.
func RedactGiven(s string, given ...string) string {
	if !longRun(s) {
		return s // no secret fits in it: given need not be read
	}
	return GivenSecrets(given...).Redact(s)
}

// Secrets are the secrets given to a process, read once from what the
// user gave, for RedactGiven's work on every line a process writes.
type Secrets struct {
	secret map[string]bool
}

// GivenSecrets returns the secrets in given, as RedactGiven reads them.
func GivenSecrets(given ...string) Secrets {
	secret := map[string]bool{}
	for _, g := range given {
		addSecrets(secret, g)
	}
	return Secrets{secret}
}

// Redact returns s as RedactGiven(s, given...) does, for the given that
// made gs.
func (gs Secrets) Redact(s string) string {
	secret := gs.secret
	if len(secret) == 0 || !longRun(s) {
		return s
	}
	// Every span of s that is a given secret, merged where they overlap
	// (a run longer than a secret holds many), each with the "=" after it.
	var spans [][2]int
	for i := 0; i+secretLen <= len(s); i++ {
		if !secret[s[i:i+secretLen]] {
			continue
		}
		end := i + secretLen
		if end < len(s) && s[end] == '=' {
			end++
		}
		if n := len(spans); n > 0 && i <= spans[n-1][1] {
			spans[n-1][1] = max(spans[n-1][1], end)
			continue
		}
		spans = append(spans, [2]int{i, end})
	}
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp[0]])
		b.WriteString(Redacted)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// secretLen is the length of a key's secret without padding: 32 bytes in
// unpadded base64, and a standard secret's 44 characters less its "=".
const secretLen = 43

// addSecrets adds to secret the unpadded form of every secret of g
// (secretsIn): a message may quote a standard secret without its "="
// (pflag cuts "--bogus-SECRET=" there).
func addSecrets(secret map[string]bool, g string) {
	for _, w := range strings.FieldsFunc(g, func(r rune) bool { return !inAlphabet(r) }) {
		for _, sec := range secretsIn(w) {
			secret[strings.TrimRight(sec, "=")] = true
		}
	}
}

// secretsIn returns the runs of w that DecodeSecret takes and that start
// where w does, after a "/", "=" or "-", or after the letters of a short
// flag ("-d"), and end where w does, or before a "/" or an "=" (a flag's
// name cut there: "--bogus-SECRET=x"). After a "/" or a "-" (a path's
// component, a name's part) a secret counts only in standard base64 with
// its padding (44 characters, the last "="), the form keys files hold:
// any name of 43 letters, digits, "-" and "_" decodes as unpadded
// URL-safe base64 to 32 bytes, and such names are common in paths (a Go
// test's temporary directory, a generated volume's name), which were
// shown as "(a key's secret, not shown)" in messages and in the
// textfile's dir label, where they name the store. A secret glued to a
// letter is not told from a long name (see RedactGiven).
func secretsIn(w string) []string {
	starts := []int{0}
	component := map[int]bool{}
	for i := 0; i < len(w); i++ {
		if w[i] == '/' || w[i] == '=' || w[i] == '-' {
			starts = append(starts, i+1)
			component[i+1] = w[i] == '/' || w[i] == '-'
		}
	}
	if len(w) > 1 && w[0] == '-' && w[1] != '-' {
		for i := 1; i < len(w) && ('a' <= w[i] && w[i] <= 'z' || 'A' <= w[i] && w[i] <= 'Z'); i++ {
			starts = append(starts, i+1)
		}
	}
	var found []string
	for _, start := range starts {
		// 43 characters unpadded URL-safe, 44 standard.
		for _, n := range []int{secretLen, secretLen + 1} {
			if n == secretLen && component[start] {
				continue
			}
			end := start + n
			if end > len(w) || end < len(w) && w[end] != '/' && w[end] != '=' {
				continue
			}
			if _, ok := DecodeSecret(w[start:end]); ok {
				found = append(found, w[start:end])
			}
		}
	}
	return found
}

// longRun reports whether s has a run of characters of base64's alphabet
// as long as a secret (43, unpadded), where a secret of RedactGiven's
// could stand.
func longRun(s string) bool {
	n := 0
	for _, r := range s {
		if n++; !inAlphabet(r) {
			n = 0
		}
		if n >= secretLen {
			return true
		}
	}
	return false
}

// redact returns s with each word that DecodeSecret takes and that match
// selects replaced by Redacted.
func redact(s string, match func(word string) bool) string {
	if !Holds(s) {
		return s
	}
	var secrets [][2]int
	for _, w := range words(s) {
		if _, ok := DecodeSecret(s[w[0]:w[1]]); ok && match(s[w[0]:w[1]]) {
			secrets = append(secrets, w)
		}
	}
	// The two splits may find one secret twice, or overlapping words.
	slices.SortFunc(secrets, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	last := 0
	for _, w := range secrets {
		if w[0] < last {
			last = max(last, w[1])
			continue
		}
		b.WriteString(s[last:w[0]])
		b.WriteString(Redacted)
		last = w[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// Inline turns a key set given in one value (an environment variable:
// fsstore.KeysFromEnv, sessgc's SESSGC_KEYS) into a keys file's text. The
// value is often a keys file's own text (SESSFS_KEYS="$(cat keys)", a
// systemd credential), so it must read as that file reads: a # comment runs
// to the end of its line, ";" in it included ("# rotated; see the
// runbook"). Outside comments ";" ends a key line too, for values written
// on one line. A comment whose text after a ";" holds a key's secret is
// refused: whether that key was meant commented out ("# retired; 1 KEY" in
// the file) or meant to be read ("# staging;1 KEY" on one line) cannot be
// told, and either guess takes a key set the operator did not mean.
// Messages never quote the value: it holds secrets.
func Inline(v string) (string, error) {
	var b strings.Builder
	for n, line := range strings.Split(v, "\n") {
		if n > 0 {
			b.WriteByte('\n')
		}
		for first := n == 0; ; first = false {
			seg, rest, more := strings.Cut(line, ";")
			head := strings.TrimSpace(seg)
			if first {
				// ParseKeys skips a UTF-8 byte-order mark at the start.
				head = strings.TrimSpace(strings.TrimPrefix(head, "\ufeff"))
			}
			if strings.HasPrefix(head, "#") {
				if more && Holds(rest) {
					return "", fmt.Errorf("line %d: a # comment holds \";\" and a key after it: a comment runs to the end of its line, as in a keys file, so the key is not read; put the key on a line of its own to use it, or remove it to retire it", n+1)
				}
				b.WriteString(line)
				break
			}
			b.WriteString(seg)
			if !more {
				break
			}
			b.WriteByte('\n')
			line = rest
		}
	}
	return b.String(), nil
}
