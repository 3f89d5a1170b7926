package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/forge"
)

// A record that says it is sealed under a key ID no key can have (0:
// key IDs start at 1) or that no application host of the store has ever
// had (its .keycheck-ID, written by the first host to open the store
// with the key, before any save under it, is not there) was written by
// no host: it is forged or damaged, ErrCorrupt (outcome corrupt, Range's
// Corrupt), not ErrUnknownKey, whose runbook says a key was retired too
// early. A record under a key a host did have (a retired one) stays
// ErrUnknownKey. A keyless host is not made to believe the store
// encrypted by a record under either kind of impossible ID: its saves go
// on.
func TestImpossibleKeyIDIsCorrupt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	retired, cur := mustKey(t, 1), mustKey(t, 2)
	// A host had key 1 (its check file is written), saved under it, and
	// key 1 was retired since.
	s1 := openDir(t, dir, fsstore.WithKeys(retired))
	real := newID(t)
	if err := s1.Save(ctx, &fsstore.Session{ID: real, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	var obs outcomes
	s := openDir(t, dir, fsstore.WithKeys(cur), fsstore.WithObserver(&obs))
	payload := bytes.Repeat([]byte{0xA5}, 64)
	forged := map[uint32]string{0: newID(t), 7: newID(t)}
	for keyID, id := range forged {
		if _, err := forge.Write(dir, forge.Record{ID: id, Payload: payload, Encrypted: true, KeyID: keyID}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, id string
		want     error
	}{
		{"key ID 0", forged[0], fsstore.ErrCorrupt},
		{"key ID no host had", forged[7], fsstore.ErrCorrupt},
		{"retired key", real, fsstore.ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for op, f := range map[string]func() error{
				"Load":  func() error { _, err := s.Load(ctx, tc.id); return err },
				"Touch": func() error { return s.Touch(ctx, tc.id) },
			} {
				err := f()
				if !errors.Is(err, tc.want) || (tc.want == fsstore.ErrCorrupt) == errors.Is(err, fsstore.ErrUnknownKey) {
					t.Errorf("%s: %v, want %v alone", op, err, tc.want)
				}
			}
		})
	}
	if c, u := obs.get(fsstore.OutcomeCorrupt), obs.get(fsstore.OutcomeUnknownKey); c != 4 || u != 2 {
		t.Errorf("Observer: %d corrupt, %d unknown_key outcomes; want 4 and 2", c, u)
	}
	rs, err := s.Range(ctx, func(*fsstore.Record) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if rs.Corrupt != 2 || rs.UnknownKey != 1 {
		t.Errorf("Range: Corrupt %d, UnknownKey %d; want 2 and 1", rs.Corrupt, rs.UnknownKey)
	}

	// A keyless store of a plaintext store, for each impossible key ID:
	// a record under one is no sign the store is encrypted, and the
	// keyless host's saves go on.
	for _, keyID := range []uint32{0, 7} {
		plain := t.TempDir()
		k := openDir(t, plain)
		id := newID(t)
		if _, err := forge.Write(plain, forge.Record{ID: id, Payload: payload, Encrypted: true, KeyID: keyID}); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Load(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) || errors.Is(err, fsstore.ErrKeysRequired) {
			t.Errorf("keyless Load of a record under key ID %d: %v, want ErrCorrupt alone", keyID, err)
		}
		if err := k.Touch(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) || errors.Is(err, fsstore.ErrKeysRequired) {
			t.Errorf("keyless Touch of a record under key ID %d: %v, want ErrCorrupt alone", keyID, err)
		}
		if err := k.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("y")}); err != nil {
			t.Errorf("keyless Save after a record under key ID %d: %v", keyID, err)
		}
	}

	// A keyless host of a store a keyed host encrypted (its key's check
	// file is there) takes an encrypted record for the sign it is.
	enc := t.TempDir()
	openDir(t, enc, fsstore.WithKeys(cur)).Close()
	k := openDir(t, enc, fsstore.WithMaintenanceOnly())
	id := newID(t)
	if _, err := forge.Write(enc, forge.Record{ID: id, Payload: payload, Encrypted: true, KeyID: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Load(ctx, id); !errors.Is(err, fsstore.ErrKeysRequired) {
		t.Errorf("keyless Load of a record under a key a host has: %v, want ErrKeysRequired", err)
	}
}
