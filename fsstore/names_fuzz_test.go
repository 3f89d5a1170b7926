package fsstore

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	recordNameRef = regexp.MustCompile(`^[0-9a-f]{32}$`)
	keyFileRef    = regexp.MustCompile(`^\.(keycheck|keynewest|keyorder)-[0-9]+$`)
)

// FuzzStoreNames holds the names the store reads back from directory
// listings, and the names it makes from session IDs, to what the sweep,
// Stats and the requests rely on. s is taken both as a file name found in
// a listing (anyone who can write the directory chooses it) and as an ID
// from a cookie:
//
//   - a name is a record's exactly when it is 32 lower-case hex digits,
//     whether read as a string or as a listing's bytes, and its stripe is
//     the one its digits 24 to 32 spell; a record's aside name is no temp
//     file (a sweep would remove a live session as stale) and is one of
//     its shard's, and its fenced temp name is a temp file;
//   - a stripe name is four lower-case hex digits, and stripeName makes
//     only such names;
//   - a name is a key file's (which the sweep leaves alone) exactly when
//     it is one of the three prefixes and decimal digits, and a number of
//     the key order sequence reads back from the name it was given;
//   - an ID that ValidID accepts maps, in a store of every shard depth,
//     to a record name inside the store's data directory, in the shard
//     directory its name selects, under the lock stripe the sweep
//     computes from the name alone; one it refuses is ErrInvalidID before
//     any path is built.
func FuzzStoreNames(f *testing.F) {
	for _, s := range []string{
		"", "0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789abcdef", "0123456789abcdef0123456789abcde",
		"0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcd\x80f", ".tmp-gc-0123456789abcdef0123456789abcdef", ".tmp-gd-0123456789abcdef0123456789abcdef",
		".tmp-gc-0123456789abcdef0123456789abcdeF", ".tmp-0123456789abcdef0123456789abcdef.locked", ".tmp-x",
		"00ff", "00FF", ".keycheck-1", ".keycheck-", ".keycheck-4294967296", ".keynewest-07", ".keyorder-18446744073709551616",
		".keyorder-+1", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaa", "../../../../etc/passwd/aaaa",
		strings.Repeat("_", MaxIDLen), strings.Repeat("-", MaxIDLen+1),
	} {
		f.Add(s)
	}
	type layout struct {
		s     *Store
		depth int
	}
	var stores []layout
	for depth := 0; depth <= 3; depth++ {
		s, err := Open(f.TempDir(), WithShardDepth(depth), WithLockStripes(1+depth*1000), WithLogger(slog.New(slog.DiscardHandler)))
		if errors.Is(err, ErrNotSupported) {
			break // the names are still checked; no store holds them here
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { s.Close() })
		stores = append(stores, layout{s, depth})
	}
	f.Fuzz(func(t *testing.T, s string) {
		// s as a name found in a listing.
		rec := isRecordName(s)
		if want := recordNameRef.MatchString(s); rec != want || isRecordNameBytes([]byte(s)) != want {
			t.Fatalf("isRecordName(%q) = %v, as bytes %v; want %v", s, rec, isRecordNameBytes([]byte(s)), want)
		}
		if rec {
			b, _ := hex.DecodeString(s[24:32])
			if got := stripeOfName(s); got != binary.BigEndian.Uint32(b) {
				t.Fatalf("stripeOfName(%q) = %#x, want %x", s, got, b)
			}
			for _, a := range []string{asideName(s), deleteAsideName(s)} {
				if isTempName(a) || !isAsideOf(a, s[:2]) || !isAsideOf(a, "") {
					t.Fatalf("the aside name %q of a record: temp %v, aside of its shard %v", a, isTempName(a), isAsideOf(a, s[:2]))
				}
			}
			if ft := fencedTemp(s); !isTempName(ft) {
				t.Fatalf("the fenced temp name %q is not a temp file's", ft)
			}
		}
		if isTempName(s) && !strings.HasPrefix(s, tempPrefix) {
			t.Fatalf("isTempName(%q) without the prefix %q", s, tempPrefix)
		}
		rest, ok := strings.CutPrefix(s, asidePrefix)
		if !ok {
			rest, ok = strings.CutPrefix(s, deleteAsidePrefix)
		}
		if ok && isRecordName(rest) && isTempName(s) {
			t.Fatalf("isTempName(%q): a record held aside taken for a temp file", s)
		}
		if isAsideOf(s, "") != (ok && recordNameRef.MatchString(rest)) {
			t.Fatalf("isAsideOf(%q) = %v", s, isAsideOf(s, ""))
		}
		if want := len(s) == 4 && recordNameRef.MatchString(s+strings.Repeat("0", 28)); isStripeName(s) != want {
			t.Fatalf("isStripeName(%q) = %v, want %v", s, !want, want)
		}
		if isKeyFile(s) != keyFileRef.MatchString(s) {
			t.Fatalf("isKeyFile(%q) = %v", s, isKeyFile(s))
		}
		if n, ok := keyOrderNumber(s); ok {
			if !isKeyFile(s) || !strings.HasPrefix(s, keyOrderPrefix) {
				t.Fatalf("keyOrderNumber(%q) = %d, but it is no key order file's name", s, n)
			}
			if m, ok := keyOrderNumber(filepath.Base(keyOrderPath("d", n))); !ok || m != n {
				t.Fatalf("keyOrderNumber(%q) = %d, whose name reads back as %d, %v", s, n, m, ok)
			}
		}
		if id, err := strconv.ParseUint(s, 10, 32); err == nil {
			for _, name := range []string{keyCheckBase(uint32(id)), filepath.Base(keyNewestPath("d", uint32(id))), filepath.Base(keyOrderPath("d", id))} {
				if !isKeyFile(name) {
					t.Fatalf("the key file name %q is not taken for one", name)
				}
			}
		}

		// s as an ID from a cookie.
		if err := ValidID(s); err != nil {
			for _, l := range stores {
				if _, err := l.s.Load(t.Context(), s); !errors.Is(err, ErrInvalidID) {
					t.Fatalf("Load of the invalid ID %q: %v, want ErrInvalidID", s, err)
				}
			}
			return
		}
		d := deriveKey(s)
		if !isRecordName(d.name) || d.stripe != stripeOfName(d.name) || d.stripe != stripeOfID([]byte(s)) {
			t.Fatalf("ID %q: name %q (record name %v), stripe %#x, from the name %#x, from the ID %#x", s, d.name, isRecordName(d.name), d.stripe, stripeOfName(d.name), stripeOfID([]byte(s)))
		}
		for _, l := range stores {
			k := l.s.key(s)
			dir := filepath.Dir(k.file)
			if k.name != d.name || k.stripe != d.stripe || filepath.Base(k.file) != k.name || dir != shardPath(l.s.dataDir, k.name, l.depth) {
				t.Fatalf("ID %q in a store of depth %d: key %+v, want name %q in %s", s, l.depth, k, d.name, shardPath(l.s.dataDir, d.name, l.depth))
			}
			if rel, err := filepath.Rel(l.s.dataDir, k.file); err != nil || !filepath.IsLocal(rel) || strings.Count(rel, string(filepath.Separator)) != l.depth {
				t.Fatalf("ID %q in a store of depth %d: file %s is not %d levels inside %s", s, l.depth, k.file, l.depth, l.s.dataDir)
			}
			if prefix, leaf := shardPrefix(l.s.dataDir, dir, l.depth); !leaf || prefix != k.name[:2*l.depth] {
				t.Fatalf("ID %q in a store of depth %d: shardPrefix(%s) = %q, %v", s, l.depth, dir, prefix, leaf)
			}
			if sn := stripeName(k.stripe, l.s.layout.stripes); !isStripeName(sn) {
				t.Fatalf("stripeName(%#x, %d) = %q, not a stripe name", k.stripe, l.s.layout.stripes, sn)
			}
			// The lock a Locked takes (its name built with the key's
			// path) is the one the sweep and Rekey take for the record.
			if ln, sn := l.s.lockName(k), stripeName(stripeOfName(k.name), l.s.layout.stripes); ln != sn || k.lockName != sn {
				t.Fatalf("ID %q in a store of %d stripes: the key's lock file %q (%q), the record name's %q", s, l.s.layout.stripes, ln, k.lockName, sn)
			}
		}
	})
}
