// Package foreignname shows the name of a file that sessfs did not write
// (a foreign file in a store's directory) in a message, a log or a
// listing without the session IDs it may hold: other session stores name
// their files after the ID (PHP's sess_ID, gorilla's session_ID, Django's
// file backend, express's session-file-store), and what fsstore's Open
// logs on every app host, or what sessgc prints to cron mail, a terminal
// or a JSON pipeline, must not spread live IDs, whoever wrote them.
// fsstore and sessgc show such names the same way.
package foreignname

import (
	"strings"

	"github.com/sessfs/sessfs/internal/nfsname"
)

// TokenShown is the length from which a run of ID characters in a foreign
// file's name is left out: the session IDs of the common stores are that
// long or longer, and few names people choose are, with a digit in them.
const TokenShown = 20

// prefixes start the names of the session stores an application moves
// from (docs/migrating.md): what follows is the session ID, whatever its
// length or letters (a PHP ID of 26 letters may hold no digit).
var prefixes = []string{"sess_", "session_"}

// Shown returns name, a file's name without its directory, as a message
// shows it: the rest of a name after a known session store's prefix, and
// each run of TokenShown or more characters of the kinds session IDs are
// made of (letters, digits, - and _) that holds a digit, or letters of
// both cases mixed as in a random ID (mixedCase), replaced by "…".
// An NFS client's name for a removed file (.nfsXXXX) is its own counter,
// shown whole, as it says how the file goes.
func Shown(name string) string {
	if nfsname.IsLeftover(name) {
		return name
	}
	for _, p := range prefixes {
		if len(name) > len(p) && strings.HasPrefix(name, p) {
			return p + "…"
		}
	}
	return HideTokens(name)
}

// ShownInShard returns name, a file's name in the store's shard
// directory whose names, from the data directory down, join to shard
// ("ab" for data/ab), as Shown does, except that a run that starts as a
// record's name there does (RecordLike) is shown whole: the store's own
// naming, a hash of an ID and no ID, which the operator needs whole to
// tell one such file (an editor's copy, a record cut short) from another
// in the shard.
func ShownInShard(name, shard string) string {
	if shard == "" || nfsname.IsLeftover(name) {
		return Shown(name)
	}
	for _, p := range prefixes {
		if len(name) > len(p) && strings.HasPrefix(name, p) {
			return p + "…"
		}
	}
	return hideTokens(name, func(run string) bool { return RecordLike(run, shard) })
}

// recordHex is how many lowercase hex digits a run starts with where
// ShownInShard takes it for a record's name (of 32): a random ID of
// letters and digits starts so about once in 10^10, a hex ID in a shard
// of its own prefix only if another store writes into sessfs's shards.
const recordHex = 30

// RecordLike reports whether run starts as the name of a record in the
// shard directory shard does: recordHex or more lowercase hex digits,
// the first of them shard's.
func RecordLike(run, shard string) bool {
	if shard == "" || !strings.HasPrefix(run, shard) || len(run) < recordHex {
		return false
	}
	for i := 0; i < recordHex; i++ {
		if c := run[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// HideTokens returns name with each run of TokenShown or more ID
// characters that holds a digit, or mixes cases as an ID does, replaced
// by "…" (see Shown).
func HideTokens(name string) string { return hideTokens(name, nil) }

// hideTokens is HideTokens, showing whole a run keep (if not nil) keeps.
func hideTokens(name string, keep func(run string) bool) string {
	var b strings.Builder
	isTok := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	for i := 0; i < len(name); {
		j := i
		for j < len(name) && isTok(name[j]) {
			j++
		}
		run := name[i:j]
		if len(run) >= TokenShown && (strings.ContainsAny(run, "0123456789") || mixedCase(run)) && (keep == nil || !keep(run)) {
			b.WriteString("…")
		} else {
			b.WriteString(run)
		}
		if j < len(name) {
			b.WriteByte(name[j])
			j++
		}
		i = j
	}
	return b.String()
}

// mixedCase reports whether run changes from a lower-case letter to an
// upper-case one three times or more, as a random ID of letters of both
// cases does (express's base64url IDs: one in about 230 holds no digit),
// and few names people choose do (Sessions_Backup_December does not).
func mixedCase(run string) bool {
	n := 0
	for i := 1; i < len(run); i++ {
		if 'a' <= run[i-1] && run[i-1] <= 'z' && 'A' <= run[i] && run[i] <= 'Z' {
			n++
		}
	}
	return n >= 3
}

// IsHidden reports whether Shown leaves part of name out.
func IsHidden(name string) bool { return Shown(name) != name }
