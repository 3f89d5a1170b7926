// Package shellquote quotes the words of a command that a message suggests
// an operator paste into a POSIX shell (chown -R USER DIR, sessgc run
// --dir DIR, mount POINT). Every such suggestion quotes its paths and names
// with Quote: a store's path with a space or a newline in it, pasted
// unquoted, made two directories (install -d), changed the wrong files
// (chown -R), or named a directory that was not the store (--dir).
package shellquote

import "strings"

// Quote returns s as one word for a POSIX shell: s itself when it holds
// only characters a shell takes as they are (letters, digits and
// / . _ - + : @ % , =), else s in single quotes, each quote in it written
// '\”. The empty string is ”.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
