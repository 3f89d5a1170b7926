// Package keyline reads the secret of a keys file line ("ID
// BASE64SECRET"), and tells a text that may hold one, so that what sessfs
// says about a text given where a path was expected (a keys file's
// contents passed as its path) never repeats a secret.
package keyline

import (
	"cmp"
	"encoding/base64"
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
// replaced by Redacted, wherever it stands in s: for a message that may
// quote the user's input among other text. A secret given is a run of
// characters that DecodeSecret takes standing alone in a word of given
// (words split as for Holds) or in a piece of one: a long flag's value
// after "=" (--dir=SECRET), a short flag's glued to its letters
// (-dSECRET), or a path's component (/srv/SECRET), each of which is one
// word, as "/", "=" and "-" are of the alphabet. Other text may hold a
// word that decodes as a secret without being one: any 43 characters of
// the URL-safe alphabet do, such as a temp file's name ("tmp-probe-" and
// two runs of 16 hex digits), and Redact put "(a key's secret, not
// shown)" in the middle of a path the operator needed.
func RedactGiven(s string, given ...string) string {
	if !longRun(s) {
		return s // no secret fits in it: given need not be read
	}
	secret := map[string]bool{}
	for _, g := range given {
		for _, w := range strings.FieldsFunc(g, func(r rune) bool { return !inAlphabet(r) }) {
			for _, sec := range secretsIn(w) {
				secret[sec] = true
			}
		}
	}
	if len(secret) == 0 {
		return s
	}
	// Longest first: a standard secret's padding goes with it.
	secrets := make([]string, 0, len(secret))
	for sec := range secret {
		secrets = append(secrets, sec)
	}
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, Redacted)
	}
	return s
}

// longRun reports whether s has a run of characters of base64's alphabet
// as long as a secret (43, unpadded), where a secret of RedactGiven's
// could stand: a path is one such run with a secret in it ("/srv/SECRET"),
// which Holds, reading whole words, does not take for one.
func longRun(s string) bool {
	n := 0
	for _, r := range s {
		if n++; !inAlphabet(r) {
			n = 0
		}
		if n >= 43 {
			return true
		}
	}
	return false
}

// secretsIn returns the runs of w that DecodeSecret takes and that start
// where w does, after a "/" or "=", or after the letters of a short flag
// ("-d"), and end where w does or before a "/". A path's component counts
// only in standard base64 with its padding (44 characters, the last "="),
// the form keys files hold: any name of 43 letters, digits, "-" and "_"
// decodes as unpadded URL-safe base64 to 32 bytes, and such names are
// common in paths (a Go test's temporary directory, a generated volume's
// name), which were shown as "(a key's secret, not shown)" in messages and
// in the textfile's dir label, where they name the store.
func secretsIn(w string) []string {
	starts := []int{0}
	component := map[int]bool{}
	for i := 0; i < len(w); i++ {
		if w[i] == '/' || w[i] == '=' {
			starts = append(starts, i+1)
			component[i+1] = w[i] == '/'
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
		for _, n := range []int{43, 44} {
			if n == 43 && component[start] {
				continue
			}
			end := start + n
			if end > len(w) || end < len(w) && w[end] != '/' {
				continue
			}
			if _, ok := DecodeSecret(w[start:end]); ok {
				found = append(found, w[start:end])
			}
		}
	}
	return found
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
