package fsstore

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WithKeysFile encrypts payloads at rest with the key set in path (read as
// KeysFromFile reads it; see WithKeys for what the keys do) and reloads it
// whenever the file changes, so that every host of a fleet picks up a
// rotated key set without a restart. The keys file lives on each host's
// local disk, where file change notifications see every change.
//
// The directory holding the file is watched, not the file itself: editors
// and atomic writers (write a temporary file, rename it over the keys file,
// as configuration management and Kubernetes secret volumes do) replace the
// file, and a watch on the old file would never fire again. Replace the file
// atomically: a file rewritten in place may be read half-written, which
// fails to parse and is skipped until the next change.
//
// A file that cannot be read or parsed, or whose keys fail the store's key
// check (a known key ID with a different secret), leaves the keys in use
// unchanged: the error goes to the logger (WithLogger) and, as an
// OpKeysReload event with a failed outcome, to the Observer. A successful
// reload is logged with the key IDs, never the secrets. Open fails if the
// file cannot be loaded at all.
//
// WithKeysFile and WithKeys are exclusive.
func WithKeysFile(path string) Option {
	return optionFunc(func(c *config) { c.keysFile = path })
}

// keysWatcher reloads the store's key set when its keys file changes.
type keysWatcher struct {
	s    *Store
	path string
	w    *fsnotify.Watcher
	done chan struct{}

	// mu serializes reloads; last is the outcome of the previous attempt
	// (the applied key set's lines, or the error's text), so that the many
	// events of one change, and events for other files of the directory,
	// are neither logged nor observed twice.
	mu   sync.Mutex
	last string
}

// watchKeys starts watching the keys file's directory.
func watchKeys(s *Store, path string, loaded []Key) (*keysWatcher, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("fsstore: keys file: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("fsstore: keys file: watch: %w", err)
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		w.Close()
		return nil, fmt.Errorf("fsstore: keys file: watch %s: %w", filepath.Dir(abs), err)
	}
	kw := &keysWatcher{s: s, path: abs, w: w, done: make(chan struct{}), last: keysText(loaded)}
	go kw.run()
	return kw, nil
}

func (kw *keysWatcher) run() {
	defer close(kw.done)
	for {
		select {
		case _, ok := <-kw.w.Events:
			if !ok {
				return
			}
			// Any event in the directory may have replaced the file (a
			// renamed temporary file, a swapped symlink); reading a few
			// lines is cheap, and reload ignores a file that did not change.
			kw.reload()
		case err, ok := <-kw.w.Errors:
			if !ok {
				return
			}
			// An overflowed event queue may have hidden a change.
			kw.s.cfg.logger.Warn("keys file watch", "file", kw.path, "err", err)
			kw.reload()
		}
	}
}

// reload reads the keys file and, if it holds a new valid key set, makes
// the store use it.
func (kw *keysWatcher) reload() {
	kw.mu.Lock()
	defer kw.mu.Unlock()
	start := kw.s.begin()
	keys, err := KeysFromFile(kw.path)
	var kr *keyring
	if err == nil {
		if keysText(keys) == kw.last {
			return
		}
		if kr, err = newKeyring(keys); err == nil {
			if h := kw.s.cfg.testFS; h != nil {
				h("keys")
			}
			err = kr.checkKeys(kw.s.dir, kw.s.cfg.fileMode)
		}
	}
	if err != nil {
		msg := err.Error()
		if msg == kw.last {
			return
		}
		kw.last = msg
		err = fmt.Errorf("%w: %w", ErrKeysReload, err)
		kw.s.cfg.logger.Error("keys file not reloaded; the keys in use are unchanged", "file", kw.path, "err", err)
		kw.s.observe(OpKeysReload, start, err)
		return
	}
	kw.last = keysText(keys)
	kw.s.keys.Store(kr)
	ids := make([]uint32, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	kw.s.cfg.logger.Info("keys file reloaded", "file", kw.path, "key_ids", ids)
	kw.s.observe(OpKeysReload, start, nil)
}

func (kw *keysWatcher) close() {
	kw.w.Close()
	<-kw.done
}

// ErrKeysReload wraps the reasons a changed keys file was not applied
// (WithKeysFile); the store keeps its previous keys.
var ErrKeysReload = errors.New("keys file not reloaded")

// keysText is a key set's identity for telling a changed file from events
// that changed nothing; it is kept in memory only, like the keys.
func keysText(keys []Key) string {
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// observe reports an event that is not tied to a session.
func (s *Store) observe(op Op, start time.Time, err error) {
	if s.cfg.observer != nil {
		s.cfg.observer.Observe(Event{Op: op, Outcome: outcomeOf(err), Duration: time.Since(start)})
	}
}
