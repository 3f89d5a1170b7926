package fsstore

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The order in which keys became newest.
//
// A rekey must not move records back under a key the hosts have rotated
// away from (ErrKeyRollback), so it needs to know which of two keys the
// hosts made newest last. Neither the keys nor the check files say: a key
// is often installed as a standby long before it is made newest, and a
// check file may be re-created, or its times reset by a copy. So each
// application host records it when it opens the store, or reloads its keys
// file, with a newest key that has no record yet: the key takes the next
// number of a sequence kept in the store directory, and the first number a
// key took is when it first became newest, whichever host saw it first.
//
// The hosts of an NFS mount share no clock, and the file server's times
// are only as good as its clock and whoever copied the files last. The
// sequence needs neither: a number is taken by creating .keyorder-N with a
// hard link, which the server makes for one host only (EEXIST for the
// others, who take the next one), so no two keys share a number, and one
// taken later is larger. The key's own record, .keynewest-ID, is another
// link to the same file, made once (EEXIST again: another host recorded the
// key first, and its number stands). The content (the number) is sealed
// with the key itself, bound to its ID, so that someone who can write the
// store but has not the key can neither forge nor move a record; one that
// fails is no record, and the rekey falls back to the check files' times,
// as for a store whose hosts predate the records.
//
// A record that is there but not valid (damaged, forged, something
// planted) is left as it is, never recorded again: a new record would take
// a fresh number, the largest, and make the key look newer than every key
// made newest after it; a host lagging on an old key would then make a
// rekey to the hosts' key set stall on ErrKeyRollback, and let a stale one
// move records back. Whoever removes it lets the next host whose newest
// key it is record the key as newest then, at its next Open or key set
// change: this guards against damage, not against a writer of the mount,
// who can remove a valid record as well.
//
// The record is advisory: a host that cannot write it (a read-only
// export, a name it cannot replace) logs that and goes on; it tries again
// at its next Open or at a keys reload that changes its key set (a reload
// of the same keys changes nothing and records nothing).

const (
	keyOrderPrefix  = ".keyorder-"
	keyNewestPrefix = ".keynewest-"
	// keyOrderTries bounds the numbers one record tries: each one taken
	// under it is another host's record of another newest key, made in the
	// same instant.
	keyOrderTries = 64
)

// keyNewestPath is the name of key id's record of when it became newest.
func keyNewestPath(dir string, id uint32) string {
	return filepath.Join(dir, keyNewestPrefix+strconv.FormatUint(uint64(id), 10))
}

// keyOrderPath is the name of the sequence's number seq.
func keyOrderPath(dir string, seq uint64) string {
	return filepath.Join(dir, keyOrderPrefix+strconv.FormatUint(seq, 10))
}

// keyOrderAD is the associated data of key id's record.
func keyOrderAD(id uint32) []byte { return []byte(fmt.Sprintf("sessfs-keynewest %d", id)) }

// errNoKeyOrder: a key has no record of when it became newest.
var errNoKeyOrder = errors.New("no record of when the key became newest")

// errBadKeyOrder: a key's record of when it became newest is there but
// not valid (damaged, forged, not a file): no record, and not replaced.
var errBadKeyOrder = errors.New("record of when the key became newest is not valid")

// keyBecameNewest returns the number of the sequence at which key id first
// became newest, errNoKeyOrder (wrapped) if it has no record, errBadKeyOrder
// (wrapped) if its record is not valid, or the error of a read that failed.
func keyBecameNewest(dir string, id uint32, aead cipher.AEAD) (uint64, error) {
	p := keyNewestPath(dir, id)
	b, err := readSmallFile(p, maxKeyCheckSize)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%s: %w", p, errNoKeyOrder)
	}
	if errors.Is(err, errNotRegular) || errors.Is(err, errTooBig) || errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EISDIR) {
		// Planted (a symbolic link, a FIFO, a directory).
		return 0, fmt.Errorf("%s is not a record (%w): %w", p, err, errBadKeyOrder)
	}
	if err != nil {
		return 0, err
	}
	if len(b) < 12+8+16 {
		return 0, fmt.Errorf("%s is damaged: %w", p, errBadKeyOrder)
	}
	seq, err := aead.Open(nil, b[:12], b[12:], keyOrderAD(id))
	if err != nil || len(seq) != 8 {
		return 0, fmt.Errorf("%s does not authenticate under key %d: %w", p, id, errBadKeyOrder)
	}
	return binary.BigEndian.Uint64(seq), nil
}

// recordNewest records that kr's newest key became newest, unless it has a
// record already: one I/O at every Open and reload but the first with a
// new newest key. A record that is not valid is left (errBadKeyOrder), see
// above. The caller logs an error and goes on: the record is advisory.
func (kr *keyring) recordNewest(dir string, perm os.FileMode) error {
	return kr.recordNewestListed(dir, perm, lastKeyOrder)
}

// recordNewestListed is recordNewest, with last for lastKeyOrder.
func (kr *keyring) recordNewestListed(dir string, perm os.FileMode, last func(dir string, from uint64) (uint64, error)) error {
	id, aead := kr.newest, kr.aeads[kr.newest]
	_, err := keyBecameNewest(dir, id, aead)
	if !errors.Is(err, errNoKeyOrder) {
		return recordErr(id, err)
	}
	// The numbers of this host's other keys are real: they authenticate.
	// The newest's own was read above: no record.
	var from uint64
	for other, a := range kr.aeads {
		if other == id {
			continue
		}
		if n, err := keyBecameNewest(dir, other, a); err == nil && n > from {
			from = n
		}
	}
	seq, err := last(dir, from)
	if err != nil {
		return recordErr(id, err)
	}
	for range keyOrderTries {
		if seq == math.MaxUint64 {
			return fmt.Errorf("fsstore: record key %d as newest: the sequence in %s is at its end", id, dir)
		}
		seq++
		taken, err := recordNewestAt(dir, id, aead, seq, perm)
		if err != nil || !taken {
			return recordErr(id, err)
		}
		// The host that took seq may have been recording this key: its
		// number stands. Without this look, hosts racing to record one
		// key would each take a number per host ahead of it.
		if _, err := keyBecameNewest(dir, id, aead); !errors.Is(err, errNoKeyOrder) {
			return recordErr(id, err)
		}
	}
	return fmt.Errorf("fsstore: record key %d as newest: %d numbers of the sequence in %s taken in a row by other hosts", id, keyOrderTries, dir)
}

// recordErr wraps an error of recording key id as newest; nil stays nil.
func recordErr(id uint32, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("fsstore: record key %d as newest: %w", id, err)
}

// recordNewestAt tries to record key id as newest at number seq. taken
// reports that another host has seq: try the next.
func recordNewestAt(dir string, id uint32, aead cipher.AEAD, seq uint64, perm os.FileMode) (taken bool, err error) {
	nonce := make([]byte, 12)
	rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, binary.BigEndian.AppendUint64(nil, seq), keyOrderAD(id))
	tmp := filepath.Join(dir, tempPrefix+"keyorder-"+randHex(8))
	// Synced before the links, as the key check files are: a power loss
	// must not leave a name with no content.
	if err := writeSynced(tmp, sealed, perm); err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	switch err := linkExcl(tmp, keyOrderPath(dir, seq)); {
	case errors.Is(err, fs.ErrExist):
		return true, nil
	case err != nil:
		return false, err
	}
	err = linkExcl(tmp, keyNewestPath(dir, id))
	if errors.Is(err, fs.ErrExist) {
		// Another host recorded the key first (or something is planted
		// there, which is left, see above): the number taken here orders
		// nothing.
		return false, nil
	}
	return false, err
}

// linkExcl links old to new, failing with fs.ErrExist if new exists. An
// NFS client that resends a LINK whose reply was lost gets EEXIST for its
// own link: new being old's file then is success.
func linkExcl(old, new string) error {
	err := os.Link(old, new)
	if errors.Is(err, fs.ErrExist) {
		a, err1 := os.Lstat(old)
		b, err2 := os.Lstat(new)
		if err1 == nil && err2 == nil && os.SameFile(a, b) {
			return nil
		}
	}
	return err
}

// lastKeyOrder returns the largest number of the sequence taken, as far as
// a listing of dir shows: one that lags (an NFS client's cached listing)
// only makes the first links fail with EEXIST.
//
// Only numbers reached from from (a number known to be taken: a record
// this host authenticated, or 0) by steps of keyOrderTries at most count.
// The hosts take numbers one after another, so the sequence has no gaps
// but the numbers someone removed; a name someone who has no key planted
// far beyond it (.keyorder-18446744073709551615) made the sequence end
// there, and no host could record a key as newest again. One planted
// within reach only moves the sequence past it.
func lastKeyOrder(dir string, from uint64) (uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, hideEntry(dir, err)
	}
	var nums []uint64
	for _, e := range ents {
		if n, ok := keyOrderNumber(e.Name()); ok && n > from {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	last := from
	for _, n := range nums {
		if n-last > keyOrderTries {
			break
		}
		last = n
	}
	return last, nil
}

// keyOrderNumber returns the number of a .keyorder-N name.
func keyOrderNumber(name string) (uint64, bool) {
	n, ok := strings.CutPrefix(name, keyOrderPrefix)
	if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
		return 0, false
	}
	seq, err := strconv.ParseUint(n, 10, 64)
	return seq, err == nil
}

// isKeyFile reports whether name at the store's top is one of the key
// files the store keeps for good: a key check file, a key's record of
// when it became newest, or a number of their sequence.
func isKeyFile(name string) bool {
	for _, prefix := range []string{".keycheck-", keyNewestPrefix, keyOrderPrefix} {
		if n, ok := strings.CutPrefix(name, prefix); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return true
		}
	}
	return false
}
