package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/sessfs/sessfs/internal/keyline"
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

// keysFromFileSettled reads a keys file that may be being rewritten in
// place, for a process that has no keys yet (Open, KeysFromFile): a key
// set read half-written would be taken for good by one without a watcher,
// and until the watch starts by one with. Every read is held by the
// watcher's rule, as one that drops keys in use is (nothing is in use
// yet, and a prefix drops the keys below its cut), so the file is read
// every keysSettle until two reads in a row agree, for keysSettleMax at
// most. A read that parses, of a file that had not changed for keysSettle
// when it was read, is taken at once: no one was writing it, and a file
// not being written costs Open no wait. A failed read is held all the
// same: a writer that truncated the file and waits for its keys (a shell
// redirect from a secrets client) leaves an empty file alone for a while.
//
// Past the bound, what the watcher would still hold fails: a failed read
// with its error, as a single read of the file failed before; a file that
// only gains keys, read after read, with an error saying so, rather than
// start with some of its keys. The bound is the watcher's, not Open's
// context's or WithOpTimeout's: those are about the store's file server,
// and the keys file is on local disk; the context still cuts the wait.
func keysFromFileSettled(ctx context.Context, path string, hk keysReadHooks, trustPath bool) ([]Key, error) {
	if err := keysPathHoldsKey(path); err != nil {
		return nil, err
	}
	now, after := time.Now, time.After
	if hk.now != nil {
		now = hk.now
	}
	if hk.after != nil {
		after = hk.after
	}
	var st keysSettler
	for confirm := false; ; confirm = true {
		if hk.read != nil {
			hk.read()
		}
		keys, changed, err := readKeysFile(path, trustPath, false)
		at := now()
		if err == nil && keysQuiet(changed, at) {
			return keys, nil
		}
		var text string
		if err == nil {
			text = keysText(keys)
		}
		h := st.read(keysSeen(text, err), err != nil, at, confirm)
		switch {
		case h == holdNone:
			return keys, err
		case at.Sub(st.since) < keysSettleMax:
			// Held: the next read decides.
		case err != nil:
			return nil, err
		default:
			return nil, fmt.Errorf("fsstore: keys: %s is still being written: for %v every read had more keys than the one before; replace the file atomically (write a temporary file, rename it over the keys file)", path, keysSettleMax)
		}
		select {
		case <-after(keysSettle):
		case <-ctx.Done():
			return nil, fmt.Errorf("fsstore: keys: %s was changing as it was read, and the wait for it to settle ended: %w", path, ctx.Err())
		}
	}
}

// keysReadHooks replace, in tests, the clock and the settle timer of a
// settled read of a keys file, and run read before each read of it. Nil
// fields: the real ones.
type keysReadHooks struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
	read  func()
}

// keysQuiet reports whether a keys file whose times say it changed at
// changed had been left alone for keysSettle at now. A file system that
// keeps whole seconds (ext4 with small inodes, HFS+) or two (FAT) shows
// a change up to that long after as this time; one in the future (a clock
// set back) says nothing.
func keysQuiet(changed, now time.Time) bool {
	if changed.IsZero() {
		return false
	}
	if changed.Nanosecond() == 0 {
		changed = changed.Add(2 * time.Second)
	}
	return now.Sub(changed) >= keysSettle
}

// withKeysRead replaces the clock and the settle timer of Open's read of
// the keys file (WithKeysFile) and runs read before each read of it, so
// that tests play a writer between reads and move the clock past the
// bound without waiting for it.
func withKeysRead(hk keysReadHooks) Option {
	return optionFunc(func(c *config) { c.keysRead = hk })
}

// keysPathHoldsKey refuses a keys file path that names no file and holds
// what may be a key's secret: a keys file's text given as its path (a
// variable set to "$(cat keys)" where the path goes). The error quotes it
// with each word that may be a secret left out (keyline.Redact), where
// every other error about a keys file names its path whole, and the hint
// for a missing one made commands of it, the secret in each: a path that
// only looks so (a name of 43 letters after a dot) is still told by the
// rest. It matches the look's error (fs.ErrNotExist, most often). A file
// there under such a name is read as any other.
func keysPathHoldsKey(path string) error {
	_, err := os.Lstat(path)
	var pe *fs.PathError
	if err == nil || !keyline.Holds(path) || !errors.As(err, &pe) {
		return nil
	}
	return fmt.Errorf("fsstore: keys: the keys file's path %q names no file (%w), and holds what may be a key's secret (\"ID BASE64SECRET\"), not shown here: give the path of the file the keys are in, not its text", keyline.Redact(path), pe.Err)
}
