package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/forge"
)

// touchOps are the two ways to touch without a Load first.
var touchOps = []struct {
	name  string
	touch func(ctx context.Context, s *fsstore.Store, id string) error
}{
	{"Store.Touch", func(ctx context.Context, s *fsstore.Store, id string) error { return s.Touch(ctx, id) }},
	{"Locked.Touch", func(ctx context.Context, s *fsstore.Store, id string) error {
		l, err := s.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			return err
		}
		defer l.Unlock()
		return l.Touch(ctx)
	}},
}

// Touch judges expiry by the record's own idle timeout, in its header, not
// by the idle timeout of the store that touches it: a store with a long
// timeout must not revive a record written with a short one that has
// expired, and a store with a short timeout must not call a live record
// written with a long one expired.
func TestTouchJudgesByRecordIdle(t *testing.T) {
	tests := []struct {
		name                string
		writerIdle, ownIdle time.Duration
		idleFor             time.Duration
		wantLive            bool
	}{
		{"long store, short expired record", 2 * time.Second, time.Hour, 3 * time.Second, false},
		{"short store, long live record", time.Hour, 2 * time.Second, 3 * time.Second, true},
		{"same idle, live", time.Minute, time.Minute, 30 * time.Second, true},
		{"same idle, expired", time.Minute, time.Minute, 2 * time.Minute, false},
	}
	for _, tt := range tests {
		for _, op := range touchOps {
			for _, loadFirst := range []bool{false, true} {
				name := tt.name + "/" + op.name
				if loadFirst {
					name += "/after a Load"
				}
				t.Run(name, func(t *testing.T) {
					ctx := context.Background()
					clock := fakeclock.New()
					dir := t.TempDir()
					w := openDir(t, dir, fsstore.WithIdleTimeout(tt.writerIdle), fsstore.WithClock(clock.Now))
					id := newID(t)
					if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
						t.Fatal(err)
					}
					p := w.RecordPathForTest(id)
					s := openDir(t, dir, fsstore.WithIdleTimeout(tt.ownIdle), fsstore.WithClock(clock.Now))
					if loadFirst {
						// What the Load learnt of the record must not
						// mislead the Touch either.
						mustLoad(t, s, id, "v")
					}
					clock.Advance(tt.idleFor)
					before := mtime(t, p)
					err := op.touch(ctx, s, id)
					switch {
					case tt.wantLive && err != nil:
						t.Fatalf("Touch of a live record: %v", err)
					case tt.wantLive && !mtime(t, p).After(before):
						t.Errorf("Touch of a live record left its mtime at %v", before)
					case !tt.wantLive && !errors.Is(err, fsstore.ErrNotFound):
						t.Fatalf("Touch of an expired record: %v, want ErrNotFound", err)
					case !tt.wantLive && !mtime(t, p).Equal(before):
						t.Errorf("Touch revived an expired record: mtime %v → %v", before, mtime(t, p))
					}
				})
			}
		}
	}
}

// Touch on a record that is not complete and well formed fails with
// ErrCorrupt and leaves the file alone: an empty file, a cut one, one with
// bytes appended, one over the size limit.
func TestTouchRefusesDamagedRecord(t *testing.T) {
	const maxSize = 1024
	damage := []struct {
		name string
		do   func(b []byte) []byte
	}{
		{"zero-length", func(b []byte) []byte { return nil }},
		{"header cut", func(b []byte) []byte { return b[:20] }},
		{"payload cut", func(b []byte) []byte { return b[:len(b)-1] }},
		{"extended", func(b []byte) []byte { return append(b, 0) }},
		{"oversized", func(b []byte) []byte { return append(b, make([]byte, 2*maxSize)...) }},
		{"not a record", func(b []byte) []byte {
			return []byte("<?php session data, not ours ...................................")
		}},
	}
	for _, d := range damage {
		for _, op := range touchOps {
			for _, loadFirst := range []bool{false, true} {
				name := d.name + "/" + op.name
				if loadFirst {
					name += "/after a Load"
				}
				t.Run(name, func(t *testing.T) {
					ctx := context.Background()
					s := openTemp(t, fsstore.WithMaxSize(maxSize))
					id := newID(t)
					if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("some session data")}); err != nil {
						t.Fatal(err)
					}
					if loadFirst {
						mustLoad(t, s, id, "some session data")
					}
					p := s.RecordPathForTest(id)
					b, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, d.do(b), 0o600); err != nil {
						t.Fatal(err)
					}
					old := time.Now().Add(-time.Minute).Truncate(time.Second)
					if err := os.Chtimes(p, old, old); err != nil {
						t.Fatal(err)
					}
					if err := op.touch(ctx, s, id); !errors.Is(err, fsstore.ErrCorrupt) {
						t.Errorf("Touch: %v, want ErrCorrupt", err)
					}
					if got := mtime(t, p); !got.Equal(old) {
						t.Errorf("Touch changed the damaged record's mtime to %v", got)
					}
				})
			}
		}
	}
}

// What a Load learnt of a record does not outlive the record: after
// another process replaces it with one of a shorter idle timeout, Touch
// judges by the new record.
func TestTouchAfterLoadSeesReplacedRecord(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	dir := t.TempDir()
	long := openDir(t, dir, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now))
	short := openDir(t, dir, fsstore.WithIdleTimeout(2*time.Second), fsstore.WithClock(clock.Now))
	id := newID(t)
	if err := long.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, long, id, "v")
	if err := short.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v"), Version: 1}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Second)
	if err := long.Touch(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("Touch of the replaced, expired record: %v, want ErrNotFound", err)
	}
}

// Touch refuses what Load refuses from the record's header: a plaintext
// record where encryption is required (a forged session), a record under
// a key that is not configured, an encrypted record met without keys; and
// leaves it untouched. It used to extend all three, answering nil for a
// forged session that no Load would serve, so that an application
// checking a session with Touch alone took the forgery for a live one.
func TestTouchRefusesWhatLoadRefuses(t *testing.T) {
	var k1, k2 fsstore.Key // each subtest's, made before it opens its stores
	for _, tc := range []struct {
		name string
		// writer writes the record of id; toucher is the store that
		// touches it.
		writer  func(t *testing.T, dir string) *fsstore.Store
		forge   bool // then a cleartext record is forged over it
		toucher func(t *testing.T, dir string) *fsstore.Store
		want    error // nil: touched
	}{
		{
			name:    "plaintext in a keyed store",
			writer:  func(t *testing.T, dir string) *fsstore.Store { return openDir(t, dir, fsstore.WithKeys(k1)) },
			forge:   true,
			toucher: func(t *testing.T, dir string) *fsstore.Store { return openDir(t, dir, fsstore.WithKeys(k1)) },
			want:    fsstore.ErrUnencrypted,
		},
		{
			name:    "plaintext, store known encrypted, no keys",
			writer:  func(t *testing.T, dir string) *fsstore.Store { return openDir(t, dir, fsstore.WithKeys(k1)) },
			forge:   true,
			toucher: func(t *testing.T, dir string) *fsstore.Store { return openDir(t, dir, fsstore.WithMaintenanceOnly()) },
			want:    fsstore.ErrUnencrypted,
		},
		{
			name:    "under a key not configured",
			writer:  func(t *testing.T, dir string) *fsstore.Store { return openDir(t, dir, fsstore.WithKeys(k2)) },
			toucher: func(t *testing.T, dir string) *fsstore.Store { return openDir(t, dir, fsstore.WithKeys(k1)) },
			want:    fsstore.ErrUnknownKey,
		},
		{
			name:    "encrypted, no keys",
			writer:  func(t *testing.T, dir string) *fsstore.Store { return openDir(t, dir, fsstore.WithKeys(k1)) },
			toucher: func(t *testing.T, dir string) *fsstore.Store { return openDir(t, dir, fsstore.WithMaintenanceOnly()) },
			want:    fsstore.ErrKeysRequired,
		},
		{
			name:   "plaintext while migrating",
			writer: func(t *testing.T, dir string) *fsstore.Store { return openDir(t, dir) },
			toucher: func(t *testing.T, dir string) *fsstore.Store {
				return openDir(t, dir, fsstore.WithKeys(k1), fsstore.WithPlaintextMigration())
			},
		},
	} {
		for _, op := range touchOps {
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				ctx := context.Background()
				k1, k2 = mustKey(t, 1), mustKey(t, 2)
				dir := t.TempDir()
				w := tc.writer(t, dir)
				id := newID(t)
				if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte(`{"user":"alice"}`)}); err != nil {
					t.Fatal(err)
				}
				p := w.RecordPathForTest(id)
				if tc.forge {
					if _, err := forge.Write(dir, forge.Record{ID: id, Payload: forgedAdmin, Version: 9}); err != nil {
						t.Fatal(err)
					}
				}
				s := tc.toucher(t, dir)
				old := time.Now().Add(-time.Minute).Truncate(time.Second)
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
				err := op.touch(ctx, s, id)
				switch {
				case tc.want == nil && err != nil:
					t.Fatalf("Touch: %v", err)
				case tc.want == nil && mtime(t, p).Equal(old):
					t.Errorf("Touch left the mtime at %v", old)
				case tc.want != nil && !errors.Is(err, tc.want):
					t.Errorf("Touch: %v, want %v", err, tc.want)
				case tc.want != nil && !mtime(t, p).Equal(old):
					t.Errorf("Touch extended a record that no Load serves: mtime %v → %v", old, mtime(t, p))
				}
			})
		}
	}
}

// What a Load judged does not outlive the judgement: after a keys file
// reload retires the key a record was loaded under, or once a keyless
// store learns that the store is encrypted, Touch refuses the record as
// Load now does, though the file is still the one the Load read (whose
// header this process remembers, to touch without reading it again).
func TestTouchAfterTheJudgementChanged(t *testing.T) {
	for _, tc := range []struct {
		name string
		// prepare writes a record and returns its ID, the store that
		// loads it, and change, which makes that store's judgement of the
		// record change.
		prepare func(t *testing.T, dir string) (id string, s *fsstore.Store, change func())
		want    error
	}{
		{
			name: "key retired by a reload",
			prepare: func(t *testing.T, dir string) (string, *fsstore.Store, func()) {
				k1, k2 := mustKey(t, 1), mustKey(t, 2)
				id := newID(t)
				must(t, openDir(t, dir, fsstore.WithKeys(k1)).Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("v")}))
				keysPath := filepath.Join(t.TempDir(), "keys")
				writeFile0600(t, keysPath, keysFileText(k2, k1))
				ev := make(reloadEvents, 16)
				s := openDir(t, dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev))
				return id, s, func() {
					renameOver(t, keysPath, keysFileText(k2))
					if out := waitReload(t, ev); out != fsstore.OutcomeOK {
						t.Fatalf("reload retiring key 1: %v", out)
					}
				}
			},
			want: fsstore.ErrUnknownKey,
		},
		{
			name: "keyless store told the store is encrypted",
			prepare: func(t *testing.T, dir string) (string, *fsstore.Store, func()) {
				s := openDir(t, dir)
				id := newID(t)
				if _, err := forge.Write(dir, forge.Record{ID: id, Payload: []byte("v"), Version: 9}); err != nil {
					t.Fatal(err)
				}
				return id, s, func() {
					keyed := openDir(t, dir, fsstore.WithKeys(mustKey(t, 1)))
					other := newID(t)
					must(t, keyed.Save(context.Background(), &fsstore.Session{ID: other, Data: []byte("secret")}))
					if _, err := s.Load(context.Background(), other); !errors.Is(err, fsstore.ErrKeysRequired) {
						t.Fatalf("keyless Load of an encrypted record: %v, want ErrKeysRequired", err)
					}
				}
			},
			want: fsstore.ErrUnencrypted,
		},
	} {
		for _, op := range touchOps {
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				ctx := context.Background()
				dir := t.TempDir()
				id, s, change := tc.prepare(t, dir)
				p := s.RecordPathForTest(id)
				// Set before the Load: a change of the file's times after
				// it would make the Touch read the header again.
				old := time.Now().Add(-time.Minute).Truncate(time.Second)
				must(t, os.Chtimes(p, old, old))
				mustLoad(t, s, id, "v")
				change()
				if err := op.touch(ctx, s, id); !errors.Is(err, tc.want) {
					t.Errorf("Touch: %v, want %v", err, tc.want)
				}
				if got := mtime(t, p); !got.Equal(old) {
					t.Errorf("Touch extended a record that no Load serves: mtime %v → %v", old, got)
				}
			})
		}
		// The change within one request: Locked.Load judged the record
		// under the key set of then, and Locked.Touch must not reuse
		// that judgement (it touches without looking at the file).
		t.Run(tc.name+"/Locked.Load then Locked.Touch", func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			id, s, change := tc.prepare(t, dir)
			p := s.RecordPathForTest(id)
			old := time.Now().Add(-time.Minute).Truncate(time.Second)
			must(t, os.Chtimes(p, old, old))
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			if sess, err := l.Load(ctx); err != nil || string(sess.Data) != "v" {
				t.Fatalf("Locked.Load: %v", err)
			}
			change()
			if err := l.Touch(ctx); !errors.Is(err, tc.want) {
				t.Errorf("Locked.Touch: %v, want %v", err, tc.want)
			}
			if got := mtime(t, p); !got.Equal(old) {
				t.Errorf("Locked.Touch extended a record that no Load serves: mtime %v → %v", old, got)
			}
		})
	}
}
