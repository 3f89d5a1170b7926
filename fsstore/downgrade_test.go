package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/forge"
)

var forgedAdmin = []byte(`{"user":"admin"}`)

// TestForgedPlaintextRefused plays an attacker who can write the mount but
// has no key: a cleartext record written over an encrypted session, or
// under an ID of the attacker's choosing, must not load from a keyed store.
func TestForgedPlaintextRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// over: forge over an existing encrypted session rather than
		// under a new ID.
		over bool
	}{
		{name: "over an encrypted session", over: true},
		{name: "new ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			id := newID(t)
			if tc.over {
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(`{"user":"alice"}`)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := forge.Write(dir, forge.Record{ID: id, Payload: forgedAdmin, Version: 9}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(ctx, id)
			if err == nil {
				t.Fatalf("forged cleartext record loaded: %q", got.Data)
			}
			if !errors.Is(err, fsstore.ErrUnencrypted) || !errors.Is(err, fsstore.ErrCorrupt) {
				t.Fatalf("Load: %v, want ErrUnencrypted (matching ErrCorrupt)", err)
			}
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			if _, err := l.Load(ctx); !errors.Is(err, fsstore.ErrUnencrypted) {
				t.Fatalf("locked Load: %v, want ErrUnencrypted", err)
			}
		})
	}
}

// TestPlaintextMigration: the documented rollout. Sessions written before
// encryption load on a keyed store only WithPlaintextMigration; their next
// save encrypts them; a rekey pass converts the rest only when migrating,
// so that a rekey never launders a forged cleartext record.
func TestPlaintextMigration(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	plain, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{newID(t), newID(t), newID(t)}
	for _, id := range ids {
		if err := plain.Save(ctx, &fsstore.Session{ID: id, Data: []byte("before " + id)}); err != nil {
			t.Fatal(err)
		}
	}
	plain.Close()
	k := mustKey(t, 1)

	strict, err := fsstore.Open(dir, fsstore.WithKeys(k))
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	if _, err := strict.Load(ctx, ids[0]); !errors.Is(err, fsstore.ErrUnencrypted) {
		t.Fatalf("plaintext record without the migration option: %v, want ErrUnencrypted", err)
	}
	st, err := strict.Rekey(ctx, fsstore.RekeyOptions{})
	if err != nil || st.Rekeyed != 0 || st.Errors != int64(len(ids)) {
		t.Fatalf("rekey without the migration option must refuse plaintext records: %+v %v", st, err)
	}

	mig, err := fsstore.Open(dir, fsstore.WithKeys(k), fsstore.WithPlaintextMigration())
	if err != nil {
		t.Fatal(err)
	}
	defer mig.Close()
	sess, err := mig.Load(ctx, ids[0])
	if err != nil || string(sess.Data) != "before "+ids[0] {
		t.Fatalf("migration Load: %v", err)
	}
	if err := mig.Save(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Load(ctx, ids[0]); err != nil {
		t.Fatalf("a migrated session's save must encrypt it: %v", err)
	}
	st, err = mig.Rekey(ctx, fsstore.RekeyOptions{})
	if err != nil || st.Rekeyed != 2 || st.Plaintext != 2 || st.UpToDate != 1 || st.Errors != 0 {
		t.Fatalf("migration rekey: %+v %v", st, err)
	}
	for _, id := range ids {
		if _, err := strict.Load(ctx, id); err != nil {
			t.Fatalf("after the migration rekey: %v", err)
		}
	}
	for _, p := range recordPaths(t, dir) {
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("before ")) {
			t.Fatalf("%s still in clear after the migration", p)
		}
	}
}

// TestKeylessOpenOfEncryptedStore: a host deployed without keys next to
// hosts with keys must not write plaintext into the store: Open fails, and
// maintenance (sweep, stats, delete) is allowed only on request, without
// saves.
func TestKeylessOpenOfEncryptedStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyed, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer keyed.Close()
	id := newID(t)
	if err := keyed.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}

	_, err = fsstore.Open(dir)
	if !errors.Is(err, fsstore.ErrKeysRequired) || !strings.Contains(err.Error(), "clear text") {
		t.Fatalf("keyless Open of an encrypted store: %v, want ErrKeysRequired", err)
	}

	m, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	other := newID(t)
	if err := m.Save(ctx, &fsstore.Session{ID: other, Data: []byte("clear")}); !errors.Is(err, fsstore.ErrKeysRequired) {
		t.Fatalf("Save through a maintenance-only store: %v, want ErrKeysRequired", err)
	}
	if err := m.CompareAndSwap(ctx, &fsstore.Session{ID: other, Data: []byte("clear")}); !errors.Is(err, fsstore.ErrKeysRequired) {
		t.Fatalf("CompareAndSwap through a maintenance-only store: %v, want ErrKeysRequired", err)
	}
	if _, err := m.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
		t.Fatalf("sweep without keys: %v", err)
	}
	if err := m.Delete(ctx, id); err != nil {
		t.Fatalf("delete without keys: %v", err)
	}
	if n := len(recordPaths(t, dir)); n != 0 {
		t.Fatalf("%d records on disk, want 0: a keyless host wrote one", n)
	}
}

// outcomes counts Observer outcomes.
type outcomes struct {
	mu sync.Mutex
	n  map[fsstore.Outcome]int
}

func (o *outcomes) Observe(e fsstore.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[fsstore.Outcome]int{}
	}
	o.n[e.Outcome]++
}

func (o *outcomes) get(out fsstore.Outcome) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[out]
}

// TestRetiredKey: a record sealed with a key that is no longer configured
// is ErrUnknownKey (its own Observer outcome) while it is live, and plain
// ErrExpired once expired, whatever its key: expiry is checked first. A
// rekey pass leaves expired records to the sweep rather than failing on
// them, and CompareAndSwap replaces an expired one.
func TestRetiredKey(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New()
	dir := t.TempDir()
	old, cur := mustKey(t, 1), mustKey(t, 2)
	s1, err := fsstore.Open(dir, fsstore.WithKeys(old), fsstore.WithClock(clock.Now), fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	if err := s1.Save(ctx, &fsstore.Session{ID: id, Data: []byte("sealed with key 1")}); err != nil {
		t.Fatal(err)
	}
	s1.Close()

	var obs outcomes
	s2, err := fsstore.Open(dir, fsstore.WithKeys(cur), fsstore.WithClock(clock.Now),
		fsstore.WithIdleTimeout(time.Hour), fsstore.WithObserver(&obs))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Load(ctx, id); !errors.Is(err, fsstore.ErrUnknownKey) || errors.Is(err, fsstore.ErrNotFound) {
		t.Fatalf("live record under a retired key: %v, want ErrUnknownKey", err)
	}
	if n := obs.get(fsstore.OutcomeUnknownKey); n != 1 || fsstore.OutcomeUnknownKey.String() != "unknown_key" {
		t.Fatalf("Observer saw %d unknown_key outcomes (%q), want 1", n, fsstore.OutcomeUnknownKey)
	}

	clock.Advance(time.Hour + time.Second)
	for name, load := range map[string]func() error{
		"Load": func() error { _, err := s2.Load(ctx, id); return err },
		"locked Load": func() error {
			l, err := s2.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			_, err = l.Load(ctx)
			return err
		},
	} {
		if err := load(); !errors.Is(err, fsstore.ErrExpired) || errors.Is(err, fsstore.ErrUnknownKey) {
			t.Fatalf("%s of an expired record under a retired key: %v, want ErrExpired", name, err)
		}
	}
	st, err := s2.Rekey(ctx, fsstore.RekeyOptions{})
	if err != nil || st.Errors != 0 || st.Expired != 1 || st.Rekeyed != 0 {
		t.Fatalf("rekey over an expired record under a retired key: %+v %v", st, err)
	}
	fresh := &fsstore.Session{ID: id, Data: []byte("new")}
	if err := s2.CompareAndSwap(ctx, fresh); err != nil {
		t.Fatalf("CompareAndSwap over an expired record under a retired key: %v", err)
	}
	if got, err := s2.Load(ctx, id); err != nil || string(got.Data) != "new" {
		t.Fatalf("after CompareAndSwap: %v", err)
	}
}

// TestMaintenanceRekeyLeavesPlaintextStoreAlone opens a plaintext store in
// use by a keyless host the way a maintenance tool (sessgc rekey) does:
// with keys and WithMaintenanceOnly. With or without WithPlaintextMigration
// it must not mark the store encrypted, whose keyless hosts would then fail
// every save and every restart, and Rekey refuses it with ErrNotEncrypted,
// rewriting nothing: no application host has the keys yet, and a record
// encrypted for none of them logs its user out. Once the first step of the
// migration is done (an application host opened WithKeys and
// WithPlaintextMigration, which marks the store and vouches for the key),
// the maintenance rekey WithPlaintextMigration encrypts what is left.
func TestMaintenanceRekeyLeavesPlaintextStoreAlone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	app, err := fsstore.Open(dir) // a keyless application host, running throughout
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	id := newID(t)
	if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("before")}); err != nil {
		t.Fatal(err)
	}
	k := mustKey(t, 1)

	for _, tc := range []struct {
		name string
		opts []fsstore.Option
	}{
		{"rekey", nil},
		{"rekey --migrate-plaintext", []fsstore.Option{fsstore.WithPlaintextMigration()}},
	} {
		tool, err := fsstore.Open(dir, append([]fsstore.Option{fsstore.WithKeys(k), fsstore.WithMaintenanceOnly(), fsstore.WithCreate(false)}, tc.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		st, err := tool.Rekey(ctx, fsstore.RekeyOptions{})
		if !errors.Is(err, fsstore.ErrNotEncrypted) || st.Scanned != 0 {
			t.Errorf("%s of a store no host opened with keys: %+v, %v; want ErrNotEncrypted and nothing scanned", tc.name, st, err)
		}
		// Nor may it write an encrypted record, which would stop the
		// keyless hosts that load it.
		if err := tool.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("sealed")}); !errors.Is(err, fsstore.ErrNotEncrypted) {
			t.Errorf("%s: Save through the maintenance open: %v, want ErrNotEncrypted", tc.name, err)
		}
		if err := tool.CompareAndSwap(ctx, &fsstore.Session{ID: newID(t), Data: []byte("sealed")}); !errors.Is(err, fsstore.ErrNotEncrypted) {
			t.Errorf("%s: CompareAndSwap through the maintenance open: %v, want ErrNotEncrypted", tc.name, err)
		}
		tool.Close()
		marker, err := os.ReadFile(filepath.Join(dir, fsstore.MarkerFile))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(marker), "encrypted") {
			t.Errorf("%s: a maintenance open with keys marked the store encrypted:\n%s", tc.name, marker)
		}
		restarted, err := fsstore.Open(dir) // a keyless host restarting
		if err != nil {
			t.Fatalf("%s: keyless Open after the maintenance open: %v", tc.name, err)
		}
		restarted.Close()
		if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("after")}); err != nil {
			t.Errorf("%s: keyless save after the maintenance open: %v", tc.name, err)
		}
	}

	// Step 1 of the migration: an application host opened with the key
	// and WithPlaintextMigration.
	host, err := fsstore.Open(dir, fsstore.WithKeys(k), fsstore.WithPlaintextMigration(), fsstore.WithCreate(false))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	mig, err := fsstore.Open(dir, fsstore.WithKeys(k), fsstore.WithMaintenanceOnly(), fsstore.WithPlaintextMigration(), fsstore.WithCreate(false))
	if err != nil {
		t.Fatal(err)
	}
	defer mig.Close()
	if st, err := mig.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 1 || st.Plaintext != 1 {
		t.Errorf("Rekey while migrating: %+v, %v; want the one plaintext record encrypted", st, err)
	}
	if _, err := fsstore.Open(dir); !errors.Is(err, fsstore.ErrKeysRequired) {
		t.Errorf("keyless Open after the migration's rekey: %v, want ErrKeysRequired", err)
	}
	if got, err := host.Load(ctx, id); err != nil || string(got.Data) != "after" {
		t.Errorf("the keyed host's Load after the migration's rekey: %v", err)
	}
}

// TestKeylessStoreRefusesPlaintextOnceEncrypted: a process without keys
// that knows the store is encrypted (a maintenance store, which read the
// marker at Open, or an application host opened before the marking that
// has since learned it) must refuse a plaintext record as a keyed store
// does: only someone without the keys writes one there. It used to serve
// the forged record through every read path, the cache included, so that
// a keyless host left running beside the keyed ones took a cleartext
// {"user":"admin"} for a session.
func TestKeylessStoreRefusesPlaintextOnceEncrypted(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// open opens the keyless store once the keyed host has marked
		// the store (unless it was opened before, in before).
		open func(t *testing.T, dir string, clk *fakeclock.Clock) *fsstore.Store
		// before: the keyless store is opened before the marking.
		before bool
		// learn makes it learn that the store is encrypted; id names an
		// encrypted session.
		learn func(t *testing.T, clk *fakeclock.Clock, s *fsstore.Store, id string)
	}{
		{
			name: "maintenance store",
			open: func(t *testing.T, dir string, clk *fakeclock.Clock) *fsstore.Store {
				return openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithCache(100, 1<<20), fsstore.WithClock(clk.Now))
			},
		},
		{
			// The migration option lets a store with keys read the
			// plaintext records of before: without keys it lets nothing
			// through, or it would open the door to forgeries again.
			name: "maintenance store opened for a plaintext migration",
			open: func(t *testing.T, dir string, clk *fakeclock.Clock) *fsstore.Store {
				return openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithPlaintextMigration(), fsstore.WithClock(clk.Now))
			},
		},
		{
			name:   "host that met an encrypted record",
			before: true,
			open: func(t *testing.T, dir string, clk *fakeclock.Clock) *fsstore.Store {
				return openDir(t, dir, fsstore.WithCache(100, 1<<20), fsstore.WithClock(clk.Now))
			},
			learn: func(t *testing.T, clk *fakeclock.Clock, s *fsstore.Store, id string) {
				if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrKeysRequired) {
					t.Fatalf("keyless Load of an encrypted record: %v, want ErrKeysRequired", err)
				}
			},
		},
		{
			name:   "host that re-read the marker",
			before: true,
			open: func(t *testing.T, dir string, clk *fakeclock.Clock) *fsstore.Store {
				return openDir(t, dir, fsstore.WithCache(100, 1<<20), fsstore.WithClock(clk.Now))
			},
			learn: func(t *testing.T, clk *fakeclock.Clock, s *fsstore.Store, id string) {
				clk.Advance(fsstore.KeylessRecheck)
				if err := s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("clear")}); !errors.Is(err, fsstore.ErrKeysRequired) {
					t.Fatalf("keyless Save after the marking: %v, want ErrKeysRequired", err)
				}
			},
		},
		{
			// A host that serves reads only (or whose saves are all of
			// sessions it cannot read): no save re-reads the marker, and
			// no encrypted record tells it. Its loads re-read the marker
			// as its saves do, at most every KeylessRecheck.
			name:   "host that only reads",
			before: true,
			open: func(t *testing.T, dir string, clk *fakeclock.Clock) *fsstore.Store {
				return openDir(t, dir, fsstore.WithCache(100, 1<<20), fsstore.WithClock(clk.Now))
			},
			learn: func(t *testing.T, clk *fakeclock.Clock, s *fsstore.Store, id string) {
				clk.Advance(fsstore.KeylessRecheck)
			},
		},
		{
			name:   "host that only reads, uncached",
			before: true,
			open: func(t *testing.T, dir string, clk *fakeclock.Clock) *fsstore.Store {
				return openDir(t, dir, fsstore.WithClock(clk.Now))
			},
			learn: func(t *testing.T, clk *fakeclock.Clock, s *fsstore.Store, id string) {
				clk.Advance(fsstore.KeylessRecheck)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := fakeclock.New()
			forged := newID(t)
			var keyless *fsstore.Store
			if tc.before {
				keyless = tc.open(t, dir, clk)
				// Forged, and loaded (and cached) while the store is
				// still plaintext: the record is all this host knows.
				if _, err := forge.Write(dir, forge.Record{ID: forged, Payload: forgedAdmin, Version: 9}); err != nil {
					t.Fatal(err)
				}
				if _, err := keyless.Load(ctx, forged); err != nil {
					t.Fatal(err)
				}
			}
			keyed := openDir(t, dir, fsstore.WithKeys(mustKey(t, 1)), fsstore.WithClock(clk.Now))
			id := newID(t)
			must(t, keyed.Save(ctx, &fsstore.Session{ID: id, Data: []byte(`{"user":"alice"}`)}))
			if !tc.before {
				if _, err := forge.Write(dir, forge.Record{ID: forged, Payload: forgedAdmin, Version: 9}); err != nil {
					t.Fatal(err)
				}
				keyless = tc.open(t, dir, clk)
			}
			if tc.learn != nil {
				tc.learn(t, clk, keyless, id)
			}

			if got, err := keyless.Load(ctx, forged); !errors.Is(err, fsstore.ErrUnencrypted) {
				t.Errorf("Load: %q, %v; want ErrUnencrypted", got.Data, err)
			}
			if err := keyless.Touch(ctx, forged); !errors.Is(err, fsstore.ErrUnencrypted) {
				t.Errorf("Touch: %v; want ErrUnencrypted", err)
			}
			if got, err := keyless.LoadInto(ctx, forged, make([]byte, 0, 4096)); !errors.Is(err, fsstore.ErrUnencrypted) {
				t.Errorf("LoadInto: %q, %v; want ErrUnencrypted", got.Data, err)
			}
			l, err := keyless.Lock(ctx, forged, fsstore.Exclusive)
			must(t, err)
			if got, err := l.Load(ctx); !errors.Is(err, fsstore.ErrUnencrypted) {
				t.Errorf("Locked.Load: %q, %v; want ErrUnencrypted", got.Data, err)
			}
			l.Unlock()
			// Range ends at an encrypted record, which this store cannot
			// read (ErrKeysRequired): without it, the forged record is
			// the one Range meets, in whatever order it lists them.
			must(t, keyed.Delete(ctx, id))
			keyless.Range(ctx, func(r *fsstore.Record) bool {
				if r.IsFor(forged) {
					t.Errorf("Range served %q", r.Data)
				}
				return true
			})
		})
	}
}

// TestLaggingHostLeavesNewKeySessionsAlone: during a rotation that skipped
// its first step (or a host that has not got the keys file yet), host A
// seals sessions under key 2 that host B, with key 1 only, cannot read. B
// must not break them: every way B has at the record fails with
// ErrUnknownKey and leaves it as A wrote it, so that once B gets key 2 the
// session is there (httpsession and the adapters start B's user afresh
// under a new ID meanwhile, see docs/security.md).
func TestLaggingHostLeavesNewKeySessionsAlone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	b := openDir(t, dir, fsstore.WithKeys(k1))
	a := openDir(t, dir, fsstore.WithKeys(k2, k1))
	id := newID(t)
	must(t, a.Save(ctx, &fsstore.Session{ID: id, Data: []byte("sealed under key 2")}))
	for name, op := range map[string]func() error{
		"Load":  func() error { _, err := b.Load(ctx, id); return err },
		"Touch": func() error { return b.Touch(ctx, id) },
		"CompareAndSwap": func() error {
			return b.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("B's fresh session")})
		},
		"Locked.Load": func() error {
			l, err := b.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			_, err = l.Load(ctx)
			return err
		},
		"Rekey": func() error {
			var first error
			st, err := b.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) {
				if first == nil {
					first = err
				}
			}})
			if err == nil && st.Rekeyed != 0 {
				err = fmt.Errorf("rekeyed %d records", st.Rekeyed)
			}
			if err != nil {
				return err
			}
			return first
		},
	} {
		if err := op(); !errors.Is(err, fsstore.ErrUnknownKey) {
			t.Errorf("B's %s of A's session: %v, want ErrUnknownKey", name, err)
		}
	}
	if got, err := a.Load(ctx, id); err != nil || string(got.Data) != "sealed under key 2" {
		t.Fatalf("A's session after B's attempts: %v", err)
	}
}

// TestPlaintextMigrationWarnsAtOpen: an application host opened
// WithPlaintextMigration says so, once, at Open: left on after the
// migration, the option loads the sessions that anyone who can write the
// directory forges in clear text, and nothing said so; a read-only store
// loads them too. A maintenance store (sessgc rekey --migrate-plaintext)
// and a host without the option do not warn.
func TestPlaintextMigrationWarnsAtOpen(t *testing.T) {
	dir := t.TempDir()
	k := mustKey(t, 1)
	for _, tc := range []struct {
		name string
		opts []fsstore.Option
		want bool
	}{
		{"application host", []fsstore.Option{fsstore.WithKeys(k), fsstore.WithPlaintextMigration()}, true},
		{"without the option", []fsstore.Option{fsstore.WithKeys(k)}, false},
		{"maintenance", []fsstore.Option{fsstore.WithKeys(k), fsstore.WithPlaintextMigration(), fsstore.WithMaintenanceOnly()}, false},
		// It writes nothing, but loads what anyone forged all the same.
		{"read-only", []fsstore.Option{fsstore.WithKeys(k), fsstore.WithPlaintextMigration(), fsstore.WithReadOnly()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			opts := append(tc.opts, fsstore.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
			s, err := fsstore.Open(dir, opts...)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if got := strings.Count(buf.String(), "WithPlaintextMigration is on"); got != map[bool]int{true: 1}[tc.want] {
				t.Errorf("%d warnings of the migration option, want it %v; log:\n%s", got, tc.want, buf.String())
			}
		})
	}
}
