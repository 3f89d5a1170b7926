// Package keyline reads the secret of a keys file line ("ID
// BASE64SECRET"), and tells a text that may hold one, so that what sessfs
// says about a text given where a path was expected (a keys file's
// contents passed as its path) never repeats a secret.
package keyline

import (
	"encoding/base64"
	"strings"
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
// being split at every character of neither base64 alphabet: a keys
// file's line, or its whole text, given as a path ("$(cat keys)" for the
// file's name), or a path that only looks so. Callers say less about such
// a text rather than quote it.
func Holds(s string) bool {
	words := strings.FieldsFunc(s, func(r rune) bool { return !inAlphabet(r) })
	for _, w := range words {
		if _, ok := DecodeSecret(w); ok {
			return true
		}
	}
	return false
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

// RedactGiven returns s with every word that Holds would take for a key's
// secret and that is also a word of one of given (what the user typed:
// the arguments, the environment's values) replaced by Redacted: for a
// message that may quote the user's input among other text. Other text
// may hold a word that decodes as a secret without being one: any 43
// characters of the URL-safe alphabet do, such as a temp file's name
// ("tmp-probe-" and two runs of 16 hex digits), and Redact put "(a key's
// secret, not shown)" in the middle of a path the operator needed.
func RedactGiven(s string, given ...string) string {
	secret := map[string]bool{}
	for _, g := range given {
		for _, w := range strings.FieldsFunc(g, func(r rune) bool { return !inAlphabet(r) }) {
			if _, ok := DecodeSecret(w); ok {
				secret[w] = true
			}
		}
	}
	if len(secret) == 0 {
		return s
	}
	return redact(s, func(w string) bool { return secret[w] })
}

// redact returns s with each word that DecodeSecret takes and that match
// selects replaced by Redacted.
func redact(s string, match func(word string) bool) string {
	if !Holds(s) {
		return s
	}
	var b strings.Builder
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		if _, ok := DecodeSecret(s[start:end]); ok && match(s[start:end]) {
			b.WriteString(Redacted)
		} else {
			b.WriteString(s[start:end])
		}
		start = -1
	}
	for i, r := range s {
		if inAlphabet(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
		b.WriteRune(r)
	}
	flush(len(s))
	return b.String()
}
