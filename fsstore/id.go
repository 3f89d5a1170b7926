package fsstore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/sessfs/sessfs/internal/record"
)

// ID length limits. NewID makes 43-character IDs; the limits admit IDs from
// other generators (scs: 43, gorilla/sessions: 52) and refuse anything too
// short to be unguessable or long enough to be an attack.
const (
	MinIDLen = 16
	MaxIDLen = 128
)

// NewID returns a new session ID: 256 bits from crypto/rand, encoded as
// unpadded URL-safe base64 (43 characters, safe in cookies and URLs).
func NewID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("fsstore: new ID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ValidID reports whether id may name a session: MinIDLen to MaxIDLen
// characters from the URL-safe base64 alphabet [A-Za-z0-9_-]. Anything else
// (path separators, dots, NUL, spaces, non-ASCII) is refused before the ID
// is used for anything. The error matches ErrInvalidID and never quotes the
// ID, which may be a secret.
func ValidID(id string) error {
	if len(id) < MinIDLen || len(id) > MaxIDLen {
		return fmt.Errorf("%w: length %d outside %d..%d", ErrInvalidID, len(id), MinIDLen, MaxIDLen)
	}
	// Eight bytes at a time, their table entries ANDed, with one branch
	// for the eight: a branch a byte made this check cost as much as a
	// SHA-256 of the ID, on every operation. The bytes after the first
	// group that fails are looked at one by one, for the error's index.
	i := 0
	for ; i+8 <= len(id); i += 8 {
		b := id[i : i+8]
		if idChar[b[0]]&idChar[b[1]]&idChar[b[2]]&idChar[b[3]]&idChar[b[4]]&idChar[b[5]]&idChar[b[6]]&idChar[b[7]] == 0 {
			break
		}
	}
	for ; i < len(id); i++ {
		if idChar[id[i]] == 0 {
			return fmt.Errorf("%w: byte %d is not in [A-Za-z0-9_-]", ErrInvalidID, i)
		}
	}
	return nil
}

// idChar is 1 for the bytes an ID may hold, 0 for the others.
var idChar = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = 1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	t['-'], t['_'] = 1, 1
	return t
}()

// key is what the store derives from a valid ID: the file name and the lock
// stripe. Names come from a hash so that a directory listing, a backup or a
// log of file names reveals no live session token, and no path is ever built
// from caller input.
type key struct {
	name   string // 32 hex digits
	stripe uint32
	// file is the record's path, name its last element, when a Store
	// derived the key (Store.key); empty otherwise.
	file string
	// lockName is the name of the stripe's lock file, when a Store
	// derived the key (Store.key, in the allocation of file); empty
	// otherwise.
	lockName string
	// bind is record.Bind of the ID when bound is set: a Locked derives
	// it once, where its Load and its Save would each hash the ID again.
	bind  [8]byte
	bound bool
}

// bindOf returns record.Bind(id), id being the ID k was derived from.
func (k *key) bindOf(id string) [8]byte {
	if k.bound {
		return k.bind
	}
	return record.Bind(id)
}

// withBind returns k with the binding of id, the ID it was derived from,
// set (see bind), for a Locked: its Load checks the binding and its Save
// writes it, one hash of the ID where each made its own (a locked request
// that only reads or touches loads too, and hashes it no more often).
func (k key) withBind(id string) key {
	k.bind, k.bound = record.Bind(id), true
	return k
}

func deriveKey(id string) key {
	sum := nameSum(id)
	return key{name: hex.EncodeToString(sum[:16]), stripe: stripeOfSum(&sum)}
}

// nameSum is the digest a record's name and stripe are taken from.
func nameSum(id string) [sha256.Size]byte {
	// sha256.Sum256 over a stack buffer: sha256.New plus Write([]byte(id))
	// costs two heap allocations per call (the hash escapes through the
	// interface, and the conversion with it). IDs are at most MaxIDLen
	// bytes; a longer one only costs the allocation back.
	b := make([]byte, 0, len(nameTag)+MaxIDLen)
	b = append(append(b, nameTag...), id...)
	return sha256.Sum256(b)
}

// stripeOfSum is the stripe of the name nameSum gave: the big-endian
// value of name[24:32], as stripeOfName computes it from the name.
func stripeOfSum(sum *[sha256.Size]byte) uint32 { return binary.BigEndian.Uint32(sum[12:16]) }

const nameTag = "sessfs-name\x00"

// stripeOfID is deriveKey(string(id)).stripe without building the name.
func stripeOfID(id []byte) uint32 {
	b := make([]byte, 0, len(nameTag)+MaxIDLen)
	b = append(append(b, nameTag...), id...)
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint32(sum[12:16])
}

// stripeOfName picks a record's lock stripe from its file name, so that a
// sweep, which sees names but never IDs, locks the same stripe as requests.
// The name is a hash, so the stripes are as evenly used as with the ID.
func stripeOfName(name string) uint32 {
	var b [4]byte
	hex.Decode(b[:], []byte(name[24:32]))
	return binary.BigEndian.Uint32(b[:])
}

// isRecordName reports whether a file name has the form of a record name.
func isRecordName(name string) bool { return isRecordNameOf(name) }

// isRecordNameBytes is isRecordName for a name held as bytes, a listing's.
func isRecordNameBytes(name []byte) bool { return isRecordNameOf(name) }

// isRecordNameOf checks the 32 characters eight at a time, each word's
// bytes at once (the scan asks it of every file it lists, where a loop
// over the characters was a tenth of a sweep's user-space instructions):
// with every byte below 0x80, adding 0x80-lo to each sets its top bit
// exactly when the byte is at least lo, and adding 0x7f-hi exactly when
// it is above hi, without a carry into the next byte.
func isRecordNameOf[T string | []byte](name T) bool {
	if len(name) != 32 {
		return false
	}
	const ones, top = 0x0101010101010101, 0x8080808080808080
	for i := 0; i < 32; i += 8 {
		x := uint64(name[i]) | uint64(name[i+1])<<8 | uint64(name[i+2])<<16 | uint64(name[i+3])<<24 |
			uint64(name[i+4])<<32 | uint64(name[i+5])<<40 | uint64(name[i+6])<<48 | uint64(name[i+7])<<56
		if x&top != 0 {
			return false
		}
		digit := (x + (0x80-'0')*ones) &^ (x + (0x7f-'9')*ones)
		letter := (x + (0x80-'a')*ones) &^ (x + (0x7f-'f')*ones)
		if (digit|letter)&top != top {
			return false
		}
	}
	return true
}
