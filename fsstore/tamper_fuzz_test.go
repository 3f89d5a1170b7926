package fsstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"log/slog"
	"os"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/forge"
)

// FuzzLoadTampered plays someone who can write the store's directory but
// holds no key: it changes a saved record (mask is XORed over its bytes,
// bytes past its end are appended, cut shortens it first) and, with fixCRC,
// recomputes the header's checksum over the result, as anyone who read
// docs/design.md can. Load, a locked Load and Range must then give the
// saved payload or an error matching one of the store's sentinels, never
// another payload; on an encrypted store, a record whose encrypted flag
// the change cleared (a downgrade to plaintext) must fail with
// ErrUnencrypted or ErrCorrupt (or ErrExpired, when the change also made
// its times say expired). plain runs the same on a store without
// keys, where only the checksum stands guard (so fixCRC is not tried).
func FuzzLoadTampered(f *testing.F) {
	// Seeds: no change (the saved payload must come back), the flag
	// cleared with and without the checksum fixed (the downgrade), a
	// byte of the nonce, the ciphertext, the tag, the binding, the
	// reserved field, the key ID, the length, the checksum alone (not
	// checked on an encrypted record: the AEAD authenticates it, so the
	// payload must still be the saved one), a cut, an extension.
	mask := func(off int, b ...byte) []byte { return append(make([]byte, off), b...) }
	f.Add([]byte{}, uint16(0), false, false)
	f.Add(mask(6, 1), uint16(0), true, false)
	f.Add(mask(6, 1), uint16(0), false, false)
	f.Add(mask(64, 0x80), uint16(0), true, false)
	f.Add(mask(80, 1), uint16(0), false, false)
	f.Add(mask(120, 1), uint16(0), true, false)
	f.Add(mask(48, 0xff), uint16(0), true, false)
	f.Add(mask(56, 1), uint16(0), true, false)
	f.Add(mask(44, 2), uint16(0), true, false)
	f.Add(mask(40, 1), uint16(0), true, false)
	f.Add(mask(60, 1, 2, 3, 4), uint16(0), false, false)
	f.Add([]byte{}, uint16(1), true, false)
	f.Add(make([]byte, 200), uint16(0), true, false)
	f.Add(mask(70, 1), uint16(0), false, true)
	f.Add(mask(6, 1), uint16(0), false, true)

	ctx := context.Background()
	payload := []byte(`{"user":"alice","role":"reader"}`)
	id := "fuzz-tamper-session-0000000000000001"
	discard := slog.New(slog.DiscardHandler)
	type store struct {
		s    *fsstore.Store
		path string
		rec  []byte
	}
	open := func(opts ...fsstore.Option) store {
		dir := f.TempDir()
		s, err := fsstore.Open(dir, append(opts, fsstore.WithLogger(discard))...)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { s.Close() })
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: payload}); err != nil {
			f.Fatal(err)
		}
		p := forge.Path(dir, id, 1)
		rec, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		return store{s, p, rec}
	}
	key, err := fsstore.NewKey(1)
	if err != nil {
		f.Fatal(err)
	}
	encrypted, plaintext := open(fsstore.WithKeys(key)), open()
	castagnoli := crc32.MakeTable(crc32.Castagnoli)

	f.Fuzz(func(t *testing.T, mask []byte, cut uint16, fixCRC, plain bool) {
		st := encrypted
		if plain {
			if fixCRC {
				t.Skip("without keys, a record with a right checksum is the session's, whatever it holds")
			}
			st = plaintext
		}
		b := bytes.Clone(st.rec)
		b = b[:len(b)-min(int(cut), len(b))]
		for i, m := range mask {
			if i < len(b) {
				b[i] ^= m
			} else {
				b = append(b, m)
			}
		}
		if fixCRC && len(b) >= 64 {
			crc := crc32.Update(crc32.Update(0, castagnoli, b[:60]), castagnoli, b[64:])
			binary.LittleEndian.PutUint32(b[60:], crc)
		}
		downgrade := !plain && len(b) > 6 && b[6]&1 == 0
		// A new file, as a save makes it: the store may trust a record
		// whose file it has seen unchanged.
		tmp := st.path + ".fuzz"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, st.path); err != nil {
			t.Fatal(err)
		}

		check := func(how string, data []byte, err error) {
			t.Helper()
			if err == nil {
				if !bytes.Equal(data, payload) {
					t.Fatalf("%s of a tampered record gave payload %q, want %q or an error", how, data, payload)
				}
				if downgrade {
					t.Fatalf("%s of a record whose encrypted flag is cleared succeeded", how)
				}
				return
			}
			// The expiry is judged before the flag and the key (an
			// expired record is gone whatever sealed it): a change that
			// also makes the header's times say expired is ErrExpired,
			// which serves nothing either.
			if downgrade && !errors.Is(err, fsstore.ErrCorrupt) && !errors.Is(err, fsstore.ErrExpired) {
				t.Fatalf("%s of a record whose encrypted flag is cleared: %v, want ErrUnencrypted, ErrCorrupt or ErrExpired", how, err)
			}
			for _, want := range []error{fsstore.ErrCorrupt, fsstore.ErrNotFound, fsstore.ErrUnknownKey} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("%s of a tampered record: %v, which matches none of ErrCorrupt, ErrNotFound (ErrExpired), ErrUnknownKey", how, err)
		}

		sess, err := st.s.Load(ctx, id)
		var data []byte
		if err == nil {
			data = sess.Data
		}
		check("Load", data, err)

		l, err := st.s.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		sess, err = l.Load(ctx)
		data = nil
		if err == nil {
			data = sess.Data
		}
		check("locked Load", data, err)
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}

		// fn runs on Range's goroutine, where t.Fatal must not be called.
		var ranged [][]byte
		if _, err := st.s.Range(ctx, func(r *fsstore.Record) bool {
			if !r.IsFor(id) {
				ranged = append(ranged, []byte("a record not bound to the session: "+string(r.Data)))
			} else {
				ranged = append(ranged, bytes.Clone(r.Data))
			}
			return true
		}); err != nil {
			t.Fatalf("Range: %v", err)
		}
		for _, data := range ranged {
			check("Range", data, nil)
		}
	})
}
