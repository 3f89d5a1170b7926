// Package record encodes and decodes the on-disk session record: a fixed
// 64-byte header followed by the payload.
//
//	offset size field
//	     0    4 magic "SSFS"
//	     4    2 format version (1)
//	     6    2 flags (bit 0: payload is encrypted; see KnownFlags)
//	     8    8 created, Unix nanoseconds
//	    16    8 absolute deadline, Unix nanoseconds (0: none)
//	    24    8 idle timeout, nanoseconds (0: none)
//	    32    8 version, incremented by every save (a new record starts at random)
//	    40    4 payload length
//	    44    4 key ID of an encrypted payload (0: plaintext)
//	    48    8 binding: first 8 bytes of SHA-256 over a domain tag and the ID
//	    56    4 reserved, zero
//	    60    4 CRC-32C (Castagnoli) of bytes 0..59 and the payload
//
// Integers are little-endian. The length and the checksum make a truncated,
// extended or bit-flipped file an error, never a wrong payload. The binding
// makes a record copied or renamed to another session's file name fail to
// load as that session.
package record

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"time"
)

// HeaderSize is the size of the fixed header.
const HeaderSize = 64

// Version is the format version this package writes.
const Version = 1

// MaxPayload bounds the payload length a header may claim.
const MaxPayload = 1 << 30

// FlagEncrypted marks an encrypted payload.
const FlagEncrypted = 1 << 0

// KnownFlags are the flags this package's readers understand.
const KnownFlags = FlagEncrypted

// CriticalFlags are the flag bits a reader must understand: a record with
// one it does not know is refused (ErrUnsupported), as a future writer's
// flag there changes what the record means (a new encoding of the payload,
// say), which a reader ignoring it would misread. The other bits (8-15)
// are for what a reader may ignore and a rewrite by a reader that does not
// know it may drop: builds before the refusal ignored every unknown bit,
// so only these keep their meaning across every build.
const CriticalFlags = 0x00ff

var magic = [4]byte{'S', 'S', 'F', 'S'}

// ErrCorrupt reports a record that fails validation.
var ErrCorrupt = errors.New("corrupt session record")

// ErrUnsupported reports a record of a format version, or with a critical
// flag, that this package does not know: written by a newer build, or
// damaged. It matches ErrCorrupt too, so that every caller that handles a
// record it cannot read handles it (a web layer starts the user afresh).
var ErrUnsupported = fmt.Errorf("%w: unsupported format (written by a newer build?)", ErrCorrupt)

// castagnoli is the CRC table, made on first use rather than as the package
// initializes: a sweep never computes a CRC, and sessgc's two processes per
// run each paid 17 ms for it in a User-Mode Linux guest (GODEBUG=inittrace=1).
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// Header is the decoded fixed header.
type Header struct {
	Flags    uint16
	Created  int64 // Unix nanoseconds
	Deadline int64 // Unix nanoseconds; 0: no absolute deadline
	Idle     int64 // nanoseconds; 0: no idle timeout
	Version  uint64
	KeyID    uint32
	Bind     [8]byte
}

// CreatedTime returns Created as a time.Time.
func (h *Header) CreatedTime() time.Time { return time.Unix(0, h.Created) }

// Bind returns the binding of a session ID, as stored in Header.Bind.
func Bind(id string) [8]byte {
	// Sum256 over a stack buffer: no heap allocation for IDs up to 128
	// bytes (the store's limit).
	buf := make([]byte, 0, len(bindTag)+128)
	buf = append(append(buf, bindTag...), id...)
	sum := sha256.Sum256(buf)
	return [8]byte(sum[:8])
}

const bindTag = "sessfs-bind\x00"

// Append appends the encoded record to dst and returns the extended slice.
func Append(dst []byte, h *Header, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	b := dst[start:]
	putHeader(b, h, len(payload))
	crc := crc32.Update(crc32.Update(0, castagnoli(), b[:60]), castagnoli(), payload)
	binary.LittleEndian.PutUint32(b[60:], crc)
	return append(dst, payload...)
}

// Finish fills in the header of b, a record buffer whose payload (everything
// after the first HeaderSize bytes) is already in place: callers that
// produce the payload directly into the buffer (encryption) avoid a copy.
func Finish(b []byte, h *Header) {
	payload := b[HeaderSize:]
	putHeader(b, h, len(payload))
	crc := crc32.Update(crc32.Update(0, castagnoli(), b[:60]), castagnoli(), payload)
	binary.LittleEndian.PutUint32(b[60:], crc)
}

// AuthPrefixLen is the length of the header prefix returned by AuthPrefix.
const AuthPrefixLen = 56

// AuthPrefix returns the first 56 header bytes (everything but the reserved
// field and the checksum) as Append would write them for a payload of
// payloadLen bytes. Encryption authenticates them as associated data, so no
// header field can be altered without the payload failing to decrypt.
func AuthPrefix(h *Header, payloadLen int) [AuthPrefixLen]byte {
	var b [HeaderSize]byte
	putHeader(b[:], h, payloadLen)
	return [AuthPrefixLen]byte(b[:AuthPrefixLen])
}

func putHeader(b []byte, h *Header, n int) {
	copy(b[0:4], magic[:])
	binary.LittleEndian.PutUint16(b[4:], Version)
	binary.LittleEndian.PutUint16(b[6:], h.Flags)
	binary.LittleEndian.PutUint64(b[8:], uint64(h.Created))
	binary.LittleEndian.PutUint64(b[16:], uint64(h.Deadline))
	binary.LittleEndian.PutUint64(b[24:], uint64(h.Idle))
	binary.LittleEndian.PutUint64(b[32:], h.Version)
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	binary.LittleEndian.PutUint32(b[44:], h.KeyID)
	copy(b[48:56], h.Bind[:])
	binary.LittleEndian.PutUint32(b[56:], 0)
}

// DecodeHeader decodes and checks the header alone (not the checksum, which
// covers the payload). It returns the payload length the header claims.
func DecodeHeader(b []byte) (Header, int, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, 0, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrCorrupt, len(b), HeaderSize)
	}
	if [4]byte(b[0:4]) != magic {
		return h, 0, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != Version {
		return h, 0, fmt.Errorf("%w: unknown format version %d", ErrUnsupported, v)
	}
	h.Flags = binary.LittleEndian.Uint16(b[6:])
	if f := h.Flags & CriticalFlags &^ KnownFlags; f != 0 {
		return h, 0, fmt.Errorf("%w: unknown flags %#04x", ErrUnsupported, f)
	}
	h.Created = int64(binary.LittleEndian.Uint64(b[8:]))
	h.Deadline = int64(binary.LittleEndian.Uint64(b[16:]))
	h.Idle = int64(binary.LittleEndian.Uint64(b[24:]))
	h.Version = binary.LittleEndian.Uint64(b[32:])
	n := binary.LittleEndian.Uint32(b[40:])
	h.KeyID = binary.LittleEndian.Uint32(b[44:])
	copy(h.Bind[:], b[48:56])
	if binary.LittleEndian.Uint32(b[56:]) != 0 {
		return h, 0, fmt.Errorf("%w: reserved field set", ErrCorrupt)
	}
	if h.Idle < 0 || h.Deadline < 0 || h.Created < 0 {
		return h, 0, fmt.Errorf("%w: negative time field", ErrCorrupt)
	}
	if n > MaxPayload {
		return h, 0, fmt.Errorf("%w: payload length %d too large", ErrCorrupt, n)
	}
	return h, int(n), nil
}

// Decode decodes a whole record and verifies its checksum. The returned
// payload aliases b.
func Decode(b []byte) (Header, []byte, error) {
	h, payload, err := Split(b)
	if err != nil {
		return h, nil, err
	}
	if err := VerifyChecksum(b); err != nil {
		return h, nil, err
	}
	return h, payload, nil
}

// Split decodes the header, checks the record's length and returns the
// payload (aliasing b) without verifying the checksum. It is for encrypted
// records, whose AEAD authenticates the payload and the header (see
// AuthPrefix) more strongly than the CRC: skipping the CRC saves a pass over
// the payload. Everything else must use Decode.
func Split(b []byte) (Header, []byte, error) {
	h, n, err := DecodeHeader(b)
	if err != nil {
		return h, nil, err
	}
	if len(b) != HeaderSize+n {
		return h, nil, fmt.Errorf("%w: %d bytes, header says %d (truncated or extended)", ErrCorrupt, len(b), HeaderSize+n)
	}
	return h, b[HeaderSize:], nil
}

// VerifyChecksum checks the CRC-32C of a record whose length Split checked.
func VerifyChecksum(b []byte) error {
	crc := crc32.Update(crc32.Update(0, castagnoli(), b[:60]), castagnoli(), b[HeaderSize:])
	if crc != binary.LittleEndian.Uint32(b[60:]) {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return nil
}
