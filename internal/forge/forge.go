// Package forge writes session records the way an attacker with write
// access to the store directory would: from the documented on-disk format
// alone (file naming and record layout, see docs/design.md), without any
// key. Tests use it to show what the store does with such records.
//
// It deliberately does not import the store's own record package: what it
// can forge, anyone who reads the documentation can.
package forge

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"
)

// Name returns the file name of the record of session id: the first 128
// bits of SHA-256 over a domain tag and the ID, in hex.
func Name(id string) string {
	sum := sha256.Sum256(append([]byte("sessfs-name\x00"), id...))
	return hex.EncodeToString(sum[:16])
}

// Path returns where the record of session id lives in the store at dir,
// for a store of the given shard depth (the default is 1).
func Path(dir, id string, shardDepth int) string {
	name := Name(id)
	p := filepath.Join(dir, "data")
	for i := 0; i < shardDepth; i++ {
		p = filepath.Join(p, name[2*i:2*i+2])
	}
	return filepath.Join(p, name)
}

// Record is what to put in a forged record.
type Record struct {
	ID       string // the session it claims to be (sets the ID binding)
	Payload  []byte
	Created  time.Time     // zero: now
	Deadline time.Time     // zero: none
	Idle     time.Duration // zero: none
	Version  uint64
	// Encrypted sets the flag that says the payload is sealed, under
	// the key KeyID: without the key, Payload is anything but a sealed
	// payload, which is what such a record tests.
	Encrypted bool
	KeyID     uint32
}

// Encode returns a well-formed record: right magic, version, length, ID
// binding and checksum; plaintext unless r.Encrypted.
func (r Record) Encode() []byte {
	created := r.Created
	if created.IsZero() {
		created = time.Now()
	}
	b := make([]byte, 64, 64+len(r.Payload))
	copy(b[0:4], "SSFS")
	binary.LittleEndian.PutUint16(b[4:], 1)
	if r.Encrypted {
		binary.LittleEndian.PutUint16(b[6:], 1) // flags, bit 0: encrypted
	}
	binary.LittleEndian.PutUint64(b[8:], uint64(created.UnixNano()))
	if !r.Deadline.IsZero() {
		binary.LittleEndian.PutUint64(b[16:], uint64(r.Deadline.UnixNano()))
	}
	binary.LittleEndian.PutUint64(b[24:], uint64(r.Idle))
	binary.LittleEndian.PutUint64(b[32:], r.Version)
	binary.LittleEndian.PutUint32(b[40:], uint32(len(r.Payload)))
	binary.LittleEndian.PutUint32(b[44:], r.KeyID)
	bind := sha256.Sum256(append([]byte("sessfs-bind\x00"), r.ID...))
	copy(b[48:56], bind[:8])
	b = append(b, r.Payload...)
	tab := crc32.MakeTable(crc32.Castagnoli)
	crc := crc32.Update(crc32.Update(0, tab, b[:60]), tab, b[64:])
	binary.LittleEndian.PutUint32(b[60:], crc)
	return b
}

// Write writes r as the record of r.ID in the store at dir (shard depth
// 1), creating the shard directory, replacing any record there.
func Write(dir string, r Record) (string, error) {
	p := Path(dir, r.ID, 1)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	return p, os.WriteFile(p, r.Encode(), 0o600)
}

// Rechecksum recomputes the checksum of an edited record in place, as an
// attacker who changed header fields would.
func Rechecksum(b []byte) {
	if len(b) < 64 {
		return
	}
	tab := crc32.MakeTable(crc32.Castagnoli)
	crc := crc32.Update(crc32.Update(0, tab, b[:60]), tab, b[64:])
	binary.LittleEndian.PutUint32(b[60:], crc)
}

// SetDeadline sets the absolute-deadline field of a record (zero: none)
// and fixes its checksum.
func SetDeadline(b []byte, deadline time.Time) {
	if len(b) < 64 {
		return
	}
	var d uint64
	if !deadline.IsZero() {
		d = uint64(deadline.UnixNano())
	}
	binary.LittleEndian.PutUint64(b[16:], d)
	Rechecksum(b)
}
