package fsstore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessfs/sessfs/internal/keyline"
	"github.com/sessfs/sessfs/internal/keyrecipe"
	"github.com/sessfs/sessfs/internal/ownerhint"
	"github.com/sessfs/sessfs/internal/record"
	"github.com/sessfs/sessfs/internal/shellquote"
	"github.com/sessfs/sessfs/lock"
)

// Key is an encryption key for payloads at rest (AES-256-GCM).
type Key struct {
	// ID names the key in record headers; nonzero and unique in a key set.
	ID uint32
	// Secret is 32 random bytes, its own: a key set that gives one secret
	// two IDs is refused.
	Secret []byte
}

// Errors of encryption at rest.
var (
	// ErrUnknownKey reports a live record encrypted with a key ID that is
	// not configured (typically a retired key whose records were not all
	// rekeyed). It is distinct from ErrCorrupt so that operators can tell a
	// key-management mistake from tampering (OutcomeUnknownKey); a web
	// layer treats both as "no session". An expired record is ErrExpired
	// whatever its key: expiry is checked before decryption. It is for a
	// key an application host of the store has had (its check file,
	// .keycheck-ID, is in the store, or its record of when it became
	// newest, .keynewest-ID): a record under key ID 0, which no key has,
	// or under an ID with neither file was written by no host, and is
	// ErrCorrupt.
	ErrUnknownKey = errors.New("record encrypted with a key that is not configured")
	// ErrUnencrypted reports a plaintext record met by a store opened
	// WithKeys (without WithPlaintextMigration), or by a store without
	// keys that knows the store is encrypted (opened WithMaintenanceOnly,
	// or opened before a keyed process marked it and told since): someone
	// without the keys wrote it, an attacker or a host deployed without
	// keys. It matches ErrCorrupt.
	ErrUnencrypted = fmt.Errorf("%w: record is not encrypted but the store is", ErrCorrupt)
	// ErrKeysRequired reports an encrypted store (its marker says so, or
	// a key file at its top, .keycheck-ID, .keynewest-ID or .keyorder-N,
	// which only a host opened with keys writes) opened without keys: such
	// a process would write plaintext that the other hosts refuse. Open
	// fails with it unless WithMaintenanceOnly is given, and saves through
	// a WithMaintenanceOnly store fail with it, as do the saves of a store
	// opened without keys once it has learnt that the store is encrypted.
	ErrKeysRequired = errors.New("store is encrypted: open it WithKeys")
	// ErrNotEncrypted reports, from Rekey and from the saves of a store
	// opened WithMaintenanceOnly and with keys, a store whose marker does
	// not say it is encrypted and that has no key file at its top (which
	// only a keyed host writes, and which marks it as surely): no
	// application process has opened it with keys yet, and the hosts
	// running without keys would fail every save if maintenance turned it
	// encrypted (see WithMaintenanceOnly).
	ErrNotEncrypted = errors.New("store is not encrypted: no application process has opened it WithKeys (a maintenance open does not mark it)")
)

// ParseKeys reads a key set: one key per line, "ID BASE64SECRET", the newest
// key first (new writes use it; reads accept all). Blank lines and lines
// starting with # are ignored, and so is a UTF-8 byte-order mark at the
// start, which Windows editors write; UTF-16 text is refused by name.
// Errors never quote secret material.
func ParseKeys(r io.Reader) ([]Key, error) {
	var keys []Key
	br := bufio.NewReader(r)
	if head, _ := br.Peek(len(utf8BOM)); bytes.HasPrefix(head, utf8BOM) {
		br.Discard(len(utf8BOM))
	} else if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		// PowerShell 5 redirection (>) and Out-File write UTF-16; every
		// line would otherwise fail as a key ID that is not a number.
		return nil, errors.New("fsstore: keys: the text is UTF-16 (it starts with a UTF-16 byte-order mark): save the keys as UTF-8 or ASCII")
	}
	sc := bufio.NewScanner(br)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("fsstore: keys line %d: want \"ID BASE64SECRET\"%s", n, fieldsHint(f))
		}
		id, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("fsstore: keys line %d: key ID must be a number from 1 to %d", n, uint32(1<<32-1))
		}
		secret, ok := decodeSecret(f[1])
		if !ok {
			return nil, fmt.Errorf("fsstore: keys line %d: secret must be 32 bytes in base64", n)
		}
		keys = append(keys, Key{ID: uint32(id), Secret: secret})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fsstore: keys: %w", err)
	}
	if len(keys) == 0 {
		return nil, errors.New("fsstore: keys: no key found")
	}
	return keys, nil
}

// decodeSecret decodes a key line's secret: 32 bytes in standard base64,
// or in unpadded URL-safe base64.
func decodeSecret(s string) ([]byte, bool) { return keyline.DecodeSecret(s) }

// fieldsHint says why a key line has more fields than "ID BASE64SECRET",
// where the fields f show a likely cause, so that the operator is not left
// to spot it in a line the error does not quote (it holds a secret).
func fieldsHint(f []string) string {
	for _, w := range f[1:] {
		if strings.HasPrefix(w, "#") {
			return ": comments go on lines of their own, starting with #"
		}
	}
	// A key line appended (echo >>) to a file whose last line had no
	// newline: "1 SECRET1" and "2 SECRET2" joined as "1 SECRET12 SECRET2".
	if len(f) == 3 && strings.TrimRight(f[1], "0123456789") != f[1] {
		if _, ok := decodeSecret(f[2]); ok {
			return ": two keys on one line (a key appended to a file whose last line had no newline?)"
		}
	}
	return ""
}

// utf8BOM is the UTF-8 encoding of U+FEFF, the byte-order mark.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// KeysFromFile reads a key set (see ParseKeys) from a file that only its
// owner may read: a key file readable by group or others is refused, except
// one owned by root that only its group may also read (0640), as
// PostgreSQL allows for its key files: a Kubernetes secret volume with the
// pod's fsGroup adds group read to its files' defaultMode (0400 becomes
// 0440; the default, 0644, stays readable by others and is refused), and
// a non-root pod could read it no other way. On Linux, a file whose POSIX
// ACL lets another user or group read it is refused too: its mode's group
// bits show the ACL's mask, not who the ACL's entries let read.
//
// No user other than root and the process's own may be able to replace
// it: a file owned by another user is refused, and so is one reached
// through a directory (of the path, or of a symbolic link followed) owned
// by another user or writable by group or others, unless that directory
// has the sticky bit (/tmp, a Kubernetes secret volume) and the entry in
// it is owned by root or the process's user. Windows is not checked so,
// nor by the mode: its ACLs decide who may read or replace a file, which
// mode bits do not show.
// KeysFromFileTrusted skips this check, as WithKeysFileTrusted does for
// WithKeysFile.
//
// The file must be a regular file (a symbolic link to one is followed) of at
// most 64 KiB: a FIFO, a device or a directory at the path is refused
// before it is read, rather than wait for a writer or read without end.
//
// A file rewritten in place can be read half-written: empty, cut mid-line
// (a parse error), or cut at the end of a line, a valid key set without
// the keys below the cut, so that the records sealed under those would
// not load. So a file changed within the last 250ms, or that cannot be
// read or parsed, is read again every 250ms until two reads in a row
// agree, for 2s at most (the rule of WithKeysFile's reloads). A file left
// alone for longer that parses, the common case, is read once. A file
// still failing at the bound fails with its last read's error; one whose
// every read adds keys to the one before (written a line at a time) fails
// rather than give some of its keys. A writer that pauses for 250ms or
// more mid-file leaves a file that looks finished: read at the pause, it
// gives the keys above it. Replace the file atomically (write a temporary
// file, rename it over the keys file) to be safe from every writer.
func KeysFromFile(path string) ([]Key, error) {
	if err := nulPath("KeysFromFile", path); err != nil {
		return nil, err
	}
	return keysFromFileSettled(context.Background(), path, keysReadHooks{}, false)
}

// KeysFromFileTrusted is KeysFromFile for a keys file that a user other
// than root and the process's own could replace, which KeysFromFile
// refuses: whoever can replace it chooses the keys sessions are sealed
// with. Use it only where those users are trusted with the sessions
// anyway (see WithKeysFileTrusted); the file's own mode, type and size are
// checked, and a file being rewritten is read until it settles, all the
// same.
func KeysFromFileTrusted(path string) ([]Key, error) {
	if err := nulPath("KeysFromFileTrusted", path); err != nil {
		return nil, err
	}
	return keysFromFileSettled(context.Background(), path, keysReadHooks{}, true)
}

// keysOpenHint says what to do about err, met opening the keys file at
// path: a bare "no such file or directory" or "permission denied" named
// neither the first key's making nor the user the file is for, and
// operators made a key on each host (a different key each time) or wrote
// the file as root. reload: a running store's reload met it, whose keys
// file is to be put back, not made: a first key made then is one no other
// host has, and the sessions this host sealed with it would load nowhere
// else.
func keysOpenHint(path string, err error, reload bool) string {
	switch {
	case errors.Is(err, fs.ErrNotExist) && reload:
		return fmt.Sprintf(": put the same keys file back, copied from another host (every host must have the same keys; a key made anew with sessgc keygen is none of theirs): copy it to a temporary name beside it, as the user the app servers run as and mode 600, then rename it over %s", path)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf(": for a store's first key, make the file once, as the user the app servers run as: %s; then copy that same file to every host, which must all have the same keys", strings.Join(keyrecipe.FirstKey(path), " && "))
	case errors.Is(err, syscall.EPERM):
		return ownerhint.NotPermitted(path, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf(": %s may not read it: give the keys file to the user the app servers and sessgc run as (chown USER %s; chmod 600 %s), and let that user search the directories above it (a file root wrote there is root's)", ownerhint.Who(os.Geteuid()), shellquote.Quote(path), shellquote.Quote(path))
	}
	return ""
}

// readKeysFile reads a key set from a keys file once (see KeysFromFile)
// and, when it parses, tells when the file last changed, for a settled
// read to tell a file that no one is writing.
// Unless trustPath, it refuses a file that another user could replace
// (checkKeysPath). reload: a running store reads it again (see
// keysOpenHint).
func readKeysFile(path string, trustPath, reload bool) (keys []Key, changed time.Time, err error) {
	f, err := openKeysFile(path)
	if errors.Is(err, errNotRegular) {
		return nil, time.Time{}, fmt.Errorf("fsstore: keys: %s is not a regular file (a socket?)", path)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("fsstore: keys: %w%s", err, keysOpenHint(path, err, reload))
	}
	defer f.Close()
	// The type and size are those of the file opened, not of what the path
	// named a moment before: it may have been replaced in between.
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("fsstore: keys: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("fsstore: keys: %s is not a regular file (%s)", path, fileTypeName(st.Mode()))
	}
	if perm := st.Mode().Perm(); keysModeChecked && perm&0o077 != 0 && (perm&0o037 != 0 || !ownedByRoot(st)) {
		return nil, time.Time{}, fmt.Errorf("fsstore: keys: %s is %s by group or others (mode %v); chmod 600 it (a file owned by root may be 0640)", path, keysModeOpen(perm, ownedByRoot(st)), perm)
	}
	if keysModeChecked {
		// The mode's group bits show an ACL's mask: the users and
		// groups its entries name are the group's and others' readers
		// the mode does not show.
		who, err := keysACLReaders(f)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("fsstore: keys: %s: %w", path, err)
		}
		if who != "" {
			return nil, time.Time{}, fmt.Errorf("fsstore: keys: %s is readable by other users or groups through its ACL (%s), whatever its mode (%v) says; remove the ACL: setfacl -b %s", path, who, st.Mode().Perm(), shellquote.Quote(path))
		}
	}
	if !trustPath {
		if err := checkKeysPath(path, st); err != nil {
			return nil, time.Time{}, err
		}
	}
	tooBig := fmt.Errorf("fsstore: keys: %s is larger than %d KiB, which no key set is: is it the keys file?", path, maxKeysFile>>10)
	if st.Size() > maxKeysFile {
		return nil, time.Time{}, tooBig
	}
	// Limited again: the file may grow while it is read.
	b, err := io.ReadAll(io.LimitReader(f, maxKeysFile+1))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("fsstore: keys: %w", err)
	}
	if len(b) > maxKeysFile {
		return nil, time.Time{}, tooBig
	}
	if keys, err = ParseKeys(bytes.NewReader(b)); err != nil {
		return nil, time.Time{}, fmt.Errorf("%w (keys file %s)", err, path)
	}
	// Looked at after the read: a write that any of what was read came
	// from had moved the times by then (a write sets them as it begins).
	if st, err = f.Stat(); err != nil {
		return nil, time.Time{}, fmt.Errorf("fsstore: keys: %w", err)
	}
	return keys, changedAt(st), nil
}

// maxKeysFile caps the size of a keys file: a key line is about 50 bytes,
// so this is a thousand keys with room for comments.
const maxKeysFile = 64 << 10

// fileTypeName names the type of a file that is not a regular file.
func fileTypeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// KeysFromEnv reads a key set from an environment variable: a keys file's
// text (see ParseKeys), in which ";" also ends a key line, for a value
// written on one line. A # comment runs to the end of its line, ";" in it
// included, as in the file; a comment holding a key after a ";" is refused,
// since whether that key was meant commented out cannot be told.
func KeysFromEnv(name string) ([]Key, error) {
	v, ok := os.LookupEnv(name)
	if (!ok || strings.TrimSpace(v) == "") && keyline.Holds(name) {
		// The variable's value given for its name: not repeated.
		return nil, errors.New("fsstore: keys: the environment variable's name holds a key (\"ID BASE64SECRET\"): give the name of the variable the keys are in, not its value; the name is not repeated here, as it holds a secret")
	}
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("fsstore: keys: environment variable %s is not set", name)
	}
	text, err := keyline.Inline(v)
	if err != nil {
		return nil, fmt.Errorf("fsstore: keys: %s: %w", name, err)
	}
	return ParseKeys(strings.NewReader(text))
}

// NewKey returns a fresh random key with the given ID, for key files. ID 0,
// plaintext's, which no key set takes, is refused.
func NewKey(id uint32) (Key, error) {
	if id == 0 {
		return Key{}, errors.New("fsstore: new key: key ID 0 is reserved for plaintext")
	}
	k := Key{ID: id, Secret: make([]byte, 32)}
	if _, err := rand.Read(k.Secret); err != nil {
		return Key{}, err
	}
	return k, nil
}

// SecretLine formats the key as a line of a keys file, "ID BASE64SECRET",
// which ParseKeys reads back. It holds the secret: write it only where the
// key belongs (a keys file, a secret store), never to a log.
func (k Key) SecretLine() string {
	return fmt.Sprintf("%d %s", k.ID, base64.StdEncoding.EncodeToString(k.Secret))
}

// String names the key without its secret, "key 1 (secret redacted)":
// a key or key set that reaches a log line or an error message by mistake
// must not carry the secret there. SecretLine gives the keys file line.
func (k Key) String() string {
	return fmt.Sprintf("key %d (secret redacted)", k.ID)
}

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb (%q quotes it): without it, verbs
// that do not use String, such as %d or %#v, would print the fields,
// secret bytes included, and so would %v of a struct that holds a key.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(k.String()))
		return
	}
	io.WriteString(f, k.String())
}

// LogValue is String, for log/slog.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalText is String, so that encoding/json, and the slog JSON handler
// given a key set, never write the secret either. There is no
// UnmarshalText: a key is read with ParseKeys.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// WithKeys encrypts payloads at rest with AES-256-GCM. The first key is the
// newest: new writes use it; reads accept every key given, so rotation is:
// add the new key last and deploy it to every host, then move it first and
// deploy again, run `sessgc rekey`, then drop the old key (docs/security.md
// says why in that order).
//
// A store opened WithKeys is encrypted for good: its marker records it,
// and so do the key files it writes at the store's top, so that processes
// without keys refuse to open it (ErrKeysRequired), and
// plaintext records are refused (ErrUnencrypted), since only someone
// without the keys writes them. A process that opened the store without
// keys before it was marked refuses saves (ErrKeysRequired), and
// plaintext records (ErrUnencrypted), within 2 seconds, or at once when it
// loads an encrypted record. To encrypt a store that already holds
// sessions, see WithPlaintextMigration.
//
// Each record is sealed with a random 96-bit nonce, and authenticated with
// its header (version, times, key ID, ID binding) and its file name — the
// hash of the session ID — as associated data: a record copied to another
// session's name, or with an altered header, fails to decrypt (ErrCorrupt).
//
// Without WithKeys nothing is authenticated: a record's CRC-32C and its ID
// binding catch damage and a record copied to another session's name, but
// a CRC is no MAC, and anyone who can write the store directory can write
// a valid record for any ID they know, or edit one in place. Choose
// WithKeys where other hosts, tenants or users may write the mount
// (docs/security.md, "Threats and what sessfs guarantees").
func WithKeys(keys ...Key) Option {
	return optionFunc(func(c *config) { c.keys, c.keysGiven = append([]Key(nil), keys...), true })
}

// WithPlaintextMigration lets a store opened WithKeys read plaintext
// records, for the rollout of encryption on a store that has sessions: the
// next save of each session, or `sessgc rekey --migrate-plaintext`,
// encrypts it. The application hosts are opened with it first; the rekey,
// a maintenance store (WithMaintenanceOnly), comes after them, and is
// refused until one of them has opened the store with its newest key. Remove it once every host has keys and a rekey pass has
// ended with no errors: while it is on, anyone who can write the store
// directory can forge a session in clear text. Open logs a warning saying
// it is on, but for a maintenance store, which serves no session.
func WithPlaintextMigration() Option {
	return optionFunc(func(c *config) { c.plaintextMigration = true })
}

// WithMaintenanceOnly opens an encrypted store without keys for
// maintenance that never writes a session: Sweep, Stats, Delete. Without
// it, Open refuses an encrypted store when no keys are given
// (ErrKeysRequired); with it, Save, CompareAndSwap and locked saves fail
// with ErrKeysRequired, a load of an encrypted record fails with it too,
// and a plaintext record is refused (ErrUnencrypted) as a keyed store
// refuses it.
//
// With keys, for Rekey, it vouches for nothing, WithPlaintextMigration or
// not: it leaves the marker as it is, since marking the store encrypted
// makes every application host still running without keys fail its saves,
// and writes no key check file, since it proves nothing about which keys
// the hosts have. The first application host opened WithKeys does both
// (see WithKeys). Rekey and saves refuse a store not marked yet
// (ErrNotEncrypted), and Rekey and saves a newest key that has no check
// file (ErrKeyNotDeployed), also when a keys file reload (WithKeysFile)
// makes it newest during the pass.
//
// A maintenance store opens on a full file system or quota, where Open's
// write probe fails with ENOSPC or EDQUOT (an application's Open fails
// there), logging a warning: Sweep, which only renames and removes files,
// is what frees the space, and reads the file server's time from the store
// directory's mtime, set to now, where it cannot create a temp file. Rekey,
// which writes records, refuses such a store with the probe's error.
func WithMaintenanceOnly() Option {
	return optionFunc(func(c *config) { c.maintenanceOnly = true })
}

// checkMarkedEncrypted returns ErrNotEncrypted unless the store is marked
// encrypted. A process that has not seen the mark reads the marker again:
// a store opened WithMaintenanceOnly before an application host marked it
// would otherwise never learn it.
//
// The marker's line is not authenticated, and the key files at the top of
// the store, which only a keyed application host writes, mark it as surely
// (see keyFileIn): with one there, the store is encrypted whatever the
// marker says, and the line is put back as a keyed host's save puts it
// back (keepMarkedEncrypted). A maintenance store (sessgc rekey) does so
// too: the key files already stop every keyless host, so the line changes
// nothing for them, and a rekey need not wait for an application host's
// save to restore a line someone who can write the mount removed.
func (s *Store) checkMarkedEncrypted(ctx context.Context) error {
	if s.encrypted.Load() {
		return nil
	}
	m, err := s.readMarker()
	if err != nil {
		return err
	}
	if !m.encrypted {
		name, err := s.keyFileHere(ctx)
		if err != nil {
			return fmt.Errorf("check whether the store is encrypted: list its directory for key files: %w", err)
		}
		if name == "" {
			return fmt.Errorf("%w (its %s file says so, and it has no key file)", ErrNotEncrypted, MarkerFile)
		}
		if s.locks != nil { // nil on a read-only store, which writes nothing
			s.keepMarkedEncrypted(ctx, false) // a key file is there: name
		}
	}
	s.encrypted.Store(true)
	return nil
}

// markEncrypted records in the marker that the store is encrypted. Like
// raiseMaxIdle, it is a read-modify-write under the marker lock, so that
// neither change can undo the other; the flag is never cleared.
// It reports whether this call wrote the mark.
func (s *Store) markEncrypted(ctx context.Context) (wrote bool, err error) {
	wrote, err = s.writeEncryptedMark(ctx)
	s.layout.encrypted = err == nil
	s.encrypted.Store(err == nil)
	return wrote, err
}

// holdsPlaintextRecord reports whether the store's data directory holds
// a session record stored in clear text, judged by the first record whose
// header reads: records are all plaintext before the first keyed host
// marks the store, and all sealed where the marker lost its mark after
// keyed hosts wrote them (restored from an older copy), which must not be
// told to migrate. It reads no further than that record (WalkDir lists a
// directory whole: the data directory, then the shards up to the first
// holding a record), follows no symlink (WalkDir does not descend into
// one, and the record is opened below the store's root, refused as a
// symlink), and reads the header alone. A directory or record that cannot
// be read counts as none: the answer only decides a warning.
func (s *Store) holdsPlaintextRecord() bool {
	plain := false
	filepath.WalkDir(s.dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !isRecordName(d.Name()) {
			return nil
		}
		f, _, err := s.root.openRead(p)
		if err != nil {
			return nil
		}
		var hb [record.HeaderSize]byte
		n, err := f.readAt(hb[:], 0)
		f.close()
		if err != nil {
			return nil
		}
		h, _, err := record.DecodeHeader(hb[:n])
		if err != nil {
			return nil // damaged: the next record decides
		}
		plain = h.Flags&record.FlagEncrypted == 0
		return fs.SkipAll
	})
	return plain
}

// writeEncryptedMark makes the marker say the store is encrypted, and
// reports whether it wrote the line (false: the marker said so already).
// It changes nothing of s but the marker, so that a save may call it
// while other goroutines use the store (keepMarkedEncrypted).
func (s *Store) writeEncryptedMark(ctx context.Context) (wrote bool, err error) {
	for {
		m, err := s.readMarker()
		if err != nil || m.encrypted {
			return wrote, err
		}
		h, err := s.locks.Lock(ctx, markerLock, markerLock, lock.Exclusive)
		if err != nil {
			return wrote, fmt.Errorf("mark store encrypted: %w", closedLock(err))
		}
		if m, err = s.readMarker(); err != nil || m.encrypted {
			s.unlockLogged(h, "mark store encrypted", "")
			return wrote, err
		}
		next := m
		next.encrypted = true
		b, err := next.encodeRewrite()
		if err != nil {
			s.unlockLogged(h, "mark store encrypted", "")
			return wrote, fmt.Errorf("mark store encrypted: %w", err)
		}
		err = writeAtomic(s.dir, MarkerFile, b, markerMode(s.cfg.fileMode, s.cfg.dirMode), s.cfg.dirMode, DurabilityFull, false)
		if err == nil {
			err = h.Verify()
		}
		if hook := s.testHooks.markerUnlock; hook != nil {
			hook("mark store encrypted")
		}
		// Verify decided; a failed release is logged, as the store's
		// other maintenance does (unlockLogged).
		s.unlockLogged(h, "mark store encrypted", "")
		if err != nil && !errors.Is(err, lock.ErrLockLost) {
			return wrote, fmt.Errorf("mark store encrypted: %w", err)
		}
		wrote = wrote || err == nil
		if err := ctx.Err(); err != nil {
			return wrote, fmt.Errorf("mark store encrypted: %w", err)
		}
	}
}

// unseal returns the plaintext payload of a record that passed its
// structural checks, or refuses it: a plaintext record when keys are
// configured (unless migrating), a record under an unknown key, or one that
// fails authentication.
func (s *Store) unseal(h *record.Header, name string, pl []byte) ([]byte, error) {
	return s.unsealWith(s.keys.Load(), h, name, pl)
}

// unsealWith is unseal with a given key set, for callers that must use one
// key set throughout (Rekey) across a keys file reload.
func (s *Store) unsealWith(kr *keyring, h *record.Header, name string, pl []byte) ([]byte, error) {
	return s.unsealAt(kr, h, name, pl, nil)
}

// unsealAt is unsealWith for a caller that has just read the store's clock
// into *at and reads it again after, unless *at still holds a reading:
// the marker check of a keyless store (see recheckMarker) takes *at for
// the time it was asked, and *at is cleared where the work took time since
// (a marker read waited for or made, a decryption). at may be nil.
func (s *Store) unsealAt(kr *keyring, h *record.Header, name string, pl []byte, at *time.Time) ([]byte, error) {
	if err := s.sealRefusedAt(kr, h, at); err != nil {
		return nil, err
	}
	if h.Flags&record.FlagEncrypted == 0 {
		return pl, nil
	}
	if at != nil {
		*at = time.Time{}
	}
	return kr.open(h, name, pl)
}

// sealRefused returns the refusal of a record with header h that its
// header alone decides, under the key set kr: a plaintext record where
// encryption is required (ErrUnencrypted), an encrypted record met
// without keys (ErrKeysRequired), or one under a key not in kr
// (ErrUnknownKey). Load decrypts what it lets through; Touch, which reads
// the header only, refuses the same records.
func (s *Store) sealRefused(kr *keyring, h *record.Header) error {
	return s.sealRefusedAt(kr, h, nil)
}

// sealRefusedAt is sealRefused, the marker check of a keyless store asked
// at the reading of the store's clock in *at (see unsealAt).
func (s *Store) sealRefusedAt(kr *keyring, h *record.Header, at *time.Time) error {
	if h.Flags&record.FlagEncrypted == 0 {
		// A process that knows the store is encrypted refuses plaintext,
		// keys or not: only someone without the keys writes it there,
		// and a keyless host left running beside the keyed ones (or a
		// maintenance store) would otherwise serve a forged session.
		// The migration option lets plaintext through for a store with
		// keys only: a keyless one would otherwise let any forgery in.
		if kr != nil {
			if !s.cfg.plaintextMigration {
				return ErrUnencrypted
			}
			return nil
		}
		// A keyless process that only reads (or loads only plaintext)
		// would never learn from a save or an encrypted record that the
		// store was encrypted since it last looked: it asks the marker
		// as its saves do, at most every keylessRecheck, which answers
		// most loads without a read.
		if err := s.recheckMarker(at); err != nil {
			return err
		}
		if s.encrypted.Load() {
			return ErrUnencrypted
		}
		return nil
	}
	if h.KeyID == 0 {
		// No key has ID 0 (CheckKeys refuses it), so no host sealed
		// this record: it is forged or damaged, for a keyless process
		// too, which must not take it for a sign the store is
		// encrypted (below) and stop saving.
		return fmt.Errorf("%w: the record says it is encrypted under key ID 0, which no key has (forged or damaged)", ErrCorrupt)
	}
	if kr == nil {
		// Only a keyed process writes an encrypted record, and a keyed
		// process marks the store encrypted before its first write: this
		// keyless store must stop writing plaintext now, not at its next
		// re-read of the marker. Nor is the record's key unknown, as
		// it would be for a keyed process (ErrUnknownKey, whose alert
		// says a key was retired too early): this process has none.
		// A record under a key no host has had was sealed by none,
		// whatever its ID: like ID 0, it is no sign of encryption.
		if err := s.keyNeverHad(h.KeyID); err != nil {
			return err
		}
		s.encrypted.Store(true)
		return fmt.Errorf("%w: the record is encrypted (key ID %d) and this process has no keys", ErrKeysRequired, h.KeyID)
	}
	if kr.aeads[h.KeyID] == nil {
		return s.unknownKey(h.KeyID)
	}
	return nil
}

// unknownKey is the refusal of a live record under key id, which this
// process does not have: ErrUnknownKey where an application host of the
// store has had the key (its check file is there, which the first host
// to open the store with the key writes before any save under it, or its
// record of when it became newest, written before the first save under
// it: see keyNeverHad), as
// after a key retired too early or during a rollout; ErrCorrupt where
// none has, so that no host wrote the record: forged or damaged, for the
// corrupt-record alert rather than the retired-key one. A check file
// that cannot be looked at (other than missing) leaves ErrUnknownKey. On
// NFS the store directory's attributes are fetched first, so that a check
// file another host has just written is not taken for missing from this
// client's cache.
func (s *Store) unknownKey(id uint32) error {
	if err := s.keyNeverHad(id); err != nil {
		return err
	}
	return fmt.Errorf("%w (key ID %d)", ErrUnknownKey, id)
}

// keylessRecheck is how often a store opened without keys re-reads the
// marker before a save or a load of a plaintext record, to learn that a
// process with keys has since marked the store encrypted (docs/security.md,
// "No downgrade"). A keyless process may go on writing, and serving,
// plaintext for at most this long, by its clock, after the marker says
// encrypted (plus the calls already under way); a keyed store never
// re-reads.
const keylessRecheck = 2 * time.Second

// refusePlaintext returns ErrKeysRequired when this keyless store must not
// write a plaintext record: the store is known to be encrypted, or a
// re-read of the marker (recheckMarker) says it now is, or finds a key
// file at the store's top (the error then names it). A marker that
// cannot be read fails the save: it could have said encrypted; so do the
// saves and loads of plaintext that ask within keylessRecheck of that read.
// at is as for recheckMarker.
func (s *Store) refusePlaintext(at *time.Time) error {
	if err := s.recheckMarker(at); err != nil {
		return err
	}
	if s.encrypted.Load() {
		if e := s.keyFileSeen.Load(); e != nil {
			return e
		}
		return ErrKeysRequired
	}
	return nil
}

// recheckMarker re-reads the marker of this keyless store, at most every
// keylessRecheck, so that s.encrypted tells whether a process with keys
// has since marked the store encrypted, or written a key file at its top
// (a listing of the store's directory, after the marker says nothing:
// see keyFileIn); it returns the error of a read
// that failed, to every caller it answers for, as a success would. A
// caller (a save, a load of a plaintext record) is answered by a read that
// began at most keylessRecheck before it asked, or after: one that finds
// such a read under way waits for it, and all that wait wake together
// when it ends. Callers taking turns on a mutex and judging the last read
// by when their turn came would, after a read that took longer than the
// interval (a client whose CPU is saturated), each read again in turn, the
// last waiting for the sum of the reads before it.
//
// A read that failed answers as one that succeeded would: the callers fail
// with its error (the marker could have said encrypted), but read no more
// often, however slow or broken the mount. What the callers share is the
// outcome of the read begun last (markerLast), never of one that ended
// after a later-begun one: see noteMarkerRead.
//
// at, when not nil and not zero, is the store clock's reading the caller
// took just before, on its way here with nothing in between that waits:
// it is the time asked (a load and a save of a keyless store, which both
// read the clock for their own sake, read it once where they read it
// twice). *at is cleared when the check waits or reads, which makes that
// reading old for what the caller does after.
func (s *Store) recheckMarker(at *time.Time) error {
	if s.encrypted.Load() {
		return nil
	}
	// One clock reading serves as both the time asked and now on this
	// path, which every load and save of a keyless store takes (a reading
	// costs about what the rest of the check does). It answers for no
	// read that a later reading would not have let answer; one begun
	// between the two readings is found below, under the mutex.
	var asked int64
	if at != nil && !at.IsZero() {
		asked = at.UnixNano()
	} else {
		asked = s.cfg.now().UnixNano()
	}
	if last := s.markerLast.Load(); answers(last.start, asked, asked) {
		return last.err
	}
	if at != nil {
		*at = time.Time{}
	}
	s.markerMu.Lock()
	// A read that ended since the look above may answer.
	if last := s.markerLast.Load(); answers(last.start, asked, s.cfg.now().UnixNano()) {
		s.markerMu.Unlock()
		return last.err
	}
	r := s.markerReading
	// One begun after asked, by a caller that took the mutex first, answers.
	if r != nil && answers(r.start, asked, s.cfg.now().UnixNano()) {
		s.markerMu.Unlock()
		if h := s.testHooks.markerCheck; h != nil {
			h("wait")
		}
		<-r.done
	} else {
		// None under way, or one that began too long before this caller
		// asked to answer for it: a read of its own, which later callers
		// share.
		r = &markerRead{start: s.cfg.now().UnixNano(), done: make(chan struct{})}
		s.markerReading = r
		s.markerMu.Unlock()
		s.readMarkerFor(r)
	}
	return r.err
}

// markerRead is a read of the marker by a keyless store (its re-reads,
// and Open's), which the saves and loads that ask while it is under way,
// and within keylessRecheck of its start once it ended, share.
type markerRead struct {
	start int64 // store clock, Unix ns: what it shows is at least that recent
	done  chan struct{}
	err   error // set before done is closed; nil: not encrypted then
}

// errMarkerUnread is a shared re-read's outcome until it returns: should it
// panic, the callers waiting for it fail rather than take the silence for
// "not encrypted".
var errMarkerUnread = errors.New("check whether the store is encrypted: the read of the marker did not finish")

// readMarkerFor makes the read r, records what it says and wakes the
// callers waiting for it.
func (s *Store) readMarkerFor(r *markerRead) {
	r.err = errMarkerUnread
	defer func() {
		s.markerMu.Lock()
		if s.markerReading == r {
			s.markerReading = nil
		}
		s.noteMarkerRead(r)
		s.markerMu.Unlock()
		close(r.done)
	}()
	if h := s.testHooks.markerCheck; h != nil {
		h("read")
	}
	m, err := s.readMarker()
	if err != nil {
		r.err = fmt.Errorf("check whether the store is encrypted: %w", err)
		return
	}
	if m.encrypted {
		s.encrypted.Store(true)
		r.err = nil
		return
	}
	// The marker's line is not authenticated: the key files, which only
	// a keyed host writes, say as much (see keyFileIn). readMarker made
	// an NFS client fetch the directory's attributes, so the listing
	// shows a file another host created since.
	name, err := s.keyFileHere(context.Background())
	if err != nil {
		r.err = fmt.Errorf("check whether the store is encrypted: list its directory for key files: %w", err)
		return
	}
	if name != "" {
		s.noteKeyFile(name)
	}
	r.err = nil
}

// noteMarkerRead makes the ended read r the one callers share, unless one
// begun after it ended first: a result only replaces an older one, so a
// slow read's failure never stands in for a later success, nor its
// success for a later failure. A result stamped in the future (the clock
// went back) is replaced all the same: it answers for no caller, and would
// make each read again until the clock caught up. Called under markerMu,
// which every change of markerLast after Open holds.
func (s *Store) noteMarkerRead(r *markerRead) {
	if last := s.markerLast.Load(); last.start >= r.start && last.start <= s.cfg.now().UnixNano() {
		return
	}
	s.markerLast.Store(r)
}

// answers reports whether a read of the marker begun at start answers for
// a save that asked at asked, the store's clock reading now (Unix ns): it
// began less than keylessRecheck before the save asked, or after. A read
// stamped in the future (the clock went back) answers for none, rather
// than be trusted for longer than the interval.
func answers(start, asked, now int64) bool {
	return now >= start && asked-start < int64(keylessRecheck)
}

// keyring holds the AEADs of the configured keys.
type keyring struct {
	newest uint32
	aeads  map[uint32]cipher.AEAD
	// ids names each key by a digest of its secret, so that what was
	// opened with one key set can be told valid under the next (a keys
	// file reload, see cache.retire) without keeping the secret.
	ids map[uint32]keyIdent
}

// keyIdent names a key: its ID and a digest of its secret.
type keyIdent struct {
	id     uint32
	digest [sha256.Size]byte
}

// has reports whether kr holds the key k names, with the same secret.
func (kr *keyring) has(k keyIdent) bool {
	got, ok := kr.ids[k.id]
	return ok && got == k
}

// CheckKeys reports what makes keys an invalid key set, as Open and a keys
// file reload refuse it: a key ID 0 (plaintext's), an ID given twice, a
// secret that is not 32 bytes, or one secret under two IDs. Tools that
// take a key set from an operator (sessgc) call it to report a mistake in
// it as such. Errors never quote secret material.
func CheckKeys(keys []Key) error {
	ids := make(map[uint32]bool, len(keys))
	// A key line copied with only its ID changed keeps a secret in use
	// after the key it belonged to is retired and destroyed: a rotation
	// away from a leaked key would protect nothing.
	secrets := make(map[[32]byte]uint32, len(keys))
	for _, k := range keys {
		if k.ID == 0 {
			return errors.New("fsstore: key ID 0 is reserved for plaintext")
		}
		if ids[k.ID] {
			return fmt.Errorf("fsstore: key ID %d appears twice in the key set", k.ID)
		}
		ids[k.ID] = true
		if len(k.Secret) != 32 {
			return fmt.Errorf("fsstore: key %d: secret is %d bytes, want 32", k.ID, len(k.Secret))
		}
		if other, dup := secrets[[32]byte(k.Secret)]; dup {
			return fmt.Errorf("fsstore: keys %d and %d have the same secret: give each key its own (sessgc keygen)", other, k.ID)
		}
		secrets[[32]byte(k.Secret)] = k.ID
	}
	return nil
}

func newKeyring(keys []Key) (*keyring, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	if err := CheckKeys(keys); err != nil {
		return nil, err
	}
	kr := &keyring{newest: keys[0].ID, aeads: make(map[uint32]cipher.AEAD, len(keys)), ids: make(map[uint32]keyIdent, len(keys))}
	for _, k := range keys {
		kr.ids[k.ID] = keyIdent{id: k.ID, digest: sha256.Sum256(k.Secret)}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		kr.aeads[k.ID] = aead
	}
	return kr, nil
}

// sealOverhead is what encryption adds to a payload: nonce and tag.
const sealOverhead = 12 + 16

// seal encrypts plain for the record header h (whose Flags and KeyID it
// sets) and file name, appending nonce||ciphertext||tag to dst.
func (kr *keyring) seal(dst []byte, h *record.Header, name string, plain []byte) []byte {
	h.Flags |= record.FlagEncrypted
	h.KeyID = kr.newest
	aead := kr.aeads[kr.newest]
	ad := authData(h, len(plain)+sealOverhead, name)
	start := len(dst)
	dst = append(dst, make([]byte, 12)...)
	rand.Read(dst[start:])
	return aead.Seal(dst, dst[start:start+12], plain, ad)
}

// open decrypts a sealed payload.
func (kr *keyring) open(h *record.Header, name string, sealed []byte) ([]byte, error) {
	var aead cipher.AEAD
	if kr != nil {
		aead = kr.aeads[h.KeyID]
	}
	if aead == nil {
		return nil, fmt.Errorf("%w (key ID %d)", ErrUnknownKey, h.KeyID)
	}
	if len(sealed) < sealOverhead {
		return nil, fmt.Errorf("%w: encrypted payload too short", ErrCorrupt)
	}
	// Decrypt in place: the ciphertext buffer was read from the file for
	// this load (the store's, or the caller's own buffer given to
	// LoadInto) and reusing it saves an allocation the size of the payload.
	plain, err := aead.Open(sealed[12:12], sealed[:12], sealed[12:], authData(h, len(sealed), name))
	if err != nil {
		return nil, fmt.Errorf("%w: payload fails authentication (tampered, moved from another session, or wrong key)", ErrCorrupt)
	}
	return plain, nil
}

func authData(h *record.Header, sealedLen int, name string) []byte {
	p := record.AuthPrefix(h, sealedLen)
	ad := make([]byte, 0, len(p)+len(name))
	return append(append(ad, p[:]...), name...)
}

// maxKeyCheckSize caps a key check file read: a real one is 12 bytes of
// nonce and a sealed "sessfs"; the read refuses a FIFO or symlink there
// like the marker's.
const maxKeyCheckSize = 4 << 10

// errKeyCheck: a key failed its check, or the check file is damaged: the
// keys' fault (or the store's for good), unlike an I/O error in the check.
var errKeyCheck = errors.New("key check failed")

// checkKeys verifies each configured key against a small check file the
// first process to use that key ID wrote into the store, so a wrong secret
// under a known ID is a clear error at Open instead of every Load failing
// as corrupt. With vouch (an application host), it writes the check file
// of a key that has none, which tells maintenance that a host has the key
// (newestDeployed), and records when the newest key became newest if that
// is not recorded yet (recordNewest), which orders rotations for Rekey;
// without (a maintenance store, which proves nothing about the hosts),
// such a key is left unchecked, and nothing is recorded. The record's
// failures go to logger: see recordNewest.
//
// A key that known (the key set in use, at a reload) holds with the same
// secret is not checked again: it was checked when it came into use. So a
// key set that only drops keys, or reorders them, reads no check file,
// and retiring a key (a leaked one) never waits for the store: a check
// that failed for want of it (an I/O error, a check file it may no longer
// read) would hold the whole key set back, and the retired key in use.
// checked counts the keys checked.
func (kr *keyring) checkKeys(dir string, perm os.FileMode, vouch bool, logger *slog.Logger, known *keyring) (checked int, err error) {
	// In the order of the keys' IDs, not the map's: a key set with two
	// faults (a wrong secret under one ID, a damaged check file under
	// another) must fail Open with the same error every time, or the
	// operator fixing one sees the other come and go.
	for _, id := range slices.Sorted(maps.Keys(kr.aeads)) {
		aead := kr.aeads[id]
		if known != nil && known.has(kr.ids[id]) {
			continue
		}
		checked++
		err := checkKey(dir, id, aead, perm, vouch)
		if !vouch && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return checked, err
		}
	}
	if vouch {
		// Advisory (the rekey guard falls back without it): a failure
		// is logged, and the next Open or key set change tries again.
		switch err := kr.recordNewest(dir, perm); {
		case errors.Is(err, syscall.EPERM):
			// Refused whatever the owner and mode (an attribute of the
			// directory, a security module): access given to this
			// user, which the EACCES wording below asks for, changes
			// nothing.
			logger.Warn("fsstore: the order in which keys became newest is not recorded; a rekey judges this key by its check file's time instead"+ownerhint.NotPermitted(refusedPath(dir, err), err), "err", err)
		case errors.Is(err, fs.ErrPermission):
			// A record there that a rekey may not read either leaves
			// the records under older keys (ErrKeyOrderUnreadable).
			logger.Warn("fsstore: the order in which keys became newest is not recorded, or its record may not be read: permission denied; give this user access to it as to the store's other files (a rekey that may not read a record leaves the records under older keys; without one, it judges this key by its check file's time)", "err", err)
		case err != nil:
			logger.Warn("fsstore: the order in which keys became newest is not recorded; a rekey judges this key by its check file's time instead", "err", err)
		}
	}
	return checked, nil
}

// newestDeployed returns ErrKeyNotDeployed unless the newest key's check
// file exists (an application host, which creates it, has the key), and
// the check's error if the file is not that key's: a host wrote it with
// another secret under the same ID after this store was opened.
func (kr *keyring) newestDeployed(dir string) error {
	err := checkKey(dir, kr.newest, kr.aeads[kr.newest], 0, false)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (no %s): deploy key %d to every application host, after the old key, before rekeying", ErrKeyNotDeployed, keyCheckPath(dir, kr.newest), kr.newest)
	}
	return err
}

// keysModeOpen says what a keys file's mode perm lets group or others do
// that KeysFromFile refuses: a file that another user may write chooses
// the keys as surely as one replaced, and the message must not send the
// operator after readers.
func keysModeOpen(perm fs.FileMode, rootOwned bool) string {
	read := perm&0o004 != 0 || perm&0o040 != 0 && !rootOwned
	write := perm&0o022 != 0
	switch {
	case read && write:
		return "readable and writable"
	case write:
		return "writable"
	case read:
		return "readable"
	}
	return "executable"
}

// notAKeyFile says what stands at a key file's name, from the error of
// its read, when that is something no host writes there: a symbolic link,
// a file of another type, or one too large. It is "" for any other error.
func notAKeyFile(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ELOOP):
		return "a symbolic link"
	case errors.Is(err, errNotRegular), errors.Is(err, syscall.EISDIR):
		return "not a regular file"
	case errors.Is(err, errTooBig):
		return fmt.Sprintf("larger than the %d bytes a key file may hold", maxKeyCheckSize)
	}
	return ""
}

// keyCheckPath is the name of key id's check file in the store dir.
func keyCheckPath(dir string, id uint32) string {
	return filepath.Join(dir, fmt.Sprintf(".keycheck-%d", id))
}

// checkKey verifies key id against its check file in dir. A missing file
// is created with create, and an error matching fs.ErrNotExist otherwise.
func checkKey(dir string, id uint32, aead cipher.AEAD, perm os.FileMode, create bool) error {
	p := keyCheckPath(dir, id)
	ad := []byte(fmt.Sprintf("sessfs-keycheck %d", id))
	b, err := readSmallFile(p, maxKeyCheckSize)
	if errors.Is(err, fs.ErrNotExist) && create {
		nonce := make([]byte, 12)
		rand.Read(nonce)
		sealed := aead.Seal(nonce, nonce, []byte("sessfs"), ad)
		tmp := filepath.Join(dir, tempPrefix+"keycheck-"+randHex(8))
		// Synced before the link, as the marker is: a power loss must
		// not leave the name with no content, which would make every
		// later Open fail on a damaged key check.
		if err := writeSynced(tmp, sealed, perm); err != nil {
			return fmt.Errorf("fsstore: key check: %w", err)
		}
		err = os.Link(tmp, p) // fails if another process won the race
		os.Remove(tmp)
		if err == nil {
			return nil
		}
		b, err = readSmallFile(p, maxKeyCheckSize)
	}
	if what := notAKeyFile(err); what != "" {
		// Planted or damaged: no host writes one. Named, as a check file
		// that fails to open with the key is, so that the operator
		// knows which file to remove.
		return fmt.Errorf("fsstore: key check file %s is damaged (%s; remove it): %w", p, what, errKeyCheck)
	}
	if err != nil {
		return fmt.Errorf("fsstore: key check: %w", err)
	}
	if len(b) < sealOverhead {
		return fmt.Errorf("fsstore: key check file %s is damaged: %w", p, errKeyCheck)
	}
	if _, err := aead.Open(nil, b[:12], b[12:], ad); err != nil {
		// Most often a first key made on each host (sessgc keygen makes a
		// new secret each time) rather than made once and copied.
		return fmt.Errorf("fsstore: key %d is not the key this store was written with (check %s failed): wrong key: every host must have the same secret under each key ID: copy the keys file the other hosts have rather than making one per host: %w", id, p, errKeyCheck)
	}
	return nil
}
