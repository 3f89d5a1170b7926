package fsstore

import (
	"bytes"
	"container/list"
	"sync"

	"github.com/sessfs/sessfs/internal/record"
)

// cache is a bounded LRU of decoded records. It is always revalidated: get
// re-opens the file and compares its 64-byte header (version counter, times,
// length and the CRC-32C of the payload) and inode with the cached ones, so
// a hit is as fresh as a full read. On NFS what makes this valid is the
// open, after Load has revalidated the directory (see Store.load): the open
// revalidates the file's attributes, while a bare stat may answer from the
// attribute cache for up to a minute. The hit saves the payload read, the
// checksum and the allocation.
type cache struct {
	maxEntries, maxBytes int
	root                 *rootDir

	mu    sync.Mutex
	items map[string]*list.Element // record name -> *cacheEntry
	lru   list.List                // front: most recently used
	bytes int
}

type cacheEntry struct {
	name    string
	raw     [record.HeaderSize]byte
	header  record.Header
	payload []byte
	ino     uint64
	dev     uint64
	st      fileStat
}

func newCache(entries, maxBytes int) *cache {
	return &cache{maxEntries: entries, maxBytes: maxBytes, items: make(map[string]*list.Element)}
}

// get returns a copy of the cached entry for name if the file at path still
// holds the same record.
func (c *cache) get(name, path string) (cacheEntry, bool) {
	c.mu.Lock()
	el, ok := c.items[name]
	var e cacheEntry
	if ok {
		e = *el.Value.(*cacheEntry)
	}
	c.mu.Unlock()
	if !ok {
		return e, false
	}
	f, st, err := c.root.openRead(path)
	if err != nil {
		return e, false
	}
	defer f.close()
	var hdr [record.HeaderSize]byte
	if st.ino != e.ino || st.dev != e.dev || st.size != e.st.size {
		return e, false
	}
	if n, err := f.readAt(hdr[:], 0); err != nil || n != len(hdr) || !bytes.Equal(hdr[:], e.raw[:]) {
		return e, false
	}
	c.mu.Lock()
	if el, ok := c.items[name]; ok {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	e.payload = append([]byte(nil), e.payload...)
	e.st = st // a Touch changes the mtime, not the record
	return e, true
}

// put stores a decoded record; payload aliases raw.
func (c *cache) put(name string, raw []byte, h record.Header, payload []byte, st fileStat) {
	if len(payload) > c.maxBytes {
		return
	}
	e := &cacheEntry{name: name, header: h, payload: payload, ino: st.ino, dev: st.dev, st: st}
	copy(e.raw[:], raw)
	c.mu.Lock()
	defer c.mu.Unlock()
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

func (c *cache) drop(name string) {
	c.mu.Lock()
	if el, ok := c.items[name]; ok {
		c.removeLocked(el)
	}
	c.mu.Unlock()
}
