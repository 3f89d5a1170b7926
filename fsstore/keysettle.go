package fsstore

import (
	"strings"
	"time"
)

// keysSettle is how long a read of the keys file that would drop a key in
// use, or that fails, is held before it is acted on: it must read the same
// again after this long. A file rewritten in place is read half-written,
// and one cut at the end of a line is a valid, smaller key set; applying
// it would make the records under the keys it lacks unknown, and log their
// users out, until the write completes. A read that keeps every key in use
// is applied at once: any prefix of such a file has the same newest key.
const keysSettle = 250 * time.Millisecond

// keysSettleMax bounds how long reads are held in all while the file
// reads differently at every look: a writer rewriting it in place more
// often than keysSettle, without pause, would otherwise put off the
// removal of a key (one retired because it leaked) for as long as it
// runs. Past it, the latest read is acted on, unless it only adds keys to
// the last key set held: that is a file still being written, line by line
// (a script appending each key it fetches), and its prefix would drop keys
// in use. The file's size limit bounds such growth.
const keysSettleMax = 2 * time.Second

// keysSettler holds back reads of a keys file that may be of a file caught
// half-written (keysSettle, keysSettleMax). It keeps no key material but
// the texts it compares, in memory only, like the keys.
type keysSettler struct {
	// held identifies the read being held: the key set's text, or the
	// error's (keysSeen). since is when the file first read as something
	// held, since the last read acted on.
	held  string
	since time.Time
	// heldSet is the last key set held since then (held may be a failed
	// read after it).
	heldSet string
}

// keysSeen identifies a read of the keys file for keysSettler: the key
// set's text, or the error's.
func keysSeen(text string, err error) string {
	if err != nil {
		return "\x00" + err.Error() // no key set's text starts so
	}
	return text
}

// read decides about a read, seen (keysSeen), that is not to be acted on
// unconfirmed, made at now: holdNone acts on it, anything else holds it
// until the next read. confirm says the read is the one due keysSettle
// after a held one.
func (st *keysSettler) read(seen string, failed bool, now time.Time, confirm bool) hold {
	if st.held == "" {
		st.since = now
	}
	// Past the bound, only a key set read is acted on at once: acting on
	// a failed read changes nothing but the log, and one cut mid-line
	// between two longer prefixes is still a file being written.
	switch {
	case seen != st.held && (failed || now.Sub(st.since) < keysSettleMax || grows(st.heldSet, seen)):
		st.held = seen
		if !failed {
			st.heldSet = seen
		}
		return holdNew
	case seen == st.held && !confirm:
		return holdAgain
	}
	st.reset()
	return holdNone
}

// reset forgets the read held: the file read as something acted on.
func (st *keysSettler) reset() { st.held, st.heldSet = "", "" }

// grows reports whether the key set read, seen, is the held one with more
// keys after it: the file is being written, not churned.
func grows(held, seen string) bool {
	return held != "" && len(seen) > len(held) && strings.HasPrefix(seen, held)
}

// hold says what a read asks of the settle timer.
type hold int

const (
	holdNone  hold = iota // nothing held: stop the timer
	holdNew               // a new read held: (re)start the timer
	holdAgain             // the held read, read again: leave the timer
)
