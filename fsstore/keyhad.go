package fsstore

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// keyHadCache remembers, for one store, what the look for the check file
// of a key ID this process does not hold found (see keyNeverHad): a pass
// over many records under a retired key (Range, Rekey, a Load per request)
// would otherwise look once per record, an lstat each, and on NFS a
// GETATTR of the store directory before it.
//
// What an answer may cost when stale decides how long it is kept. A check
// file seen (the key was had) says something that stays true: some host
// had the key, and its records are ErrUnknownKey, never ErrCorrupt, which
// CompareAndSwap of version 0 and a fresh session would replace. Kept for
// keyHadFor, so that a store replaced under the process is found again in
// time. A check file missing (never had) may stop being so the next
// instant, when a host first opens the store with the key, and a record
// under it judged corrupt meanwhile could be replaced: kept for
// keyNeverHadFor only, the time a keyless host may go on writing
// plaintext after a keyed one marked the store (keylessRecheck). A look
// that failed otherwise (EIO, EACCES) answers "had", and is not kept.
//
// Bounded: forged records may name any key ID. A full cache drops what
// expired, then the never-had answers; one full of had answers (64 key
// IDs with check files) keeps them and looks anew for the others.
type keyHadCache struct {
	mu      sync.Mutex
	entries map[uint32]keyHadEntry
}

type keyHadEntry struct {
	had bool
	at  int64 // store clock, Unix ns, before the look
}

const (
	keyHadMax      = 64
	keyHadFor      = time.Minute
	keyNeverHadFor = keylessRecheck
)

// get returns the answer kept for key id at now (Unix ns), if one is kept
// and still fresh. An answer stamped after now (the clock went back) is
// not fresh, as noteMarkerRead does not trust one.
func (c *keyHadCache) get(id uint32, now int64) (had, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || !e.fresh(now) {
		return false, false
	}
	return e.had, true
}

func (e keyHadEntry) fresh(now int64) bool {
	ttl := keyNeverHadFor
	if e.had {
		ttl = keyHadFor
	}
	return now >= e.at && now-e.at < int64(ttl)
}

// put keeps what a look for key id's check file begun at at found.
func (c *keyHadCache) put(id uint32, had bool, at int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[uint32]keyHadEntry)
	}
	if _, ok := c.entries[id]; !ok && len(c.entries) >= keyHadMax {
		for k, e := range c.entries {
			if !e.fresh(at) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= keyHadMax {
			for k, e := range c.entries {
				if !e.had {
					delete(c.entries, k)
				}
			}
		}
		if len(c.entries) >= keyHadMax {
			return
		}
	}
	c.entries[id] = keyHadEntry{had: had, at: at}
}

// forget drops every answer: the key set changed (a keys file reload), so
// that a key this process held and gave up is looked for afresh.
func (c *keyHadCache) forget() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

// keyNeverHad returns ErrCorrupt when no application host of the store
// has had key id (its check file is missing, and so is its record of when
// it became newest), nil otherwise, also when the files cannot be looked
// at; see unknownKey. Answers are kept
// per store for a while (keyHadCache).
func (s *Store) keyNeverHad(id uint32) error {
	p := keyCheckPath(s.dir, id)
	now := s.cfg.now().UnixNano()
	had, ok := s.keyHad.get(id, now)
	if !ok {
		if h := s.testHooks.keyCheckLook; h != nil {
			h(id)
		}
		if s.nfs {
			forceGetattr(s.dir, s.root.noStatx)
		}
		_, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			// The key's record of when it became the hosts' newest is
			// as good a sign: a host sealed records under the key only
			// once the key was its newest, and wrote the record then.
			// A check file removed (see keepKeyChecks) leaves it.
			_, err = os.Lstat(keyNewestPath(s.dir, id))
		}
		had = !errors.Is(err, fs.ErrNotExist)
		if err == nil || !had {
			s.keyHad.put(id, had, now)
		}
	}
	if !had {
		return fmt.Errorf("%w: the record says it is encrypted under key ID %d, which no application host of this store has had (no %s, nor %s): forged or damaged", ErrCorrupt, id, keyCheckBase(id), filepath.Base(keyNewestPath(s.dir, id)))
	}
	return nil
}

// keyChecksRecheck is how often, at most, a keyed application store's
// saves look for its keys' check files (keepKeyChecks).
const keyChecksRecheck = time.Minute

// keepKeyChecks checks the check file of each key of kr, and writes again
// one that is missing, looking at most every keyChecksRecheck, from a
// save of an application store (it vouches for its keys as at Open). A
// check file is written once, by the first host to open the store with
// the key, and read by the hosts without the key to tell a record under
// it from a forgery (keyNeverHad), and by the keyless hosts as a sign
// that the store is encrypted (keyFileIn): one removed while the fleet
// runs with the key (by hand, by a cleanup of old files) made those hosts
// take every live session under it for corrupt (the corrupt-records
// alert, not the unknown-key one) until a host opened the store again,
// and CompareAndSwap of version 0 replace it. And a maintenance store
// refuses to rekey or save under a newest key without one
// (ErrKeyNotDeployed).
//
// A check file that does not open with this host's key (another secret
// under the ID, or a damaged file) is logged as an error at each look, and
// left as it is: this host cannot tell a forgery from the check file of
// another host that holds another secret under the ID (a host opened with
// another key set while the file was missing, whose Open then found
// nothing to check its key against). Writing its own over it would hide
// that split from the next Open, which checks against the file, and the
// two hosts would take turns replacing each other's. The split is the
// fault, and only the operator can say whose key set is right. A check
// that cannot be made (an I/O error) is logged too. The save goes on
// either way: the file is advisory to this host, which checked its key at
// Open.
func (s *Store) keepKeyChecks(ctx context.Context, kr *keyring) {
	now := s.cfg.now().UnixNano()
	last := s.keyChecksAt.Load()
	if now >= last && now-last < int64(keyChecksRecheck) {
		return
	}
	if !s.keyChecksAt.CompareAndSwap(last, now) {
		return // another save looks
	}
	if s.nfs {
		// A check file removed by another host may still be in this
		// client's cache of the directory.
		forceGetattr(s.dir, s.root.noStatx)
	}
	checksGone := false
	for id, aead := range kr.aeads {
		if h := s.testHooks.keyCheckLook; h != nil {
			h(id)
		}
		// The file is read and opened with the key, not only looked
		// for: one there under another secret was trusted as this key's
		// until the next Open failed on it.
		err := checkKey(s.dir, id, aead, 0, false)
		switch {
		case err == nil:
			continue
		case errors.Is(err, errKeyCheck):
			s.cfg.logger.Error("fsstore: a key's check file does not hold this host's key (another secret under the same key ID: a host opened the store with another key set while the file was missing, or someone replaced the file): the hosts whose key differs take each other's sessions for corrupt, and a host opened with this key set now fails to start; left as it is, since it may be another host's key: find the host whose key set differs and give every host one key set, or, if the file is damaged, remove it (a save here writes it again within a minute)",
				"key", id, "file", keyCheckBase(id), "err", err)
			continue
		case !errors.Is(err, fs.ErrNotExist):
			s.cfg.logger.Warn("fsstore: a key's check file could not be read; it is looked at again within a minute", "key", id, "file", keyCheckBase(id), "err", err)
			continue
		}
		checksGone = true
		if err := s.restoreKeyCheck(id, aead); err != nil {
			s.cfg.logger.Warn("fsstore: a key's check file was missing and could not be written again; the hosts without the key take records under it for corrupt until it is", "key", id, "err", err)
			continue
		}
		s.cfg.logger.Warn("fsstore: a key's check file was missing (removed?) and is written again", "key", id, "file", keyCheckBase(id))
		s.keyHad.put(id, true, now)
		if id != kr.newest {
			s.backdateKeyCheck(id, kr.newest)
		}
	}
	s.keepMarkedEncrypted(ctx, checksGone)
}

// backdateKeyCheck sets the times of key id's check file, just written
// again, to those of the newest key's, where they are later. A rekey
// orders the keys made newest before the hosts recorded the order by
// their check files' times (rollbackGuard.judgeRead), and the check file
// of an old key (the oldest file, which a cleanup of old files removes)
// written again now made it look made newest after the newest key: every
// record under it refused as ErrKeyRollback, where the file missing let
// them be rewritten, and the old key could not be retired. A key that is
// not this host's newest was not made newest after its newest key. A
// failure leaves the file as written (logged): the rekey names the files
// and what to do.
func (s *Store) backdateKeyCheck(id, newest uint32) {
	ref, err := s.root.lstat(keyCheckPath(s.dir, newest))
	if err != nil || ref.typ != 0 {
		return // no time to go by: judged as written
	}
	p := keyCheckPath(s.dir, id)
	fi, err := s.root.lstat(p)
	if err != nil || fi.typ != 0 || !fi.mtime.After(ref.mtime) {
		return
	}
	if h := s.testHooks.keyCheckBackdate; h != nil {
		h(p)
	}
	// By the name, never through a symlink: a writer of the mount could
	// put one in place of the file between the look above and this, and
	// have this host set the times of any file its user may write.
	if err := s.root.setTimes(p, ref.mtime, ref.mtime); err != nil {
		s.cfg.logger.Warn("fsstore: a key's check file written again could not be given the newest key's check file's time; a rekey by the check files' times may take the key for newer than the newest", "key", id, "err", err)
	}
}

// keepMarkedEncrypted writes the marker's "encrypted 1" line again where
// it is gone, from keepKeyChecks. Nothing clears it but someone editing
// the marker (by hand, or a writer of the mount without the keys), and a
// host started without keys after that opened the store and wrote and
// served plaintext sessions, a forged one included, for as long as it ran:
// the keyed hosts read the marker only at Open. The key files refuse such
// a host now (keyFileIn), unless the writer removed them too, which
// keepKeyChecks undoes for the check files: the line is for that case, and
// for the builds of sessfs that know only the line. Written again, it
// stops such a host within keylessRecheck of its next re-read, and fails
// the next keyless Open. checksGone says that check files of this host's
// keys were found missing too, just before: only then may a keyless host
// have opened the store, and the warning says which case it is. A
// failure is logged and the save goes on, as for
// a check file: the line is for the other hosts, not for this one. The
// wait for the marker lock ends with the save's ctx: a request's deadline
// bounds its save, which waited up to openRaiseTimeout for a lock held
// by a host stuck in a raise.
func (s *Store) keepMarkedEncrypted(ctx context.Context, checksGone bool) {
	ctx, cancel := context.WithTimeout(ctx, openRaiseTimeout)
	defer cancel()
	wrote, err := s.writeEncryptedMark(ctx)
	switch {
	case err != nil:
		s.cfg.logger.Warn("fsstore: could not make sure the store's marker says it is encrypted; a host without keys may open it and write sessions in clear text that the keyed hosts refuse", "file", MarkerFile, "err", err)
	case wrote && checksGone:
		s.cfg.logger.Warn("fsstore: the store's marker no longer said it is encrypted (edited?) and says so again, and key check files were missing as well (written again); a host started without keys while both were gone, and no other key file was left at the store's top, may have opened the store and written sessions in clear text, which the keyed hosts refuse", "file", MarkerFile)
	case wrote:
		// The key files, which only keyed hosts write, were there: a
		// keyless host refuses such a store (keyFileIn), line or not.
		s.cfg.logger.Warn("fsstore: the store's marker no longer said it is encrypted (edited?) and says so again; its key files are still at its top, and a host without keys refuses to open a store that has them, so none can have written sessions in clear text unless those files were removed meanwhile as well", "file", MarkerFile)
	}
}

func (s *Store) restoreKeyCheck(id uint32, aead cipher.AEAD) error {
	return checkKey(s.dir, id, aead, s.cfg.fileMode, true)
}

// keyCheckBase is the file name of key id's check file.
func keyCheckBase(id uint32) string { return fmt.Sprintf(".keycheck-%d", id) }
