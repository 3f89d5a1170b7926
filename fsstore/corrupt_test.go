package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// Damaged records — bit flips anywhere, truncation, extension, an empty
// file, foreign content, a record of another session renamed over this one
// — must load as ErrCorrupt: never a panic, never a wrong payload. With the
// cache enabled, a damaged file may instead yield the exact payload last
// saved (the cache revalidates the header, inode and size, and a payload
// bit flip keeps those), but never anything else.
func TestCorruptRecords(t *testing.T) {
	ctx := context.Background()
	payload := []byte("the quick brown fox jumps over the lazy dog; session payload")
	type damage struct {
		name string
		fn   func(rec, other []byte) []byte
	}
	var damages []damage
	recLen := 64 + len(payload)
	for _, off := range []int{0, 3, 4, 6, 7, 8, 15, 16, 24, 32, 40, 43, 44, 48, 55, 56, 59, 60, 63, 64, recLen / 2, recLen - 1} {
		off := off
		damages = append(damages, damage{fmt.Sprintf("flip@%d", off), func(rec, _ []byte) []byte {
			rec[off] ^= 1 << (off % 8)
			return rec
		}})
	}
	for _, n := range []int{0, 1, 4, 63, 64, 65, recLen - 1} {
		n := n
		damages = append(damages, damage{fmt.Sprintf("truncate@%d", n), func(rec, _ []byte) []byte { return rec[:n] }})
	}
	damages = append(damages,
		damage{"extend-zero", func(rec, _ []byte) []byte { return append(rec, 0) }},
		damage{"extend-garbage", func(rec, _ []byte) []byte { return append(rec, bytes.Repeat([]byte("x"), 100)...) }},
		damage{"doubled", func(rec, _ []byte) []byte { return append(rec, rec...) }},
		damage{"foreign-text", func([]byte, []byte) []byte { return []byte("<?php session_start(); ?>\n") }},
		damage{"zeros", func(rec, _ []byte) []byte { return make([]byte, len(rec)) }},
		damage{"other-session", func(_, other []byte) []byte { return other }},
		damage{"other-header-this-payload", func(rec, other []byte) []byte {
			return append(other[:64:64], rec[64:]...)
		}},
	)
	for _, cached := range []bool{false, true} {
		for _, d := range damages {
			t.Run(fmt.Sprintf("cache=%v/%s", cached, d.name), func(t *testing.T) {
				var opts []fsstore.Option
				if cached {
					opts = append(opts, fsstore.WithCache(16, 1<<20))
				}
				s := openTemp(t, opts...)
				id, otherID := newID(t), newID(t)
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: payload}); err != nil {
					t.Fatal(err)
				}
				if err := s.Save(ctx, &fsstore.Session{ID: otherID, Data: payload}); err != nil {
					t.Fatal(err)
				}
				if cached {
					mustLoad(t, s, id, string(payload)) // populate the cache
				}
				p := s.RecordPathForTest(id)
				rec, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				other, err := os.ReadFile(s.RecordPathForTest(otherID))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, d.fn(rec, other), 0o600); err != nil {
					t.Fatal(err)
				}
				sess, err := s.Load(ctx, id)
				switch {
				case err == nil && cached && bytes.Equal(sess.Data, payload):
					// The cached copy of the last saved value.
				case err == nil:
					t.Fatalf("Load of a damaged record returned %q", sess.Data)
				case !errors.Is(err, fsstore.ErrCorrupt):
					t.Fatalf("Load of a damaged record: %v, want ErrCorrupt", err)
				}
				l, err := s.Lock(ctx, id, fsstore.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				if sess, err := l.Load(ctx); err == nil && !(cached && bytes.Equal(sess.Data, payload)) {
					t.Fatalf("Locked.Load of a damaged record returned %q", sess.Data)
				}
				// A save replaces the damaged record.
				if err := l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("fresh")}); err != nil {
					t.Fatal(err)
				}
				l.Unlock()
				mustLoad(t, s, id, "fresh")
			})
		}
	}
}

func TestRenamedRecordBelongsToAnotherSession(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	a, b := newID(t), newID(t)
	for _, id := range []string{a, b} {
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("data of " + id[:4])}); err != nil {
			t.Fatal(err)
		}
	}
	pa, pb := s.RecordPathForTest(a), s.RecordPathForTest(b)
	if err := os.MkdirAll(filepath.Dir(pb), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(pa, pb); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load(ctx, b)
	if !errors.Is(err, fsstore.ErrCorrupt) || !strings.Contains(err.Error(), "another session") {
		t.Fatalf("Load of a record renamed from another session: %v, want ErrCorrupt (belongs to another session)", err)
	}
	if _, err := s.Load(ctx, a); !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Load of the moved session: %v, want ErrNotFound", err)
	}
}

// A file larger than any record a store writes (a 64 MiB payload, its
// header and seal) is refused without being read whole, a file over this
// store's own WithMaxSize that is no record is refused as damaged, and a
// directory where a record should be is not a record.
func TestOversizedAndNonRegularRecords(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, fsstore.WithMaxSize(100))
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	p := s.RecordPathForTest(id)
	if err := os.WriteFile(p, make([]byte, 64+101), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) {
		t.Fatalf("Load of a damaged file over WithMaxSize: %v, want ErrCorrupt", err)
	}
	if err := os.Truncate(p, 64<<20+64+28+1); err != nil { // sparse
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) || !strings.Contains(err.Error(), "larger than any record") {
		t.Fatalf("Load of a file larger than any record: %v, want ErrCorrupt", err)
	}
	if err := s.Touch(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) {
		t.Fatalf("Touch of a file larger than any record: %v, want ErrCorrupt", err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) {
		t.Fatalf("Load of a directory: %v, want ErrCorrupt", err)
	}
	if err := s.Touch(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) {
		t.Fatalf("Touch of a directory: %v, want ErrCorrupt", err)
	}
}

// The size limit refuses a larger payload on every write path and keeps the
// previous value.
func TestSizeLimit(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, fsstore.WithMaxSize(100))
	id := newID(t)
	prev := bytes.Repeat([]byte("p"), 100)
	first := &fsstore.Session{ID: id, Data: prev}
	if err := s.Save(ctx, first); err != nil {
		t.Fatalf("Save at the limit: %v", err)
	}
	big := &fsstore.Session{ID: id, Data: bytes.Repeat([]byte("b"), 101), Version: first.Version}
	if err := s.Save(ctx, big); !errors.Is(err, fsstore.ErrTooLarge) {
		t.Fatalf("Save over the limit: %v, want ErrTooLarge", err)
	}
	if err := s.CompareAndSwap(ctx, big); !errors.Is(err, fsstore.ErrTooLarge) {
		t.Fatalf("CompareAndSwap over the limit: %v, want ErrTooLarge", err)
	}
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Save(ctx, big); !errors.Is(err, fsstore.ErrTooLarge) {
		t.Fatalf("Locked.Save over the limit: %v, want ErrTooLarge", err)
	}
	l.Unlock()
	mustLoad(t, s, id, string(prev))
	if sess, _ := s.Load(ctx, id); sess.Version != first.Version {
		t.Fatalf("version %d after refused saves, want %d", sess.Version, first.Version)
	}
}

// TestMaxSizeLimitsWritesOnly shares a store between a process whose
// WithMaxSize is larger than the default and one with the default: a
// session the first saved over the second's limit is valid, and every way
// the second reads it must take it as such. Taken for damaged, it was
// refused (ErrCorrupt) and then replaced by the documented way out of a
// damaged record, a CompareAndSwap at version 0.
func TestMaxSizeLimitsWritesOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	big := openDir(t, dir, fsstore.WithMaxSize(4<<20))
	small := openDir(t, dir) // the default limit, 1 MiB
	id := newID(t)
	data := bytes.Repeat([]byte("s"), 2<<20)
	if err := big.Save(ctx, &fsstore.Session{ID: id, Data: data}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"Load", func() error {
			sess, err := small.Load(ctx, id)
			if err == nil && !bytes.Equal(sess.Data, data) {
				return errors.New("loaded other data")
			}
			return err
		}},
		{"Locked.Load", func() error {
			lk, err := small.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				return err
			}
			defer lk.Unlock()
			_, err = lk.Load(ctx)
			return err
		}},
		{"Touch", func() error { return small.Touch(ctx, id) }},
		{"CompareAndSwap at version 0", func() error {
			err := small.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("replaced")})
			if err == nil {
				return errors.New("replaced a valid session as if it were damaged")
			}
			if !errors.Is(err, fsstore.ErrConflict) {
				return err
			}
			return nil
		}},
		{"Range", func() error {
			var seen bool
			st, err := small.Range(ctx, func(r *fsstore.Record) bool {
				seen = seen || r.IsFor(id)
				return true
			})
			if err == nil && (!seen || st.Corrupt != 0 || st.Errors != 0) {
				return fmt.Errorf("Range saw it %v, %+v", seen, st)
			}
			return err
		}},
	} {
		if err := tc.do(); err != nil {
			t.Errorf("%s of a valid record over this process's WithMaxSize: %v", tc.name, err)
		}
	}
}
