// Package keyrecipe holds the shell commands that make a store's keys
// file, which sessgc keygen --help shows and fsstore's errors suggest:
// one text, so that a fix to it reaches every place that teaches it.
package keyrecipe

import "github.com/sessfs/sessfs/internal/shellquote"

// FirstKey returns the steps that make a store's first key in the keys
// file at path, to be run in order, each only if the one before
// succeeded (joined with " && "). The key is written to path+".new" by
// its owner alone (umask 077), linked into place, and the new name
// removed: ln refuses a keys file that exists, so running the steps
// again (a setup script run twice) does not replace key 1, and a write
// that failed (a full disk) leaves no keys file, where writing path
// itself left an empty one, which the store refuses and a run again
// replaced. Paths are quoted for a POSIX shell.
func FirstKey(path string) []string {
	return []string{
		"(umask 077; sessgc keygen --id 1 > " + shellquote.Quote(path+".new") + ")",
		"ln " + shellquote.Quote(path+".new") + " " + shellquote.Quote(path),
		"rm " + shellquote.Quote(path+".new"),
	}
}
