package fsstore

// A KeysFileObserver is an Observer that also wants to know when the
// store's keys file (WithKeysFile) holds a change that was not applied,
// and when it no longer does (see Store.KeysFileUnapplied), for a state
// to alert on: a failed reload is reported once as an OpKeysReload event,
// and a file left as it is makes no new one, so an alert on the count of
// failures resolved while the keys in use still differed from the file.
// ObserveKeysFile is called once per change, never twice in a row with
// the same value, starting from applied and, once the store is closed,
// ending applied: Close ends the state, so that a count kept from the
// calls drops a store that is no longer used, and nothing is reported
// after Close. The calls of one store are made one at a time, in the
// order of the changes; they come from the keys file's watcher, a
// goroutine of the store's own, where a panic in it is logged as an error
// with its stack (see Observer), except the end Close reports, made on
// Close's goroutine, where a panic goes up to Close's caller. It must not
// block.
type KeysFileObserver interface {
	Observer
	ObserveKeysFile(unapplied bool)
}

// KeysFileUnapplied reports whether the store's keys file (WithKeysFile)
// holds a change that was not applied: its latest read could not be read
// or parsed, was refused (its mode, its owner, a known key ID with
// another secret), or its new keys' check against the store failed (for
// want of the store: retried until it passes). The keys in use are the
// ones applied before; the log's "keys file not reloaded" says why. It is
// false once a read of the file is applied, for a store without a keys
// file, and for a closed store. It makes no call to the file system.
func (s *Store) KeysFileUnapplied() bool { return s.keysUnapplied.Load() }

// noteKeysFile records the outcome of a reload of the keys file that was
// acted on: unapplied, a failure reported (logged and observed), or not,
// a key set applied. It reports a change to a KeysFileObserver. The change
// and its report are made under kuMu, with the store's closed state
// looked at there: Close ends the state under it, and a failure noted
// after that end would be counted for good.
func (s *Store) noteKeysFile(unapplied bool) {
	s.kuMu.Lock()
	defer s.kuMu.Unlock()
	if s.closed.Load() || s.keysUnapplied.Load() == unapplied {
		return
	}
	s.keysUnapplied.Store(unapplied)
	if o, ok := s.cfg.observer.(KeysFileObserver); ok {
		s.onOwn(ownKeysFile, func() { o.ObserveKeysFile(unapplied) }, "keys_file_unapplied", unapplied)
	}
}

// endKeysFile ends the state for Close, which marks the store closed
// before it: under kuMu nothing can note a failure after it.
func (s *Store) endKeysFile() {
	s.kuMu.Lock()
	defer s.kuMu.Unlock()
	if !s.keysUnapplied.Swap(false) {
		return
	}
	if o, ok := s.cfg.observer.(KeysFileObserver); ok {
		o.ObserveKeysFile(false)
	}
}
