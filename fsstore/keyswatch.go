package fsstore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WithKeysFile encrypts payloads at rest with the key set in path (read as
// KeysFromFile reads it; see WithKeys for what the keys do) and reloads it
// whenever the file changes, so that every host of a fleet picks up a
// rotated key set without a restart. The keys file lives on each host's
// local disk, where file change notifications see every change at once.
// The file is also read every 10s, events or not: a change that raises no
// event where the watcher looks (a symbolic link swapped in a directory
// between the path and the file it resolves to, a keys file on a network
// file system changed from another host) is applied within that time.
// Where notifications cannot be set up (on Linux, the user's inotify
// instances or watches used up: fs.inotify.max_user_instances,
// max_user_watches), Open logs a warning and the timed reads alone apply
// changes. A keys file that is a mount point of its own (one file
// bind-mounted into place: a Kubernetes Secret mounted with subPath, a
// Docker or Compose bind mount of a file or secret) keeps the file it was
// mounted with: a new file renamed over its source never reaches it, and
// Open logs a warning saying so (on Linux); mount its directory instead.
//
// The directory holding the file is watched, not the file itself: editors
// and atomic writers (write a temporary file, rename it over the keys file,
// as configuration management and Kubernetes secret volumes do) replace the
// file, and a watch on the old file would never fire again. Replace the file
// atomically: a file rewritten in place may be read half-written, and one
// cut at the end of a line is a valid, smaller key set. So a read that
// would drop a key in use, or that fails, is acted on only when the file
// reads the same again 250ms later; a read that keeps every key in use is
// applied at once (a half-written one already has the new file's newest
// key). Retiring a key thus takes effect 250ms after the change, and a
// writer that stalls mid-write for longer than that can still drop a key
// from use for that moment: the users of its records get fresh sessions.
// A file that reads differently at every look (a writer rewriting it in
// place without pause) is held back for 2s at most in all; then its
// latest read is acted on, unless it only adds keys to the read held (a
// file still being written a line at a time), which is held until done.
//
// A file that cannot be read or parsed, or whose keys fail the store's key
// check (a known key ID with a different secret), leaves the keys in use
// unchanged: the error goes to the logger (WithLogger) and, as an
// OpKeysReload event with a failed outcome, to the Observer. A key check
// that failed for want of the store (an I/O error, a full disk, a server
// that did not answer) is tried again, after 1s, then twice as long each
// time up to a minute, until it passes or the file changes. Only the keys
// new to the set are checked: a file that drops or reorders keys already
// in use reads no check file, so retiring a key never waits for the store.
// A successful reload is logged with the key IDs, never the secrets.
//
// Open reads the file as KeysFromFile does, by the reloads' rule: a file
// changed within the last 250ms, or that fails, is read again every 250ms
// until two reads in a row agree, for 2s at most, so that a process
// started while the file is rewritten in place neither fails on a line cut
// short nor starts without the keys below the cut (OpenContext's context
// ends the wait). A writer that pauses for 250ms or more mid-file (a
// script fetching each key before it writes the next) is indistinguishable
// from a finished file at the pause, and Open takes the keys above it:
// only replacing the file atomically is safe from every writer. A file
// left alone for longer costs one read. Open fails
// if the file cannot be loaded at all, or still gains keys at every read
// after 2s; a change made while Open ran is applied once the watch starts.
//
// WithKeysFile and WithKeys are exclusive.
func WithKeysFile(path string) Option {
	return optionFunc(func(c *config) { c.keysFile, c.keysFileGiven = path, true })
}

// WithKeysFileTrusted lets WithKeysFile read a keys file that a user other
// than root and the process's own could replace: one owned by another
// user, or reached through a directory that another user owns or may
// write (and that has no sticky bit), which Open and the reloads refuse
// otherwise, as OpenSSH refuses such an authorized_keys file unless
// StrictModes is off. Whoever can replace the keys file chooses the keys
// the store seals sessions with. Use it only where those users are
// trusted with the sessions anyway; the file's own mode is checked all
// the same (see KeysFromFile).
func WithKeysFileTrusted() Option {
	return optionFunc(func(c *config) { c.keysFileTrusted = true })
}

// keysWatcher reloads the store's key set when its keys file changes.
type keysWatcher struct {
	s    *Store
	path string
	// w is nil where change notifications could not be set up: the
	// timed reads (keysPoll) alone see changes then.
	w    *fsnotify.Watcher
	stop chan struct{} // closed by close
	done chan struct{}

	// mu serializes reloads; last is the outcome of the previous attempt
	// (the applied key set's lines, or the error's text), so that the many
	// events of one change, and events for other files of the directory,
	// are neither logged nor observed twice.
	mu   sync.Mutex
	last string
	// dir is the watched directory of path; target the directory of what
	// path resolves to, watched too when a symlink leads out of dir.
	dir, target string
	// checkFailed is the key set whose check last failed for want of the
	// store, tried again on a timer rather than at every event.
	checkFailed string
	// retrying is the key set whose failed check was reported and is
	// being retried: its next failures are not reported again, whatever
	// their text (it names a temporary file of its own each time).
	retrying string
	// settle holds back reads that may be of a half-written file.
	settle keysSettler
	// settleHook, in tests, runs before a held read is confirmed; now is
	// the clock of keysSettleMax, replaced in tests.
	settleHook func()
	now        func() time.Time
}

// watchKeys starts watching the keys file's directory.
func watchKeys(s *Store, path string, loaded []Key) (*keysWatcher, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("fsstore: keys file: %w", err)
	}
	// Without notifications (the host's inotify instances or watches used
	// up, fs.inotify.max_user_instances and max_user_watches, which every
	// process of the user shares, all the containers of a node running as
	// that uid too), the timed reads still apply every change, if later:
	// failing Open would take the application down for want of a
	// shortcut.
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(filepath.Dir(abs)); err != nil {
			w.Close()
			w = nil
			err = fmt.Errorf("watch %s: %w", filepath.Dir(abs), err)
		}
	}
	if err != nil {
		w = nil
		s.cfg.logger.Warn("keys file: no change notifications (on Linux, see fs.inotify.max_user_instances and max_user_watches); the file is read every "+s.keysPollInterval().String()+" instead, and a rotation takes effect that much later", "file", abs, "err", err)
	}
	if keysFileMountPoint(abs) {
		// Nothing the watcher does can see a rotation then: say so once,
		// rather than keep the old keys (a retired one too) in silence.
		s.cfg.logger.Warn(keysMountWarning, "file", abs)
	}
	kw := &keysWatcher{s: s, path: abs, dir: filepath.Dir(abs), w: w, stop: make(chan struct{}), done: make(chan struct{}), last: keysText(loaded), now: time.Now}
	go kw.run()
	return kw, nil
}

// keysPoll is how often the watcher reads the keys file whether or not an
// event came: a change can raise none in the directories watched. A
// symbolic link swapped in a directory along the path that is neither the
// keys file's nor its final target's (keys -> /opt/keys/current/keys,
// current -> v2, the old v1 left in place), a write through a hard link
// in another directory, a keys file on a network file system changed from
// another host (inotify sees this host's changes only), or a bind mount,
// FUSE or overlay file system whose changes come from elsewhere: without
// it, the host would keep its old key set, a retired one too, with no
// error. A read that finds the key set in use is a few system calls on a
// small file, and logs nothing.
const keysPoll = 10 * time.Second

// keysPollInterval is how often the keys file watcher reads the file,
// events or not.
func (s *Store) keysPollInterval() time.Duration {
	if d := s.cfg.keysPoll; d > 0 {
		return d
	}
	return keysPoll
}

// withKeysPoll sets how often the watcher reads the keys file, events or
// not, so that tests need not wait for keysPoll.
func withKeysPoll(d time.Duration) Option {
	return optionFunc(func(c *config) { c.keysPoll = d })
}

// Retries of a key check that failed for want of the store.
const (
	keysRetryFirst = time.Second
	keysRetryMax   = time.Minute
)

func (kw *keysWatcher) run() {
	defer close(kw.done)
	// Open read the file before the watch began: a change in between
	// raised no event.
	t := time.NewTimer(keysRetryFirst)
	t.Stop()
	defer t.Stop()
	// The retry timer runs while a key check keeps failing, whatever
	// else happens in the directory: events there must not put it off.
	armed, wait := false, keysRetryFirst
	// settle confirms a held read (see keysSettle).
	settle := time.NewTimer(keysSettle)
	settle.Stop()
	defer settle.Stop()
	next := func(r reloadNext) {
		switch r.hold {
		case holdNone:
			settle.Stop()
		case holdNew:
			settle.Reset(keysSettle)
		}
		if r.hold != holdNone {
			// The file no longer shows the key set under retry, if any;
			// the retry timer reads it again all the same.
			return
		}
		switch {
		case !r.retry:
			t.Stop()
			armed, wait = false, keysRetryFirst
		case !armed:
			t.Reset(wait)
			armed = true
		}
	}
	// rewatch polls for the keys directory, or for the file a symlink
	// leads to, while it is gone: a watch ends with its directory, and a
	// directory created again under its name raises no event where one
	// is still watched.
	rewatch := time.NewTicker(keysRetryFirst)
	rewatch.Stop()
	defer rewatch.Stop()
	dirLost, targetLost, polling := false, false, false
	follow := func() {
		targetLost = !kw.followTarget()
		if lost := dirLost || targetLost; lost != polling {
			if polling = lost; lost {
				rewatch.Reset(keysRetryFirst)
			} else {
				rewatch.Stop()
			}
		}
	}
	poll := time.NewTicker(kw.s.keysPollInterval())
	defer poll.Stop()
	var (
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	if kw.w != nil {
		events, errs = kw.w.Events, kw.w.Errors
	}
	follow()
	next(kw.reload(false))
	for {
		select {
		case <-kw.stop:
			return
		case <-poll.C:
			follow()
			next(kw.reload(false))
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Remove | fsnotify.Rename) {
				switch ev.Name {
				case kw.dir:
					kw.w.Remove(kw.dir)
					dirLost = true
				case kw.target:
					// The directory under that name now, if any, is
					// another: followTarget must watch it anew.
					kw.w.Remove(kw.target)
					kw.target = ""
				}
			}
			// Any event in the directory may have replaced the file (a
			// renamed temporary file, a swapped symlink); reading a few
			// lines is cheap, and reload ignores a file that did not change.
			follow()
			next(kw.reload(false))
		case <-rewatch.C:
			wasLost := targetLost
			found := dirLost && kw.w.Add(kw.dir) == nil
			if found {
				dirLost = false
			}
			follow()
			if found || wasLost && !targetLost {
				// The file may have changed before the watch began.
				next(kw.reload(false))
			}
		case err, ok := <-errs:
			if !ok {
				return
			}
			// An overflowed event queue may have hidden a change.
			kw.s.cfg.logger.Warn("keys file watch", "file", kw.path, "err", err)
			next(kw.reload(false))
		case <-t.C:
			kw.forgetFailure()
			armed, wait = false, min(2*wait, keysRetryMax)
			next(kw.reload(false))
		case <-settle.C:
			next(kw.reload(true))
		}
	}
}

// followTarget watches the directory of the file the keys path resolves
// to, when a symlink leads out of the keys directory: replacing the target
// there raises no event in the keys directory. It reports whether the
// path resolved and that directory, if any, is watched.
func (kw *keysWatcher) followTarget() bool {
	if kw.w == nil {
		return true // the timed reads alone see changes
	}
	real, err := filepath.EvalSymlinks(kw.path)
	if err != nil {
		return false
	}
	td := filepath.Dir(real)
	if rd, err := filepath.EvalSymlinks(kw.dir); err != nil || td == rd {
		td = "" // the keys directory itself, perhaps by another name
	}
	if td == kw.target {
		return true
	}
	if kw.target != "" {
		kw.w.Remove(kw.target)
	}
	kw.target = ""
	if td != "" {
		if kw.w.Add(td) != nil {
			return false
		}
		kw.target = td
	}
	return true
}

// forgetFailure makes the next reload try a key set whose check failed,
// although the file did not change.
func (kw *keysWatcher) forgetFailure() {
	kw.mu.Lock()
	kw.checkFailed = ""
	kw.mu.Unlock()
}

// reloadNext is what a reload asks of the watcher's timers.
type reloadNext struct {
	// retry: the key set's check failed for want of the store, not for
	// its keys; try again later.
	retry bool
	hold  hold
}

// reload reads the keys file and, if it holds a new valid key set, makes
// the store use it. A read that would drop a key in use, or that fails, is
// held (keysSettle): it is acted on by the reload with confirm, the
// settle timer's, when that reads the same.
func (kw *keysWatcher) reload(confirm bool) reloadNext {
	if confirm {
		kw.mu.Lock()
		h := kw.settleHook
		kw.mu.Unlock()
		if h != nil {
			h()
		}
	}
	kw.mu.Lock()
	defer kw.mu.Unlock()
	start := kw.s.begin().t
	// One read: the settle timer, not a wait here, holds back a file
	// caught half-written.
	keys, _, err := readKeysFile(kw.path, kw.s.cfg.keysFileTrusted, true)
	var (
		kr    *keyring
		text  string
		retry bool
	)
	if err == nil {
		text = keysText(keys)
		if text == kw.last || text == kw.checkFailed {
			kw.settle.reset()
			return reloadNext{retry: text == kw.checkFailed}
		}
	}
	// A key set under retry was held before its first check.
	if err != nil && err.Error() != kw.last || err == nil && text != kw.retrying && kw.drops(keys) {
		if h := kw.settle.read(keysSeen(text, err), err != nil, kw.now(), confirm); h != holdNone {
			return reloadNext{hold: h}
		}
	}
	kw.settle.reset()
	if err == nil {
		if kr, err = newKeyring(keys); err == nil {
			if h := kw.s.cfg.testFS; h != nil {
				h("keys")
			}
			var checked int
			checked, err = kr.checkKeys(kw.s.dir, kw.s.cfg.fileMode, kw.s.cfg.vouches(), kw.s.cfg.logger, kw.s.keys.Load())
			if h := kw.s.testHooks.keysCheck; h != nil && err == nil && checked > 0 {
				err = h()
			}
			// A known key ID with another secret is the keys' fault; any
			// other failure is the store's, and may pass.
			if err != nil && !errors.Is(err, errKeyCheck) {
				kw.checkFailed, retry = text, true
			}
		}
	}
	if err != nil {
		msg := err.Error()
		if msg == kw.last || retry && text == kw.retrying {
			return reloadNext{retry: retry}
		}
		kw.last = msg
		kw.retrying = ""
		if retry {
			kw.retrying = text
		}
		err = fmt.Errorf("%w: %w", ErrKeysReload, err)
		kw.s.cfg.logger.Error("keys file not reloaded; the keys in use are unchanged", "file", kw.path, "err", err)
		// The state first: an observer of the event sees it set.
		kw.s.noteKeysFile(true)
		kw.s.observe(OpKeysReload, start, err)
		return reloadNext{retry: retry}
	}
	kw.last, kw.checkFailed, kw.retrying = keysText(keys), "", ""
	kw.s.keys.Store(kr)
	// A key given up is judged afresh by its check file (keyNeverHad).
	kw.s.keyHad.forget()
	if c := kw.s.cache; c != nil {
		c.retire(kr)
	}
	ids := make([]uint32, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	kw.s.cfg.logger.Info("keys file reloaded", "file", kw.path, "key_ids", ids)
	// After the key set is applied, on the rechecks' goroutine: neither
	// the retirement of a key nor the next reload waits for the records'
	// reads. Only keys new to the set are read.
	kw.s.rejudgeKeyOrder()
	kw.s.noteKeysFile(false)
	kw.s.observe(OpKeysReload, start, nil)
	return reloadNext{}
}

// drops reports whether the store would lose a key it uses if keys
// replaced its key set.
func (kw *keysWatcher) drops(keys []Key) bool {
	kr := kw.s.keys.Load()
	if kr == nil {
		return false
	}
	for id := range kr.aeads {
		if !slices.ContainsFunc(keys, func(k Key) bool { return k.ID == id }) {
			return true
		}
	}
	return false
}

func (kw *keysWatcher) close() {
	close(kw.stop)
	if kw.w != nil {
		kw.w.Close()
	}
	<-kw.done
}

// ErrKeysReload wraps the reasons a changed keys file was not applied
// (WithKeysFile); the store keeps its previous keys.
var ErrKeysReload = errors.New("keys file not reloaded")

// keysText is a key set's identity for telling a changed file from events
// that changed nothing: a line per key, its ID and the SHA-256 of its
// secret, in the file's order (so that a key set read with more keys
// below is the text of the one before with more lines: see grows). No
// secret: the watcher keeps it for as long as the store is open, where a
// Store printed whole, or a heap dump, would show it.
func keysText(keys []Key) string {
	var b bytes.Buffer
	for _, k := range keys {
		sum := sha256.Sum256(k.Secret)
		fmt.Fprintf(&b, "%d %x\n", k.ID, sum)
	}
	return b.String()
}

// observe reports an event that is not tied to a session, from a
// goroutine of the store's own (the keys file's watcher): a panic of the
// observer is logged (onOwn), and the watcher goes on.
func (s *Store) observe(op Op, start time.Time, err error) {
	if o := s.cfg.observer; o != nil {
		ev := Event{Op: op, Outcome: outcomeOf(err), Duration: time.Since(start)}
		s.onOwn(ownKeysReload, func() { o.Observe(ev) }, "op", op.String(), "outcome", ev.Outcome.String())
	}
}
