package fsstore

import (
	"sync"
	"time"
)

// A host whose keys file is stale: the fleet rotated from keys [1, 2] to
// [2, 1], and this host still runs [1, 2]. It reads everything, and seals
// every new session under key 1, the key the operator is rotating away
// from (perhaps because it leaked), with no error anywhere: its key set
// is valid, only old. The order the hosts recorded (see keyorder.go) tells
// it: key 2's record, which this host can authenticate since it holds key
// 2, has a larger number than key 1's, so another host made key 2 newest
// after key 1 became newest.
//
// So an application host judges its newest key against the records of
// the other keys it holds: at Open, and on a goroutine of the store's own,
// never on a request's path nor on the keys file reload's, at once after
// a reload that changes its key set and, for a rotation made by the other
// hosts while it runs, once every keyOrderRecheck. A record once read
// stands (a key keeps the first number it got), so the looks read only
// the records of keys that had none: a standby key (installed, not yet
// made newest) until a host makes it newest, one lookup a minute. A host found behind logs a warning naming
// both keys and what to do, once per change, and reports the state
// (NewestKeyBehind, a NewestKeyObserver) until its key set changes.
//
// It is never refused, nor are the records changed: an operator who
// reverted key 2 on purpose (back to [1, 2] on every host) sees the same
// state, and the warning says how it ends: rotate forward to a new key, or
// drop key 2 from the key set once its sessions are gone.
//
// Only records of keys the host holds are judged: each is sealed with its
// key and bound to its ID, so someone who can write the mount but has no
// key can neither forge one nor move one to another key ID; the worst
// they can do is remove records, which hides the state (it guards against
// a stale host, not against a writer of the mount). A record of a key the
// host does not hold cannot be authenticated here, and a host that lacks
// the hosts' newest key has a louder sign already: their sessions load as
// ErrUnknownKey on it.

// keyOrderRecheck is how often a running application store reads the
// records of its keys that had none at its last look.
const keyOrderRecheck = time.Minute

// KeyBehind is a host's newest key found older than another key it holds
// (see Store.NewestKeyBehind).
type KeyBehind struct {
	// Newest is the host's newest key, the one it seals new sessions
	// with.
	Newest uint32
	// Newer is a key the host also holds that a host of the store made
	// its newest key after Newest became newest: the newest so made, where
	// there are several.
	Newer uint32
}

// NewestKeyBehind reports whether this store's newest key, the one it
// seals new sessions with, became newest before another key it holds, by
// the order the application hosts record in the store: the other hosts
// have rotated to Newer, and this host's key set is stale (a keys file
// not updated here), or the operator reverted Newer on purpose. The store
// works as before either way; the warning logged when the state began says
// what to do. It is judged by an application store (not one opened
// WithMaintenanceOnly or WithReadOnly, whose keys are not the hosts') at
// Open, right after each keys file reload that changes the key set (the
// reload does not wait for it), and within a minute or so of another
// host's rotation; false for a store without keys and for a closed
// store. It makes no call to the file system.
func (s *Store) NewestKeyBehind() (KeyBehind, bool) {
	s.keyOrder.mu.Lock()
	defer s.keyOrder.mu.Unlock()
	b := s.keyOrder.behind
	return b, b != KeyBehind{}
}

// A NewestKeyObserver is an Observer that also wants to know when the
// store's newest key is found behind another key it holds, and when it no
// longer is (see Store.NewestKeyBehind), for a state to alert on.
// ObserveNewestKeyBehind is called once per change, never twice in a row
// with the same value, starting from not behind and, once the store is
// closed, ending not behind: Close ends the state. The calls of one store
// are made one at a time, in the order of the changes, from a goroutine
// of the store's own or from Open's (a panic there is logged as an error
// with its stack, see Observer), except the end Close reports, made on
// Close's goroutine, where a panic goes up to Close's caller (the store is
// closed all the same). Nothing is reported after Close. It must not
// block.
type NewestKeyObserver interface {
	Observer
	ObserveNewestKeyBehind(behind bool)
}

// keyOrderState is what an application store knows of the order in which
// its keys became newest.
type keyOrderState struct {
	mu sync.Mutex
	// kr is the key set judged; seqs the numbers of its keys that have a
	// valid record, by key ID.
	kr   *keyring
	seqs map[uint32]uint64
	// behind is the state reported; zero: not behind.
	behind KeyBehind
	// stop ends the rechecks (closed by stopKeyOrder); done is closed
	// when they ended. Both nil where there are none. now (one slot)
	// asks them to judge the key set in use at once: a keys file reload
	// that applied one, which must not wait for the records' reads (see
	// rejudgeKeyOrder); nil where there are no rechecks.
	stop, done, now chan struct{}
}

// judgeKeyOrder judges kr, the key set in use, against the records of
// its keys, reading those it has no number for yet (all of them for a key
// set new to it but the keys the one before held with the same secret:
// their records stand), and reports a change of the state. It is called
// at Open and from the rechecks, at once after a reload applied kr; a
// call for a key set no longer in use, when it begins or when its reads
// end, changes nothing: a recheck takes the key set in use before it
// judges it, and a reload may apply the next one in between.
func (s *Store) judgeKeyOrder(kr *keyring) {
	o := &s.keyOrder
	o.mu.Lock()
	if s.keys.Load() != kr || s.closed.Load() {
		o.mu.Unlock()
		return
	}
	if o.kr != kr {
		carried := make(map[uint32]uint64, len(kr.aeads))
		for id, seq := range o.seqs {
			if o.kr.has(kr.ids[id]) {
				carried[id] = seq
			}
		}
		o.kr, o.seqs = kr, carried
	}
	var missing []uint32
	for id := range kr.aeads {
		if _, ok := o.seqs[id]; !ok {
			missing = append(missing, id)
		}
	}
	o.mu.Unlock()
	found := make(map[uint32]uint64, len(missing))
	if s.nfs && len(missing) > 0 {
		// A record another host made since this client last looked may
		// be missing from its cache of the directory.
		forceGetattr(s.dir, s.root.noStatx)
	}
	for _, id := range missing {
		if h := s.cfg.keyOrderLook; h != nil {
			h(id)
		}
		// A record missing, not valid, or unreadable is no record: it
		// is looked for again at the next recheck.
		if seq, err := keyBecameNewest(s.dir, id, kr.aeads[id]); err == nil {
			found[id] = seq
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.kr != kr || s.keys.Load() != kr || s.closed.Load() {
		return
	}
	for id, seq := range found {
		o.seqs[id] = seq
	}
	var now KeyBehind
	if at, ok := o.seqs[kr.newest]; ok {
		for id, seq := range o.seqs {
			if seq > at {
				at, now = seq, KeyBehind{Newest: kr.newest, Newer: id}
			}
		}
	}
	s.noteKeyBehind(now)
}

// keyOrderPending reports whether a key of the key set judged has no
// number yet: only then does a recheck read anything.
func (s *Store) keyOrderPending(kr *keyring) bool {
	o := &s.keyOrder
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.kr != kr || len(o.seqs) < len(kr.aeads)
}

// noteKeyBehind records the state now, under keyOrder.mu, logging and
// reporting a change.
func (s *Store) noteKeyBehind(now KeyBehind) {
	o := &s.keyOrder
	was := o.behind
	if now == was {
		return
	}
	o.behind = now
	switch {
	case now != KeyBehind{}:
		s.cfg.logger.Warn("fsstore: this host seals new sessions under a key that another host has rotated away from: its newest key became newest before another key it holds, by the order the hosts record in the store. If the other hosts run that key as their newest, this host's key set is stale (a keys file not updated here): give it the same keys file as the other hosts, with the newer key first. If the newer key was reverted on purpose, this stays until that key leaves the key set (once its sessions are gone), or until the hosts rotate forward to a new key; nothing is refused meanwhile",
			"newest_key", now.Newest, "newer_key", now.Newer)
	default:
		s.cfg.logger.Info("fsstore: this host's newest key is no longer behind another key it holds", "newest_key", s.keyOrder.kr.newest, "was_behind", was.Newer)
	}
	if ob, ok := s.cfg.observer.(NewestKeyObserver); ok {
		behind := now != KeyBehind{}
		if (was != KeyBehind{}) && behind {
			return // still behind, of another key: no change to report
		}
		s.onOwn(ownKeyOrder, func() { ob.ObserveNewestKeyBehind(behind) }, "newest_key_behind", behind)
	}
}

// withKeyOrderPoll sets how often a running application store reads the
// records of its keys that had none, so that tests need not wait for
// keyOrderRecheck, and look, when not nil, runs before each read of a
// record by judgeKeyOrder.
func withKeyOrderPoll(d time.Duration, look func(id uint32)) Option {
	return optionFunc(func(c *config) { c.keyOrderPoll, c.keyOrderLook = d, look })
}

// rejudgeKeyOrder has the rechecks judge the key set in use at once, on
// their goroutine: a keys file reload applied one. The reload does not
// wait for the records' reads: a set that only drops or reorders keys
// needs nothing from the store (a leaked key's retirement), and a read
// blocked on a mount that does not answer held back the reload's report
// and every later change of the keys file. A store without rechecks
// (s.keyOrder.now nil) has nothing to judge.
func (s *Store) rejudgeKeyOrder() {
	select {
	case s.keyOrder.now <- struct{}{}:
	default: // one asked for already, not yet begun: it takes this set
	}
}

// watchKeyOrder starts the rechecks of an application store with keys,
// whose keyOrder.now Open made before it started the keys file's watch.
func (s *Store) watchKeyOrder() {
	o := &s.keyOrder
	o.stop, o.done = make(chan struct{}), make(chan struct{})
	every := keyOrderRecheck
	if s.cfg.keyOrderPoll > 0 {
		every = s.cfg.keyOrderPoll
	}
	go func() {
		defer close(o.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-o.now:
				s.judgeKeyOrder(s.keys.Load())
			case <-t.C:
				if kr := s.keys.Load(); s.keyOrderPending(kr) {
					s.judgeKeyOrder(kr)
				}
			}
		}
	}()
}

// endKeyOrder ends the state for Close, which marks the store closed
// before it: no judgement notes a change after it. The rechecks are
// stopped, and waited for, by stopKeyOrder.
func (s *Store) endKeyOrder() {
	o := &s.keyOrder
	o.mu.Lock()
	defer o.mu.Unlock()
	was := o.behind
	o.behind = KeyBehind{}
	if was == (KeyBehind{}) {
		return
	}
	if ob, ok := s.cfg.observer.(NewestKeyObserver); ok {
		ob.ObserveNewestKeyBehind(false)
	}
}

// stopKeyOrder stops the rechecks and waits for the one under way.
func (s *Store) stopKeyOrder() {
	if o := &s.keyOrder; o.stop != nil {
		close(o.stop)
		<-o.done
	}
}
