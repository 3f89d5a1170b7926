package fsstore_test

// Key handling at the edges: the keys directory replaced, a keys file
// behind a symlink, errors naming the file, two hosts adding a key at
// once, downgrade attempts on every read path.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/forge"
)

// waitReloadOK waits up to d for a successful keys reload, skipping failed
// ones (the intermediate states of a change), and reports whether one came.
func waitReloadOK(t *testing.T, ev reloadEvents, d time.Duration) bool {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e := <-ev:
			if e.Outcome == fsstore.OutcomeOK {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// The keys file's directory is removed and created again (rm -rf + mkdir by
// configuration management; systemd's RuntimeDirectory= of a key-fetching
// unit that restarts; a tmpfs remounted), or moved away and replaced, or
// the path goes through a Kubernetes secret volume's ..data symlink, whose
// target directory is swapped and deleted at each update. The watch on the
// old directory ends with it: the host must still pick up the keys file
// now under that path, not keep its old key set for good with no error.
func TestKeysDirRecreated(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup writes the first keys file and returns the path to open;
		// replace makes the directory anew with text in it.
		setup   func(t *testing.T, root, text string) string
		replace func(t *testing.T, root, text string, gen int)
	}{
		{
			name: "rm -rf and mkdir",
			setup: func(t *testing.T, root, text string) string {
				mustWrite(t, filepath.Join(root, "sessfs", "keys"), text)
				return filepath.Join(root, "sessfs", "keys")
			},
			replace: func(t *testing.T, root, text string, _ int) {
				must(t, os.RemoveAll(filepath.Join(root, "sessfs")))
				mustWrite(t, filepath.Join(root, "sessfs", "keys"), text)
			},
		},
		{
			name: "mv away and mkdir",
			setup: func(t *testing.T, root, text string) string {
				mustWrite(t, filepath.Join(root, "sessfs", "keys"), text)
				return filepath.Join(root, "sessfs", "keys")
			},
			replace: func(t *testing.T, root, text string, gen int) {
				must(t, os.Rename(filepath.Join(root, "sessfs"), filepath.Join(root, fmt.Sprintf("sessfs.old%d", gen))))
				mustWrite(t, filepath.Join(root, "sessfs", "keys"), text)
			},
		},
		{
			name: "path through ..data",
			setup: func(t *testing.T, root, text string) string {
				mustWrite(t, filepath.Join(root, "..v1", "keys"), text)
				must(t, os.Symlink("..v1", filepath.Join(root, "..data")))
				return filepath.Join(root, "..data", "keys")
			},
			replace: func(t *testing.T, root, text string, gen int) {
				v := fmt.Sprintf("..v%d", gen+1)
				mustWrite(t, filepath.Join(root, v, "keys"), text)
				must(t, os.Symlink(v, filepath.Join(root, "..data_tmp")))
				must(t, os.Rename(filepath.Join(root, "..data_tmp"), filepath.Join(root, "..data")))
				must(t, os.RemoveAll(filepath.Join(root, fmt.Sprintf("..v%d", gen))))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A store and a keys directory of its own, each case
			// waiting for its watcher's reloads: side by side.
			t.Parallel()
			dir, root := t.TempDir(), t.TempDir()
			k1 := mustKey(t, 1)
			keysPath := tc.setup(t, root, keysFileText(k1))
			ev := make(reloadEvents, 64)
			// The timed read off: the watch alone applies the changes,
			// which then have a minute, not a 10 s bound that raced
			// both the timed read and a loaded machine.
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev), fsstore.WithKeysPollForTest(time.Hour))
			must(t, err)
			defer s.Close()
			// Two rotations: the second shows whether the watch survived the first.
			for gen := 1; gen <= 2; gen++ {
				k := mustKey(t, uint32(gen+1))
				tc.replace(t, root, keysFileText(k, k1), gen)
				if !waitReloadOK(t, ev, time.Minute) {
					t.Fatalf("update %d: the keys file now at the path was never applied: the watch ended with the old directory", gen)
				}
				mustSealWith(t, s, dir, k)
			}
		})
	}
}

// The keys file is a symlink into another directory (/etc/sessfs/keys ->
// /run/secrets/sessfs/keys, a vault agent's or a secrets manager's output),
// and the target is replaced atomically there. The change must be applied.
func TestKeysSymlinkToOtherDir(t *testing.T) {
	dir := t.TempDir()
	linkDir, targetDir := t.TempDir(), t.TempDir()
	target := filepath.Join(targetDir, "keys")
	keysPath := filepath.Join(linkDir, "keys")
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	writeFile0600(t, target, keysFileText(k1))
	must(t, os.Symlink(target, keysPath))
	ev := make(reloadEvents, 64)
	// The timed read off, as in TestKeysDirRecreated.
	s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev), fsstore.WithKeysPollForTest(time.Hour))
	must(t, err)
	defer s.Close()

	// Two updates: the first may be read by the watcher's first look at
	// the file; the second shows whether it watches the target.
	for gen, k := range []fsstore.Key{k2, mustKey(t, 3)} {
		renameOver(t, target, keysFileText(k, k1))
		if !waitReloadOK(t, ev, time.Minute) {
			t.Fatalf("update %d: keys file is a symlink to another directory: replacing its target was never applied", gen+1)
		}
		mustSealWith(t, s, dir, k)
	}
}

// A keys file that does not parse makes Open fail: the error must name the
// file, so that an operator with several keys files (app, sessgc, a
// staging copy) knows which one to fix.
func TestKeysParseErrorNamesFile(t *testing.T) {
	k := mustKey(t, 1)
	for _, tc := range []struct{ name, text string }{
		{"bad base64", "1 !!!notbase64!!!\n"},
		{"short secret", "1 AAAA\n"},
		{"duplicate ID", keysFileText(k, k)},
		{"empty", "# only a comment\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app-keys")
			writeFile0600(t, path, tc.text)
			s, err := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(path))
			if err == nil {
				s.Close()
				t.Fatal("Open with a bad keys file succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("Open error does not name the keys file %s: %v", path, err)
			}
		})
	}
}

// Two hosts adding the same new key ID with different secrets (two keys
// files that disagree) race to create .keycheck-N: exactly one key wins,
// the other Open fails with "wrong key", never both succeed.
func TestKeyCheckCreateRace(t *testing.T) {
	for i := 0; i < 20; i++ {
		dir := t.TempDir()
		boot, err := fsstore.Open(dir)
		must(t, err)
		boot.Close()
		a, b := mustKey(t, 7), mustKey(t, 7)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, k := range []fsstore.Key{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := fsstore.Open(dir, fsstore.WithKeys(k))
				if err == nil {
					s.Close()
				}
				errs[j] = err
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("race %d: want exactly one Open to win, got %v / %v", i, errs[0], errs[1])
		}
		for _, err := range errs {
			if err != nil && !strings.Contains(err.Error(), "wrong key") {
				t.Fatalf("race %d: loser's error does not say wrong key: %v", i, err)
			}
		}
	}
}

// Downgrade attempts by a writer of the mount without the keys, against a
// cached, keys-file store, through every read path: a cleartext record
// (written in place over a cached session: same inode), a record flagged
// encrypted under a configured key ID with the writer's own bytes, and one
// under an unknown key ID. None may be served as data.
func TestDowngradeEveryReadPath(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keysPath := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, keysPath, keysFileText(mustKey(t, 1)))
	s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithCache(100, 1<<20))
	must(t, err)
	defer s.Close()
	for _, tc := range []struct {
		name  string
		edit  func(b []byte) // of a plaintext forged record
		inPlc bool
	}{
		{name: "cleartext in place", inPlc: true},
		{name: "cleartext renamed in"},
		{name: "flag encrypted, key 1, attacker bytes", edit: func(b []byte) {
			b[6] |= 1
			b[44] = 1
			forge.Rechecksum(b)
		}},
		{name: "flag encrypted, unknown key 9", edit: func(b []byte) {
			b[6] |= 1
			b[44] = 9
			forge.Rechecksum(b)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(`{"user":"alice"}`)}))
			if _, err := s.Load(ctx, id); err != nil { // cached now
				t.Fatal(err)
			}
			b := forge.Record{ID: id, Payload: []byte(`{"user":"admin","pad":"..................................................."}`), Version: 9}.Encode()
			if tc.edit != nil {
				tc.edit(b)
			}
			p := forge.Path(dir, id, 1)
			if tc.inPlc {
				f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
				must(t, err)
				_, err = f.Write(b)
				must(t, err)
				f.Close()
			} else {
				must(t, os.WriteFile(p+".x", b, 0o600))
				must(t, os.Rename(p+".x", p))
			}
			if got, err := s.Load(ctx, id); err == nil {
				t.Errorf("Load served %q", got.Data)
			}
			if got, err := s.LoadInto(ctx, id, make([]byte, 0, 4096)); err == nil {
				t.Errorf("LoadInto served %q", got.Data)
			}
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			must(t, err)
			if got, err := l.Load(ctx); err == nil {
				t.Errorf("Locked.Load served %q", got.Data)
			}
			l.Unlock()
			s.Range(ctx, func(r *fsstore.Record) bool {
				if r.IsFor(id) {
					t.Errorf("Range served %q", r.Data)
				}
				return true
			})
			must(t, os.Remove(p))
		})
	}
}

// Out-of-order rotation: the operator runs sessgc rekey with the new key
// first before any application host has it. Rewriting every live record
// under that key would log every user out, fleet-wide, at once: as with
// ErrNotEncrypted ("a maintenance open does not mark it"), a maintenance
// open writes no key check file, and Rekey refuses a newest key whose check
// file no application host has written (ErrKeyNotDeployed).
func TestRekeyBeforeAnyHostHasNewKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	app, err := fsstore.Open(dir, fsstore.WithKeys(k1)) // every host: [1]
	must(t, err)
	defer app.Close()
	id := newID(t)
	must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("user 42")}))

	// sessgc rekey --keys-file [2,1], as pass.OpenStore opens it.
	gc, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k2, k1))
	must(t, err)
	st, rerr := gc.Rekey(ctx, fsstore.RekeyOptions{})
	gc.Close()
	if !errors.Is(rerr, fsstore.ErrKeyNotDeployed) || st.Rekeyed != 0 {
		t.Errorf("rekey to a key no application host has: %+v, %v; want ErrKeyNotDeployed, nothing rewritten", st, rerr)
	}
	if _, err := app.Load(ctx, id); err != nil {
		t.Fatalf("after a rekey to a key no application host has, the hosts lose every session: %v", err)
	}
}

// A maintenance store (sessgc) never vouches that the hosts have a key:
// not when it is opened WithPlaintextMigration (sessgc rekey
// --migrate-plaintext), which used to write the new key's check file and
// skip the check, and not when its keys file is reloaded. Otherwise a
// rekey run before the keys file reached any host rewrites every live
// record under a key no host can read, and leaves a check file behind
// that lets the next rekey through as well.
func TestMaintenanceStoreNeverVouchesForAKey(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	for _, tc := range []struct {
		name string
		// open opens dir as the maintenance tool does, with key set
		// [2, 1], where every application host has [1] only.
		open func(t *testing.T, dir string) *fsstore.Store
	}{
		{
			name: "rekey",
			open: func(t *testing.T, dir string) *fsstore.Store {
				s, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k2, k1), fsstore.WithCreate(false))
				must(t, err)
				return s
			},
		},
		{
			name: "rekey --migrate-plaintext",
			open: func(t *testing.T, dir string) *fsstore.Store {
				s, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k2, k1), fsstore.WithPlaintextMigration(), fsstore.WithCreate(false))
				must(t, err)
				return s
			},
		},
		{
			name: "keys file reloaded",
			open: func(t *testing.T, dir string) *fsstore.Store {
				p := filepath.Join(t.TempDir(), "keys")
				writeFile0600(t, p, keysFileText(k1))
				ev := make(reloadEvents, 16)
				s, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeysFile(p), fsstore.WithObserver(ev), fsstore.WithCreate(false))
				must(t, err)
				renameOver(t, p, keysFileText(k2, k1))
				if !waitReloadOK(t, ev, 30*time.Second) {
					t.Fatal("the maintenance store did not reload its keys file")
				}
				return s
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// Every host: [1], in the middle of a migration to encryption.
			app, err := fsstore.Open(dir, fsstore.WithKeys(k1), fsstore.WithPlaintextMigration())
			must(t, err)
			defer app.Close()
			id := newID(t)
			must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("user 42")}))

			gc := tc.open(t, dir)
			st, rerr := gc.Rekey(ctx, fsstore.RekeyOptions{})
			gc.Close()
			if !errors.Is(rerr, fsstore.ErrKeyNotDeployed) || st.Rekeyed != 0 {
				t.Errorf("rekey to a key no application host has: %+v, %v; want ErrKeyNotDeployed, nothing rewritten", st, rerr)
			}
			if _, err := os.Lstat(filepath.Join(dir, ".keycheck-2")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the maintenance store wrote key 2's check file (%v): a later rekey would take it for a host's", err)
			}
			if _, err := app.Load(ctx, id); err != nil {
				t.Fatalf("the hosts lost a session to the maintenance store: %v", err)
			}
			again, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k2, k1), fsstore.WithCreate(false))
			must(t, err)
			defer again.Close()
			if st, err := again.Rekey(ctx, fsstore.RekeyOptions{}); !errors.Is(err, fsstore.ErrKeyNotDeployed) || st.Rekeyed != 0 {
				t.Errorf("a later rekey: %+v, %v; want ErrKeyNotDeployed, nothing rewritten", st, err)
			}
		})
	}
}

// A maintenance store's keys file is reloaded during a rekey pass with a
// newest key that no host has: the records the pass rewrites after the
// reload must not go under that key, which the pass checked only for the
// key newest when it began.
func TestMaintenanceRekeyKeysReloadedMidPass(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2, k3 := mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)
	app, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	must(t, err)
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = newID(t)
		must(t, app.Save(ctx, &fsstore.Session{ID: ids[i], Data: []byte("user")}))
	}
	app.Close()
	// Every host now has [2, 1]: key 2 is deployed, key 3 nowhere.
	app, err = fsstore.Open(dir, fsstore.WithKeys(k2, k1))
	must(t, err)
	defer app.Close()

	p := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, p, keysFileText(k2, k1))
	ev := make(reloadEvents, 16)
	gc, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeysFile(p), fsstore.WithObserver(ev), fsstore.WithCreate(false))
	must(t, err)
	defer gc.Close()
	var (
		once      sync.Once
		reloadErr error
	)
	gc.SetRekeyListedHookForTest(func(string) {
		once.Do(func() {
			// Not t.Fatal: this runs on the pass's goroutine.
			tmp := p + ".tmp"
			if reloadErr = os.WriteFile(tmp, []byte(keysFileText(k3, k2, k1)), 0o600); reloadErr == nil {
				reloadErr = os.Rename(tmp, p)
			}
			if reloadErr == nil && !waitReloadOK(t, ev, 30*time.Second) {
				reloadErr = errors.New("no keys reload within 30s")
			}
		})
	})
	var notDeployed atomic.Int64
	st, err := gc.Rekey(ctx, fsstore.RekeyOptions{Concurrency: 1, OnError: func(err error) {
		if errors.Is(err, fsstore.ErrKeyNotDeployed) {
			notDeployed.Add(1)
		}
	}})
	must(t, reloadErr)
	if err != nil || st.Rekeyed != 0 || st.Errors != int64(len(ids)) || notDeployed.Load() != int64(len(ids)) {
		t.Errorf("rekey with key 3 made newest mid-pass: %+v, %v, %d ErrKeyNotDeployed; want every record an ErrKeyNotDeployed error, none rewritten", st, err, notDeployed.Load())
	}
	for _, id := range ids {
		if _, err := app.Load(ctx, id); err != nil {
			t.Errorf("the hosts lost session %s to the rekey: %v", id, err)
		}
	}
}

// TestMaintenanceSaveUnderUndeployedKey: a maintenance store's keys prove
// nothing about the application hosts' (see Rekey), so its saves must not
// seal a record under a newest key that none of them has vouched for: the
// hosts could not read it, and its user would be logged out. Once a host
// has opened the store with that key, they go through.
func TestMaintenanceSaveUnderUndeployedKey(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	for _, tc := range []struct {
		name string
		save func(s *fsstore.Store, sess *fsstore.Session) error
	}{
		{"Save", func(s *fsstore.Store, sess *fsstore.Session) error { return s.Save(ctx, sess) }},
		{"CompareAndSwap", func(s *fsstore.Store, sess *fsstore.Session) error { return s.CompareAndSwap(ctx, sess) }},
		{"Locked.Save", func(s *fsstore.Store, sess *fsstore.Session) error {
			l, err := s.Lock(ctx, sess.ID, fsstore.Exclusive)
			if err != nil {
				return err
			}
			defer l.Unlock()
			return l.Save(ctx, sess)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			app, err := fsstore.Open(dir, fsstore.WithKeys(k1)) // every host: [1]
			must(t, err)
			defer app.Close()
			id := newID(t)
			must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("user 42")}))
			cur, err := app.Load(ctx, id)
			must(t, err)

			gc, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k2, k1), fsstore.WithCreate(false))
			must(t, err)
			defer gc.Close()
			sess := &fsstore.Session{ID: id, Data: []byte("user 42, changed"), Version: cur.Version}
			if err := tc.save(gc, sess); !errors.Is(err, fsstore.ErrKeyNotDeployed) {
				t.Fatalf("save under key 2, which no host has: %v; want ErrKeyNotDeployed", err)
			}
			if got, err := app.Load(ctx, id); err != nil || string(got.Data) != "user 42" {
				t.Fatalf("the hosts' session after the refused save: %v", err)
			}

			deployed, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1)) // a host with [2, 1]
			must(t, err)
			defer deployed.Close()
			must(t, tc.save(gc, sess))
			if got, err := deployed.Load(ctx, id); err != nil || string(got.Data) != "user 42, changed" {
				t.Fatalf("a host with key 2 reading the maintenance store's save: %v", err)
			}
		})
	}
}

// TestMaintenanceSaveKeysReloadedMidSave: a maintenance store's save
// checks that its newest key is deployed, then (raising the marker for a
// long idle timeout) goes to the file system before it seals. A keys file
// reloaded in between, with a newest key no host has, must not be what
// the record is sealed with: one key set for the whole save.
func TestMaintenanceSaveKeysReloadedMidSave(t *testing.T) {
	ctx := context.Background()
	k1, k3 := mustKey(t, 1), mustKey(t, 3)
	dir := t.TempDir()
	app, err := fsstore.Open(dir, fsstore.WithKeys(k1)) // every host: [1]
	must(t, err)
	defer app.Close()

	keysPath := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, keysPath, keysFileText(k1))
	ev := make(reloadEvents, 16)
	var armed atomic.Bool
	reloaded := make(chan error, 1)
	hook := func(site string) {
		if site == "save" || site == "keys" || !armed.CompareAndSwap(true, false) {
			return
		}
		// Past the deployed check: the operator's keys file moves on.
		if err := os.WriteFile(keysPath+".new", []byte(keysFileText(k3, k1)), 0o600); err != nil {
			reloaded <- err
			return
		}
		if err := os.Rename(keysPath+".new", keysPath); err != nil {
			reloaded <- err
			return
		}
		if !waitReloadOK(t, ev, 30*time.Second) {
			reloaded <- errors.New("the keys file [3,1] was not reloaded")
			return
		}
		reloaded <- nil
	}
	gc, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeysFile(keysPath),
		fsstore.WithObserver(ev), fsstore.WithCreate(false), fsstore.WithTestFSForTest(hook))
	must(t, err)
	defer gc.Close()

	id := newID(t)
	armed.Store(true)
	// An idle timeout past the marker's: the save raises it first.
	must(t, gc.Save(ctx, &fsstore.Session{ID: id, Data: []byte("user 42"), Idle: 300 * 24 * time.Hour}))
	select {
	case err := <-reloaded:
		must(t, err)
	default:
		t.Fatal("the save went to the file system nowhere after its checks; the test proves nothing")
	}
	if got, err := app.Load(ctx, id); err != nil || string(got.Data) != "user 42" {
		t.Fatalf("a host with key 1 reading the maintenance store's save: %v", err)
	}
}

// A rekey whose key set is older than the hosts' (sessgc's host still has
// the first step of a rotation, [1, 2], where the hosts have moved on to
// [2, 1]) must not undo the rotation by rewriting the records that the
// hosts sealed under key 2 back under key 1: the operator then retires key
// 1 and logs their users out. The order the hosts recorded as each key
// became newest tells (TestRekeyFollowsTheOrderKeysBecameNewest covers a
// store without it). A rekey with the hosts' key set still rewrites
// forward.
func TestRekeyNeverRollsBackARotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	app1 := openDir(t, dir, fsstore.WithKeys(k1)) // every host: [1]
	old := newID(t)
	must(t, app1.Save(ctx, &fsstore.Session{ID: old, Data: []byte("sealed under key 1")}))
	// Key 1 was deployed an hour before key 2.
	hourAgo := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(filepath.Join(dir, ".keycheck-1"), hourAgo, hourAgo))
	app2 := openDir(t, dir, fsstore.WithKeys(k2, k1)) // the hosts now: [2, 1]
	fresh := newID(t)
	must(t, app2.Save(ctx, &fsstore.Session{ID: fresh, Data: []byte("sealed under key 2")}))
	only2 := openDir(t, dir, fsstore.WithKeys(k2)) // after key 1 is retired

	stale := openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k1, k2))
	var rollback atomic.Int64
	st, err := stale.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) {
		if errors.Is(err, fsstore.ErrKeyRollback) {
			rollback.Add(1)
		}
	}})
	if err != nil || st.Rekeyed != 0 || st.Errors != 1 || rollback.Load() != 1 {
		t.Errorf("rekey with the stale key set [1, 2]: %+v, %v, %d ErrKeyRollback; want the key 2 record an ErrKeyRollback error, nothing rewritten", st, err, rollback.Load())
	}
	if got, err := only2.Load(ctx, fresh); err != nil || string(got.Data) != "sealed under key 2" {
		t.Fatalf("the stale rekey moved a session off key 2: once key 1 is retired, %v", err)
	}

	current := openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k2, k1))
	if st, err := current.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 1 || st.Errors != 0 {
		t.Fatalf("rekey with the hosts' key set [2, 1]: %+v, %v; want the key 1 record rewritten", st, err)
	}
	if _, err := only2.Load(ctx, old); err != nil {
		t.Fatalf("after the rekey forward: %v", err)
	}
}

// The rekey guard judges by the order in which keys became the newest key
// of an application host's key set, which the hosts record in the store,
// not by when each key's check file was written: a key installed as a
// standby long before it was made newest, and a check file re-created or
// whose times a copy of the store reset, neither stop a rotation going
// forward nor let a stale key set move it back. A store without that
// record (written by older versions) is judged by the check files.
func TestRekeyFollowsTheOrderKeysBecameNewest(t *testing.T) {
	k1, k2, k3 := mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)
	ago := func(t *testing.T, dir string, id int, d time.Duration) {
		t.Helper()
		at := time.Now().Add(-d)
		must(t, os.Chtimes(filepath.Join(dir, fmt.Sprintf(".keycheck-%d", id)), at, at))
	}
	// save opens an application host with keys, saves one session under
	// its newest key and closes it.
	save := func(t *testing.T, dir string, keys ...fsstore.Key) string {
		t.Helper()
		s, err := fsstore.Open(dir, fsstore.WithKeys(keys...))
		must(t, err)
		defer s.Close()
		id := newID(t)
		must(t, s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("under key " + fmt.Sprint(keys[0].ID))}))
		return id
	}
	// deploy opens an application host with keys and closes it.
	deploy := func(t *testing.T, dir string, keys ...fsstore.Key) {
		t.Helper()
		s, err := fsstore.Open(dir, fsstore.WithKeys(keys...))
		must(t, err)
		must(t, s.Close())
	}
	dropOrder := func(t *testing.T, dir string) {
		t.Helper()
		for _, pat := range []string{".keynewest-*", ".keyorder-*"} {
			m, err := filepath.Glob(filepath.Join(dir, pat))
			must(t, err)
			for _, p := range m {
				must(t, os.Remove(p))
			}
		}
	}
	// A host lagging on [1, 2] opens after key 1's record was damaged,
	// once the hosts made key 2 newest after key 1.
	oldRecordDamagedLaggingHost := func(t *testing.T, dir string) {
		save(t, dir, k1)
		ago(t, dir, 1, time.Hour)
		save(t, dir, k2, k1)
		must(t, os.WriteFile(filepath.Join(dir, ".keynewest-1"), []byte("damaged"), 0o600))
		deploy(t, dir, k1, k2)
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		rekey []fsstore.Key
		// rolledBack: the record is refused as ErrKeyRollback; otherwise
		// rewritten.
		rolledBack bool
	}{{
		// [1, 3], then a rotation to 2 ([2, 3]), then 3 made newest.
		name: "standby key made newest after the key it replaces",
		setup: func(t *testing.T, dir string) {
			deploy(t, dir, k1, k3)
			ago(t, dir, 1, 2*time.Hour)
			ago(t, dir, 3, 2*time.Hour)
			save(t, dir, k2, k3)
			save(t, dir, k3, k2)
		},
		rekey: []fsstore.Key{k3, k2},
	}, {
		name: "check file of the old key re-created",
		setup: func(t *testing.T, dir string) {
			save(t, dir, k1)
			save(t, dir, k2, k1)
			ago(t, dir, 2, time.Hour)
			must(t, os.Remove(filepath.Join(dir, ".keycheck-1")))
			save(t, dir, k2, k1) // writes it again, now
		},
		rekey: []fsstore.Key{k2, k1},
	}, {
		name: "stale key set",
		setup: func(t *testing.T, dir string) {
			save(t, dir, k1)
			ago(t, dir, 1, time.Hour)
			save(t, dir, k2, k1)
		},
		rekey:      []fsstore.Key{k1, k2},
		rolledBack: true,
	}, {
		// A copy of the store that reset the files' times, or a check
		// file re-created, makes the new key's look older.
		name: "stale key set, the new key's check file older",
		setup: func(t *testing.T, dir string) {
			save(t, dir, k1)
			save(t, dir, k2, k1)
			ago(t, dir, 2, time.Hour)
		},
		rekey:      []fsstore.Key{k1, k2},
		rolledBack: true,
	}, {
		// A host lagging on [1, 2] opens after key 1's record was
		// damaged: it must not give key 1 a fresh number, larger than
		// key 2's, which would make the hosts' set look stale.
		name:  "old key's record damaged, a lagging host opened since",
		setup: oldRecordDamagedLaggingHost,
		rekey: []fsstore.Key{k2, k1},
	}, {
		name:       "stale key set, old key's record damaged, a lagging host opened since",
		setup:      oldRecordDamagedLaggingHost,
		rekey:      []fsstore.Key{k1, k2},
		rolledBack: true,
	}, {
		name: "stale key set, store without the order record",
		setup: func(t *testing.T, dir string) {
			save(t, dir, k1)
			ago(t, dir, 1, time.Hour)
			save(t, dir, k2, k1)
			dropOrder(t, dir)
		},
		rekey:      []fsstore.Key{k1, k2},
		rolledBack: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			gc := openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(tc.rekey...))
			var rollback atomic.Int64
			var last error
			st, err := gc.Rekey(context.Background(), fsstore.RekeyOptions{OnError: func(err error) {
				last = err
				if errors.Is(err, fsstore.ErrKeyRollback) {
					rollback.Add(1)
				}
			}})
			must(t, err)
			// Every record but the newest key's own is to be judged: one
			// under the set's other key (records under a key outside the
			// set are errors of their own, and no case makes one).
			if tc.rolledBack {
				if st.Rekeyed != 0 || rollback.Load() == 0 || st.Errors != rollback.Load() {
					t.Errorf("rekey with %v: %+v, %d ErrKeyRollback (last error %v); want every record not under key %d refused as a rollback", keyIDs(tc.rekey), st, rollback.Load(), last, tc.rekey[0].ID)
				}
				return
			}
			if st.Errors != 0 || st.Rekeyed == 0 {
				t.Errorf("rekey with %v: %+v (last error %v); want the records rewritten forward, no errors", keyIDs(tc.rekey), st, last)
			}
		})
	}
}

func keyIDs(keys []fsstore.Key) []uint32 {
	ids := make([]uint32, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids
}

// A host that rotates by reloading its keys file records the order as one
// that restarts does: the standby key made newest after the key it
// replaces is rewritten forward by a rekey with the hosts' key set, and a
// rekey with the set before that last step is refused.
func TestRekeyOrderRecordedByReloads(t *testing.T) {
	ctx := context.Background()
	k1, k2, k3 := mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)
	dir := t.TempDir()
	keysPath := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, keysPath, keysFileText(k1, k3))
	ev := make(reloadEvents, 16)
	app := openDir(t, dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev))
	// Key 3, the standby, reached the hosts long before key 2.
	at := time.Now().Add(-2 * time.Hour)
	must(t, os.Chtimes(filepath.Join(dir, ".keycheck-3"), at, at))
	for _, step := range [][]fsstore.Key{{k2, k3}, {k3, k2}} {
		must(t, os.WriteFile(keysPath+".new", []byte(keysFileText(step...)), 0o600))
		must(t, os.Rename(keysPath+".new", keysPath))
		if !waitReloadOK(t, ev, 30*time.Second) {
			t.Fatalf("the keys file %v was not reloaded", keyIDs(step))
		}
		// One session sealed under each newest key.
		must(t, app.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte(fmt.Sprint("under key ", step[0].ID))}))
	}
	stale := openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k2, k3))
	var rollback atomic.Int64
	st, err := stale.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) {
		if errors.Is(err, fsstore.ErrKeyRollback) {
			rollback.Add(1)
		}
	}})
	if err != nil || st.Rekeyed != 0 || st.Errors != 1 || rollback.Load() != 1 {
		t.Errorf("rekey with the key set before the last step, [2, 3]: %+v, %v, %d ErrKeyRollback; want the record under key 3 refused as a rollback", st, err, rollback.Load())
	}
	current := openDir(t, dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k3, k2))
	if st, err := current.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed != 1 || st.Errors != 0 {
		t.Errorf("rekey with the hosts' key set [3, 2]: %+v, %v; want the record under key 2 rewritten", st, err)
	}
}

// The record of when a key became newest is advisory (the rekey guard
// falls back to the check files without it), so failing to write it fails
// no Open and no keys reload: something planted at the newest key's record
// that no rename replaces (a directory) is logged, and the store serves.
func TestKeyOrderRecordFailureFailsNoOpen(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	must(t, openDir(t, dir).Close())
	must(t, os.Mkdir(filepath.Join(dir, ".keynewest-1"), 0o700))
	must(t, os.Mkdir(filepath.Join(dir, ".keynewest-2"), 0o700))
	var logs syncBuffer
	keysPath := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, keysPath, keysFileText(k1))
	ev := make(reloadEvents, 16)
	app, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatalf("Open with a directory at the newest key's record: %v", err)
	}
	defer app.Close()
	if !strings.Contains(logs.String(), ".keynewest-1") {
		t.Errorf("the record not written is not logged: %q", logs.String())
	}
	must(t, os.WriteFile(keysPath+".new", []byte(keysFileText(k2, k1)), 0o600))
	must(t, os.Rename(keysPath+".new", keysPath))
	if !waitReloadOK(t, ev, 30*time.Second) {
		t.Fatalf("the keys file [2, 1] was not reloaded with a directory at key 2's record: %s", logs.String())
	}
	must(t, app.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("under key 2")}))
}

// TestKeysSecretVolumeUpdates plays a Kubernetes Secret volume's updates
// as the kubelet makes them, on the layout it makes: keys -> ..data/keys in
// a sticky volume root, ..data -> a timestamped directory, swapped to a
// new one at each update and the old one removed right after. Every step
// of a rotation (the new key added, made newest, the old one retired) is
// applied by the change notifications alone, with the timed read
// switched off, each once; the old directory's removal, mid-reload or
// after, neither fails a reload nor ends the watch.
func TestKeysSecretVolumeUpdates(t *testing.T) {
	dir, vol := t.TempDir(), t.TempDir()
	must(t, os.Chmod(vol, 0o777|os.ModeSticky))
	ts := func(n int) string { return fmt.Sprintf("..2026_12_06_04_00_%02d.%d", n, 1000+n) }
	k1, k2, k3 := mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)
	mustWrite(t, filepath.Join(vol, ts(0), "keys"), keysFileText(k1))
	symlinkOrSkip(t, ts(0), filepath.Join(vol, "..data"))
	must(t, os.Symlink(filepath.Join("..data", "keys"), filepath.Join(vol, "keys")))
	ev, logs := make(reloadEvents, 64), &syncBuffer{}
	s, err := fsstore.Open(dir, fsstore.WithKeysFile(filepath.Join(vol, "keys")), fsstore.WithObserver(ev),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(logs, nil))), fsstore.WithKeysPollForTest(time.Hour))
	must(t, err)
	defer s.Close()
	steps := []struct {
		keys   []fsstore.Key
		newest fsstore.Key
	}{
		{[]fsstore.Key{k1, k2}, k1},
		{[]fsstore.Key{k2, k1}, k2},
		{[]fsstore.Key{k2}, k2},
		{[]fsstore.Key{k2, k3}, k2},
		{[]fsstore.Key{k3, k2}, k3},
	}
	for n, st := range steps {
		n++
		mustWrite(t, filepath.Join(vol, ts(n), "keys"), keysFileText(st.keys...))
		must(t, os.Symlink(ts(n), filepath.Join(vol, "..data_tmp")))
		must(t, os.Rename(filepath.Join(vol, "..data_tmp"), filepath.Join(vol, "..data")))
		must(t, os.RemoveAll(filepath.Join(vol, ts(n-1))))
		if !waitReloadOK(t, ev, time.Minute) {
			t.Fatalf("update %d: not applied without the timed read; log:\n%s", n, logs.String())
		}
		if newest, ids := s.KeysInUseForTest(); newest != st.newest.ID || len(ids) != len(st.keys) {
			t.Fatalf("update %d: keys in use: newest %d of %v, want %v", n, newest, ids, keyIDs(st.keys))
		}
		mustSealWith(t, s, dir, st.newest)
	}
	if got := strings.Count(logs.String(), "keys file reloaded"); got != len(steps) || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("%d updates logged %d reloads (want one each), or an error:\n%s", len(steps), got, logs.String())
	}
}
