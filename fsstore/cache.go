package fsstore

import (
	"container/list"
	"sync"

	"github.com/sessfs/sessfs/internal/record"
)

// cache is a bounded LRU of decoded records. It is always revalidated: get
// fetches the file's attributes from the file server (on NFS one GETATTR,
// forced past the attribute cache, after Load has revalidated the
// directory so that the name leads to the current file; see Store.loadKeep)
// and serves the entry only if the file is still the one it was read from:
// same device, inode, size and ctime. A record file is never changed in
// place (Save, CompareAndSwap and Rekey write a new file and rename it over
// the name), and any touch, rename or link of it moves its ctime, so an
// unchanged identity means unchanged bytes. The residual risk is an inode
// number freed and reused by a later save of the same session: that needs
// the same size and a ctime stamped in the same timestamp tick as the
// cached one (the file server's clock granularity), with the session saved
// twice more, or deleted and saved again, within that tick. Where that
// tick is a second (a ctime in whole seconds, see fileStat.identifiable),
// which two saves of one session often fit in, nothing is cached. The hit
// saves the
// OPEN, READ and CLOSE on NFS (2 round trips instead of 3), the payload
// read, the checksum and the allocation; a touched record is read again.
//
// An entry is also served only while the key it was opened with is in
// use: what a record may be opened with changes when the keys file is
// reloaded (a retired key, see docs/security.md), and the cache must not
// outlive that judgement: a reload drops the entries opened with a key it
// retired (retire). A reload that keeps the key, one that adds a new
// newest key or only reorders the file, keeps them: it emptied the whole
// cache, every session read from the file server again at each rotation.
type cache struct {
	maxEntries, maxBytes int
	root                 *rootDir
	// staleStat (tests) answers get's revalidation with the attributes
	// the entry was read with, as an NFS client's attribute cache may on
	// macOS and FreeBSD (statNow), where the file server has newer ones.
	staleStat bool

	mu    sync.Mutex
	items map[string]*list.Element // record name -> *cacheEntry
	lru   list.List                // front: most recently used
	bytes int
	// keys is the key set a keys file reload put in use (see retire);
	// nil before any.
	keys *keyring
}

type cacheEntry struct {
	name    string
	header  record.Header
	payload []byte
	st      fileStat // of the file it was read from
	// keyed: opened with a key set (in a store with keys); key: the key
	// that opened it, for an encrypted record. No secret is kept.
	keyed bool
	key   keyIdent
}

// openedWith is how an entry read under keys, with header h, was opened.
func openedWith(e *cacheEntry, h *record.Header, keys *keyring) {
	e.keyed = keys != nil
	if keys != nil && h.Flags&record.FlagEncrypted != 0 {
		e.key = keys.ids[h.KeyID]
	}
}

// validUnder reports whether keys, the key set in use, would open e's
// record as it was opened: with the same key (ID and secret) for an
// encrypted one, and with a key set or without one as it was.
func (e *cacheEntry) validUnder(keys *keyring) bool {
	if e.keyed != (keys != nil) {
		return false
	}
	return keys == nil || e.header.Flags&record.FlagEncrypted == 0 || keys.has(e.key)
}

func newCache(entries, maxBytes int) *cache {
	return &cache{maxEntries: entries, maxBytes: maxBytes, items: make(map[string]*list.Element)}
}

// get returns a copy of the cached entry for name if the file at path still
// holds the same record and the entry is valid under keys, the key set in
// use (see validUnder). The payload is copied into dst's capacity when it
// fits there.
func (c *cache) get(name, path string, keys *keyring, dst []byte) (cacheEntry, bool) {
	c.mu.Lock()
	el, ok := c.items[name]
	var e cacheEntry
	if ok {
		e = *el.Value.(*cacheEntry)
		if !e.validUnder(keys) {
			c.removeLocked(el)
			ok = false
		}
	}
	c.mu.Unlock()
	if !ok {
		return e, false
	}
	st, err := e.st, error(nil)
	if !c.staleStat {
		st, err = c.root.statNow(path)
	}
	if err != nil || st.typ != 0 || !st.identifiable() || !st.sameFile(e.st) {
		return e, false
	}
	c.mu.Lock()
	if el, ok := c.items[name]; ok {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	if cap(dst) < len(e.payload) {
		dst = nil
	}
	e.payload = append(dst[:0], e.payload...)
	e.st = st
	return e, true
}

// put stores a record read from a file whose attributes are st and opened
// with keys; not one whose attributes could not tell it from its
// replacement (fileStat.identifiable), which get would never serve.
func (c *cache) put(name string, h record.Header, payload []byte, st fileStat, keys *keyring) {
	if len(payload) > c.maxBytes || !st.identifiable() {
		return
	}
	e := &cacheEntry{name: name, header: h, payload: payload, st: st}
	openedWith(e, &h, keys)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys != nil && !e.validUnder(c.keys) {
		return // opened before a reload retired its key (see retire)
	}
	if el, ok := c.items[name]; ok {
		c.removeLocked(el)
	}
	c.items[name] = c.lru.PushFront(e)
	c.bytes += len(payload)
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.removeLocked(c.lru.Back())
	}
}

func (c *cache) removeLocked(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.items, e.name)
	c.bytes -= len(e.payload)
}

// retire drops the entries that keys, the key set a keys file reload just
// put in use, would not open as they were opened (a key retired, or given
// another secret), and refuses such entries from now on (a read begun
// before the reload). get would never serve them again, but until evicted
// they kept the plaintext opened with a retired key in memory. The others
// stay: the reload did not change what they were opened with.
func (c *cache) retire(keys *keyring) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = keys
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if !el.Value.(*cacheEntry).validUnder(keys) {
			c.removeLocked(el)
		}
		el = next
	}
}

func (c *cache) drop(name string) {
	c.mu.Lock()
	if el, ok := c.items[name]; ok {
		c.removeLocked(el)
	}
	c.mu.Unlock()
}
