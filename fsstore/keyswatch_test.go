package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// reloadEvents is an Observer that passes OpKeysReload events to a channel.
type reloadEvents chan fsstore.Event

func (c reloadEvents) Observe(e fsstore.Event) {
	if e.Op == fsstore.OpKeysReload {
		c <- e
	}
}

// waitReload waits for the next keys reload event and returns its outcome.
// The deadline only bounds a broken watcher; a working one answers at once.
func waitReload(t *testing.T, ev reloadEvents) fsstore.Outcome {
	t.Helper()
	select {
	case e := <-ev:
		return e.Outcome
	case <-time.After(30 * time.Second):
		t.Fatal("no keys reload event within 30s of changing the keys file")
		return 0
	}
}

func keysFileText(keys ...fsstore.Key) string {
	var b strings.Builder
	b.WriteString("# newest first\n")
	for _, k := range keys {
		fmt.Fprintln(&b, k.SecretLine())
	}
	return b.String()
}

// The ways operators and tools replace a keys file.
var keysWriters = []struct {
	name string
	// setup prepares the keys file at path with its first content.
	setup func(t *testing.T, path, text string)
	// replace changes it.
	replace func(t *testing.T, path, text string)
	// inPlace writers can be seen half-written; the watcher must skip
	// such a state and apply the complete file.
	inPlace bool
}{
	{
		name:    "rename over (atomic writer)",
		setup:   writeFile0600,
		replace: renameOver,
	},
	{
		name:    "rewrite in place",
		setup:   writeFile0600,
		replace: writeFile0600,
		inPlace: true,
	},
	{
		// vim's and Emacs's default write: the file renamed to a backup,
		// a new file of its mode created empty and written, the backup
		// removed; the watcher sees the name missing, then empty.
		name:  "backup and write (vim, Emacs)",
		setup: writeFile0600,
		replace: func(t *testing.T, path, text string) {
			must(t, os.Rename(path, path+"~"))
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			must(t, err)
			half := len(text) / 2
			_, err = f.WriteString(text[:half])
			must(t, err)
			_, err = f.WriteString(text[half:])
			must(t, err)
			must(t, f.Close())
			must(t, os.Remove(path+"~"))
		},
		inPlace: true,
	},
	{
		// Removed, then written again in place (rm; cat > keys).
		name:  "delete and re-create",
		setup: writeFile0600,
		replace: func(t *testing.T, path, text string) {
			must(t, os.Remove(path))
			writeFile0600(t, path, text)
		},
		inPlace: true,
	},
	{
		// Kubernetes secret volumes: keys -> ..data/keys, and ..data is a
		// symlink swapped to a new directory.
		name: "symlink swap",
		setup: func(t *testing.T, path, text string) {
			dir := filepath.Dir(path)
			mustWrite(t, filepath.Join(dir, "..v1", "keys"), text)
			must(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
			must(t, os.Symlink(filepath.Join("..data", "keys"), path))
		},
		replace: func(t *testing.T, path, text string) {
			// As the kubelet does: a new directory for each version, the
			// old one removed once ..data no longer names it.
			dir := filepath.Dir(path)
			old, err := os.Readlink(filepath.Join(dir, "..data"))
			must(t, err)
			v, err := os.MkdirTemp(dir, "..v")
			must(t, err)
			mustWrite(t, filepath.Join(v, "keys"), text)
			must(t, os.Symlink(filepath.Base(v), filepath.Join(dir, "..data_tmp")))
			must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
			must(t, os.RemoveAll(filepath.Join(dir, old)))
		},
	},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, text string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o700))
	writeFile0600(t, path, text)
}

func writeFile0600(t *testing.T, path, text string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(text), 0o600))
}

func renameOver(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile0600(t, tmp, text)
	must(t, os.Rename(tmp, path))
}

// TestKeysFileReload rotates a keys file on disk, the way each writer does
// it, and checks that the open store seals new writes with the new key
// without a restart, still reads what the old key sealed, and that a bad
// file leaves the keys in use unchanged.
func TestKeysFileReload(t *testing.T) {
	for _, w := range keysWriters {
		t.Run(w.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			keysPath := filepath.Join(t.TempDir(), "keys")
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			w.setup(t, keysPath, keysFileText(k1))

			ev := make(reloadEvents, 64)
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev))
			must(t, err)
			defer s.Close()
			// Readers that hold only one of the keys tell which key a record
			// was sealed with.
			only1, err := fsstore.Open(dir, fsstore.WithKeys(k1))
			must(t, err)
			defer only1.Close()
			only2, err := fsstore.Open(dir, fsstore.WithKeys(k2))
			must(t, err)
			defer only2.Close()

			old := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: old, Data: []byte("sealed with key 1")}))
			if _, err := only1.Load(ctx, old); err != nil {
				t.Fatalf("record saved before rotation: key 1 cannot read it: %v", err)
			}

			// Rotation: the new key first, the old one kept for reading.
			w.replace(t, keysPath, keysFileText(k2, k1))
			for out := waitReload(t, ev); out != fsstore.OutcomeOK; out = waitReload(t, ev) {
				if !w.inPlace {
					t.Fatalf("reload after an atomic replace: outcome %v", out)
				}
			}
			fresh := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: fresh, Data: []byte("sealed with key 2")}))
			if _, err := only2.Load(ctx, fresh); err != nil {
				t.Fatalf("record saved after rotation: key 2 cannot read it: %v", err)
			}
			if _, err := only1.Load(ctx, fresh); !errors.Is(err, fsstore.ErrUnknownKey) {
				t.Fatalf("record saved after rotation: reader with key 1 only: err = %v, want ErrUnknownKey", err)
			}
			if got, err := s.Load(ctx, old); err != nil || string(got.Data) != "sealed with key 1" {
				t.Fatalf("record sealed with the old key after rotation: %v", err)
			}

			// Bad files keep the keys in use: garbage, a known key ID
			// with a different secret (caught by the store's key check),
			// and a new ID given an old key's secret.
			k2other := mustKey(t, 2)
			k3copy := fsstore.Key{ID: 3, Secret: k1.Secret}
			for _, bad := range []string{"not a key file\n", keysFileText(k2other, k1), keysFileText(k2, k1, k3copy)} {
				w.replace(t, keysPath, bad)
				for out := waitReload(t, ev); out == fsstore.OutcomeOK; out = waitReload(t, ev) {
					t.Fatalf("bad keys file applied")
				}
				id := newID(t)
				must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
				if _, err := only2.Load(ctx, id); err != nil {
					t.Fatalf("after a bad keys file the store no longer seals with key 2: %v", err)
				}
			}
		})
	}
}

func TestKeysFileOpen(t *testing.T) {
	dir := t.TempDir()
	kdir := t.TempDir()
	k := mustKey(t, 1)
	good := filepath.Join(kdir, "good")
	writeFile0600(t, good, keysFileText(k))
	groupReadable := filepath.Join(kdir, "group")
	writeFile0600(t, groupReadable, keysFileText(k))
	must(t, os.Chmod(groupReadable, 0o640))
	rootGroup := filepath.Join(kdir, "root-group")
	writeFile0600(t, rootGroup, keysFileText(k))
	must(t, os.Chmod(rootGroup, 0o640))
	if os.Geteuid() == 0 {
		// Root's group-readable file is allowed (a Kubernetes secret
		// volume with fsGroup); another user's is not.
		must(t, os.Chown(groupReadable, 65534, 65534))
	}

	for _, tc := range []struct {
		name string
		opts []fsstore.Option
		ok   bool
	}{
		{"good file", []fsstore.Option{fsstore.WithKeysFile(good)}, true},
		{"missing file", []fsstore.Option{fsstore.WithKeysFile(filepath.Join(kdir, "none"))}, false},
		{"group-readable file", []fsstore.Option{fsstore.WithKeysFile(groupReadable)}, false},
		{"root's group-readable file", []fsstore.Option{fsstore.WithKeysFile(rootGroup)}, os.Geteuid() == 0},
		{"with WithKeys too", []fsstore.Option{fsstore.WithKeysFile(good), fsstore.WithKeys(k)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fsstore.Open(dir, tc.opts...)
			if (err == nil) != tc.ok {
				t.Fatalf("Open: err = %v, want ok = %v", err, tc.ok)
			}
			if s != nil {
				must(t, s.Close())
			}
		})
	}
}

// TestCacheCreatesNoShardDirectories: the read cache used to create all 256
// shard directories (errors ignored) to watch them.
func TestCacheCreatesNoShardDirectories(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithCache(16, 1<<20), fsstore.WithShardDepth(1))
	must(t, err)
	defer s.Close()
	ents, err := os.ReadDir(filepath.Join(dir, fsstore.DataDir))
	must(t, err)
	for _, e := range ents {
		if e.IsDir() {
			t.Fatalf("Open with a cache created shard directory %s before any save", e.Name())
		}
	}
}

// TestCloseDuringKeysReload: a rotated keys file's reload checks the new
// keys against the store's directory, which on a hung mount does not
// return (a hook blocks there). Close of a bounded store must still give
// up after its ceiling with ErrUnavailable, as its doc promises, rather
// than wait for the reload.
func TestCloseDuringKeysReload(t *testing.T) {
	dir := t.TempDir()
	keysPath := filepath.Join(t.TempDir(), "keys")
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	writeFile0600(t, keysPath, keysFileText(k1))
	checking := make(chan struct{}, 1)
	answer := make(chan struct{})
	goroutines := runtime.NumGoroutine()
	s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath),
		fsstore.WithMaxInFlight(4), fsstore.WithOpTimeout(10*time.Millisecond),
		fsstore.WithTestFSForTest(func(site string) {
			if site == "keys" {
				checking <- struct{}{}
				<-answer
			}
		}))
	must(t, err)
	renameOver(t, keysPath, keysFileText(k2, k1))
	select {
	case <-checking:
	case <-time.After(time.Minute):
		close(answer)
		s.Close()
		t.Fatal("no reload of the rotated keys file within a minute")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if !errors.Is(err, fsstore.ErrUnavailable) {
			t.Errorf("Close with the reload's check hung = %v, want ErrUnavailable", err)
		}
	case <-time.After(time.Minute):
		close(answer)
		t.Fatal("Close still blocked a minute after it was called, waiting for a hung reload (ceiling 10ms)")
	}
	// The server answers: the reload and the release end in the
	// background, before the test's directories are removed.
	close(answer)
	if !poll(func() bool { return runtime.NumGoroutine() <= goroutines }) {
		t.Fatalf("%d goroutines a minute after the reload could go on, %d before the store", runtime.NumGoroutine(), goroutines)
	}
}

// TestKeysFileRetireReachesCache retires a key through the keys file and
// checks that a record it sealed is refused from then on, by every way of
// loading it, also when the store caches decoded records: a cache filled
// under the old key set must not outlive the reload (docs/security.md,
// retiring a key), neither served nor kept.
func TestKeysFileRetireReachesCache(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []fsstore.Option
	}{
		{"no cache", nil},
		{"cache", []fsstore.Option{fsstore.WithCache(100, 1<<20)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "keys")
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			writeFile0600(t, path, keysFileText(k1))
			ev := make(reloadEvents, 16)
			s, err := fsstore.Open(t.TempDir(), append([]fsstore.Option{fsstore.WithKeysFile(path), fsstore.WithObserver(ev)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("sealed with key 1")}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(ctx, id); err != nil { // fills the cache, if any
				t.Fatal(err)
			}
			renameOver(t, path, keysFileText(k2)) // key 1 retired
			if got := waitReload(t, ev); got != fsstore.OutcomeOK {
				t.Fatalf("reload outcome %v", got)
			}
			if tc.name == "cache" {
				// Never served again, the entry kept key 1's key set,
				// its secret included, and the plaintext it opened in
				// memory until evicted.
				if n := s.CachedUnderOtherKeysForTest(); n != 0 {
					t.Errorf("%d cache entries opened with the key set the reload retired, want none", n)
				}
			}
			if got, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrUnknownKey) {
				t.Errorf("Load after key 1 was retired: %v, %v; want ErrUnknownKey", got, err)
			}
			lk, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer lk.Unlock()
			if got, err := lk.Load(ctx); !errors.Is(err, fsstore.ErrUnknownKey) {
				t.Errorf("Locked.Load after key 1 was retired: %v, %v; want ErrUnknownKey", got, err)
			}
		})
	}
}

// TestKeysFileChangedDuringOpen: Open reads the keys file well before the
// watch on its directory begins (in between come the key check, the write
// check and the marker, round trips on NFS). A rotation landing in between
// raised no event, and the host kept the old key set until some other
// change in the keys directory. It is applied once the watch starts.
func TestKeysFileChangedDuringOpen(t *testing.T) {
	dir := t.TempDir()
	keysPath := filepath.Join(t.TempDir(), "keys")
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	writeFile0600(t, keysPath, keysFileText(k1))
	var once sync.Once
	ev := make(reloadEvents, 64)
	s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev),
		fsstore.WithTestFSForTest(func(string) {
			once.Do(func() { renameOver(t, keysPath, keysFileText(k2, k1)) })
		}))
	must(t, err)
	defer s.Close()
	if out := waitReload(t, ev); out != fsstore.OutcomeOK {
		t.Fatalf("reload of the keys file changed during Open: outcome %v", out)
	}
	mustSealWith(t, s, dir, k2)
}

// mustSealWith checks that s seals a new record with key k: a reader that
// holds k alone can read it.
func mustSealWith(t *testing.T, s *fsstore.Store, dir string, k fsstore.Key) {
	t.Helper()
	ctx := context.Background()
	only, err := fsstore.Open(dir, fsstore.WithKeys(k))
	must(t, err)
	defer only.Close()
	id := newID(t)
	must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
	if _, err := only.Load(ctx, id); err != nil {
		t.Fatalf("record saved now: key %d cannot read it: %v", k.ID, err)
	}
}

// TestKeysCheckRetried: a reload whose key check failed for want of the
// store (an I/O error writing the check file, a full disk, a server that
// did not answer) was never tried again until the keys directory changed
// once more, which on a Kubernetes secret volume is the next rotation: the
// host kept the old key set, unable to read the new key's records. It is
// tried again on a timer until it passes, also while other files of the
// directory keep changing (their events must not put the retry off).
func TestKeysCheckRetried(t *testing.T) {
	for _, busy := range []bool{false, true} {
		t.Run(map[bool]string{false: "quiet", true: "busy-directory"}[busy], func(t *testing.T) {
			// A store and a keys directory of its own, each case
			// waiting out its watcher's retry: side by side.
			t.Parallel()
			dir := t.TempDir()
			keysDir := t.TempDir()
			keysPath := filepath.Join(keysDir, "keys")
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			writeFile0600(t, keysPath, keysFileText(k1))
			ev := make(reloadEvents, 64)
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev))
			must(t, err)
			defer s.Close()
			failed := false
			s.SetKeysCheckHookForTest(func() error {
				if failed {
					return nil
				}
				failed = true
				return fmt.Errorf("fsstore: key check: %w", syscall.EIO)
			})
			// Renamed in from another directory: one event in the watched
			// one, so that only a retry can apply the file.
			staged := filepath.Join(t.TempDir(), "keys")
			writeFile0600(t, staged, keysFileText(k2, k1))
			must(t, os.Rename(staged, keysPath))
			if out := waitReload(t, ev); out == fsstore.OutcomeOK {
				t.Fatal("the failed key check was not reported")
			}
			if busy {
				stop, done := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(done)
					other := filepath.Join(keysDir, "other")
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						// An event about every 50ms, more often than the
						// retry's first second.
						os.WriteFile(other, []byte(strconv.Itoa(i)), 0o600)
						time.Sleep(50 * time.Millisecond)
					}
				}()
				defer func() { close(stop); <-done }()
			}
			if out := waitReload(t, ev); out != fsstore.OutcomeOK {
				t.Fatalf("reload retried after the failed key check: outcome %v, want ok", out)
			}
			mustSealWith(t, s, dir, k2)
		})
	}
}

// A key check that keeps failing for want of the store is reported once,
// not at every retry: its error names a temporary file of its own each
// time, so telling failures apart by their text logged and counted every
// retry, once a minute for as long as it lasted.
func TestKeysCheckFailureReportedOnce(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir, keysPath, s, ev, logs := openWatchedAndLogged(t, k1)
	const failures = 2 // the first and the retry 1s later; the one 2s later passes
	var calls atomic.Int32
	s.SetKeysCheckHookForTest(func() error {
		n := calls.Add(1)
		if n > failures {
			return nil
		}
		return fmt.Errorf("fsstore: key check: write .check-%d: %w", n, syscall.EIO)
	})
	staged := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, staged, keysFileText(k2, k1))
	must(t, os.Rename(staged, keysPath))
	var outcomes []fsstore.Outcome
	for {
		out := waitReload(t, ev)
		outcomes = append(outcomes, out)
		if out == fsstore.OutcomeOK {
			break
		}
	}
	if n := calls.Load(); n != failures+1 {
		t.Fatalf("key checks: %d, want %d", n, failures+1)
	}
	if len(outcomes) != 2 {
		t.Errorf("reload outcomes: %v, want one failure, then ok", outcomes)
	}
	text := logs.String()
	if n := strings.Count(text, "level=ERROR"); n != 1 {
		t.Errorf("the failing key check was logged %d times, want once:\n%s", n, text)
	}
	mustSealWith(t, s, dir, k2)
}

// A failing key check reported once is reported again when the same key
// set comes back after another error was reported in between: the last
// line logged must not be an error that no longer holds.
func TestKeysCheckFailureReportedAgainAfterOtherError(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	_, keysPath, s, ev, logs := openWatchedAndLogged(t, k1)
	s.SetKeysCheckHookForTest(func() error { return fmt.Errorf("fsstore: key check: %w", syscall.EIO) })
	replace := func(text string) {
		staged := filepath.Join(t.TempDir(), "keys")
		writeFile0600(t, staged, text)
		must(t, os.Rename(staged, keysPath))
		if out := waitReload(t, ev); out == fsstore.OutcomeOK {
			t.Fatalf("keys %q applied, want a failure", text)
		}
	}
	replace(keysFileText(k2, k1)) // the check fails
	replace("not a key\n")        // unparsable
	replace(keysFileText(k2, k1)) // the check fails again: reported again
	if n := strings.Count(logs.String(), "level=ERROR"); n != 3 {
		t.Errorf("%d errors logged, want 3:\n%s", n, logs)
	}
}

// openWatchedAndLogged opens a store in a fresh directory with a keys file
// holding keys, its reload events observed and its log kept.
func openWatchedAndLogged(t *testing.T, keys ...fsstore.Key) (dir, keysPath string, s *fsstore.Store, ev reloadEvents, logs *syncBuffer) {
	t.Helper()
	dir, keysPath = t.TempDir(), filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, keysPath, keysFileText(keys...))
	ev, logs = make(reloadEvents, 64), &syncBuffer{}
	s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return dir, keysPath, s, ev, logs
}

// TestMaintenanceKeysReloadWritesNoKeyCheck: check files are how application
// hosts vouch that they have a key, and Rekey in a maintenance store
// refuses a newest key none of them has (ErrKeyNotDeployed). A maintenance
// store that reloads its keys file must not vouch for the new key itself:
// a sessgc-style process watching [2,1] before any host has key 2 would
// otherwise let a rekey log every user out.
func TestMaintenanceKeysReloadWritesNoKeyCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	app, err := fsstore.Open(dir, fsstore.WithKeys(k1)) // every host: [1]
	must(t, err)
	defer app.Close()

	keysPath := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, keysPath, keysFileText(k1))
	ev := make(reloadEvents, 64)
	gc, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly(), fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev))
	must(t, err)
	defer gc.Close()

	renameOver(t, keysPath, keysFileText(k2, k1))
	if out := waitReload(t, ev); out != fsstore.OutcomeOK {
		t.Fatalf("reload of [2,1] in a maintenance store: outcome %v", out)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".keycheck-2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a maintenance store's keys reload wrote .keycheck-2 (stat: %v): it vouches for a key no application host has", err)
	}
	if st, err := gc.Rekey(ctx, fsstore.RekeyOptions{}); !errors.Is(err, fsstore.ErrKeyNotDeployed) {
		t.Errorf("rekey after the reload: %+v, %v; want ErrKeyNotDeployed", st, err)
	}
}

// TestKeysFileTargetDirectoryMadeAgain: a keys file that is a symlink into
// a directory that is removed or renamed away and made again (systemd's
// RuntimeDirectory=, a secrets agent restarting) is still followed: the
// watch on the old directory died with it, and the new one must be watched.
func TestKeysFileTargetDirectoryMadeAgain(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("directory removal and renaming are seen through inotify here")
	}
	for _, tc := range []struct {
		name string
		drop func(t *testing.T, dir string)
	}{
		{"removed", func(t *testing.T, dir string) { must(t, os.RemoveAll(dir)) }},
		{"renamed away", func(t *testing.T, dir string) { must(t, os.Rename(dir, dir+".old")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			target := filepath.Join(t.TempDir(), "sessfs") // e.g. /run/x/sessfs
			keysPath := filepath.Join(t.TempDir(), "keys") // e.g. /etc/sessfs/keys
			k1, k2, k3 := mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)
			mustWrite(t, filepath.Join(target, "keys"), keysFileText(k1))
			must(t, os.Symlink(filepath.Join(target, "keys"), keysPath))
			ev := make(reloadEvents, 64)
			s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(ev))
			must(t, err)
			defer s.Close()
			// A change seen in the target directory: its watch is set.
			renameOver(t, filepath.Join(target, "keys"), keysFileText(k1, k2))
			if out := waitReload(t, ev); out != fsstore.OutcomeOK {
				t.Fatalf("reload of [1,2]: outcome %v", out)
			}

			tc.drop(t, target)
			mustWrite(t, filepath.Join(target, "keys"), keysFileText(k2, k1))
			// A moment without the file, or with it empty, is reported and
			// skipped: what counts is that the new file is applied.
			for waitReload(t, ev) != fsstore.OutcomeOK {
			}
			// Later replacements in the new directory are seen too.
			renameOver(t, filepath.Join(target, "keys"), keysFileText(k3, k2, k1))
			for waitReload(t, ev) != fsstore.OutcomeOK {
			}
			id := newID(t)
			must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
			only3, err := fsstore.Open(dir, fsstore.WithKeys(k3))
			must(t, err)
			defer only3.Close()
			if _, err := only3.Load(ctx, id); err != nil {
				t.Fatalf("after the last reload the store does not seal with key 3: %v", err)
			}
		})
	}
}

// TestKeysFileHalfWrittenNotApplied: a keys file rewritten in place can be
// read half-written, and one cut at the end of a line is a valid, smaller
// key set. [1] being rewritten as [2,1], read as [2] alone, would make
// every record sealed with key 1 unknown, and log its user out, until the
// write completes. A read that drops a key in use is held until the file
// reads the same again a moment later; the hook holds that moment open
// while the write completes, so nothing here depends on timing.
func TestKeysFileHalfWrittenNotApplied(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	_, keysPath, s, ev, logs := openWatchedAndLogged(t, k1)
	old := newID(t)
	must(t, s.Save(ctx, &fsstore.Session{ID: old, Data: []byte("sealed with key 1")}))

	settling, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.SetKeysSettleHookForTest(func() {
		once.Do(func() {
			settling <- struct{}{}
			<-release
		})
	})
	writeFile0600(t, keysPath, keysFileText(k2)) // the first line of [2,1]
	// A failed reload (the file read empty) leaves the keys in use: only
	// applying [2] does harm.
	for held := false; !held; {
		select {
		case <-settling:
			held = true
		case e := <-ev:
			if e.Outcome == fsstore.OutcomeOK {
				t.Fatalf("the half-written key set [2] was applied; log:\n%s", logs)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the half-written keys file was neither held nor applied within 30s")
		}
	}
	writeFile0600(t, keysPath, keysFileText(k2, k1)) // the write completes
	close(release)
	if out := waitReload(t, ev); out != fsstore.OutcomeOK {
		t.Fatalf("reload of the completed file: outcome %v; log:\n%s", out, logs)
	}
	if strings.Contains(logs.String(), "key_ids=[2]\n") {
		t.Errorf("the half-written key set [2] was applied:\n%s", logs)
	}
	if got, err := s.Load(ctx, old); err != nil || string(got.Data) != "sealed with key 1" {
		t.Fatalf("record sealed with key 1 after the rewrite: %v", err)
	}
}

// TestKeysFileChurningWriterBounded: a read that drops a key in use is held
// until the file reads the same again, but a writer rewriting the file in
// place more often than that, without pause, makes every read differ. The
// key's removal (one retired because it leaked) must not wait for as long
// as such a writer runs: past a bound, the latest read is acted on. The
// hook plays the writer at each confirmation and moves the watcher's clock,
// so nothing here depends on timing.
func TestKeysFileChurningWriterBounded(t *testing.T) {
	k1, k3, k4 := mustKey(t, 1), mustKey(t, 3), mustKey(t, 4)
	_, keysPath, s, ev, logs := openWatchedAndLogged(t, k1)

	var (
		mu     sync.Mutex
		now    = time.Unix(1_000_000, 0)
		writes int
		stop   bool
	)
	s.SetKeysSettleClockForTest(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	})
	sets := []string{keysFileText(k3), keysFileText(k4)}
	s.SetKeysSettleHookForTest(func() {
		mu.Lock()
		defer mu.Unlock()
		if stop {
			return
		}
		now = now.Add(fsstore.KeysSettleMax / 4)
		writes++
		// In place, each time different from the read held: no read is
		// ever confirmed by reading the same.
		if err := os.WriteFile(keysPath, []byte(sets[writes%2]), 0o600); err != nil {
			t.Errorf("the churning writer: %v", err)
		}
	})
	writeFile0600(t, keysPath, sets[0]) // drops key 1: held
	applied := waitReloadOK(t, ev, 30*time.Second)
	mu.Lock()
	stop = true
	n := writes
	mu.Unlock()
	if !applied {
		t.Fatalf("after %d rewrites, none applied: a writer that never pauses holds key 1 in use for good; log:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "key_ids=[3]") && !strings.Contains(logs.String(), "key_ids=[4]") {
		t.Errorf("applied something other than the writer's key sets:\n%s", logs)
	}
}

// TestKeysFileSlowWriterNotCut: the bound on holding reads back must not
// apply a file that is still being written, a line at a time with short
// pauses (a script appending each key it fetches), however long it
// takes: each read then only adds keys to the last one held (a read cut
// mid-line in between fails to parse), and applying one would drop keys
// in use until the last line. The hook writes half a line more at each
// confirmation and moves the watcher's clock past the bound as it goes,
// so nothing here depends on timing.
func TestKeysFileSlowWriterNotCut(t *testing.T) {
	var keys []fsstore.Key
	for id := uint32(5); id >= 1; id-- {
		keys = append(keys, mustKey(t, id))
	}
	_, keysPath, s, ev, logs := openWatchedAndLogged(t, keys[4]) // [1]

	// The test writes the first line itself, below.
	steps := writtenLineByLine(keys...)[2:]
	var (
		mu   sync.Mutex
		now  = time.Unix(1_000_000, 0)
		step int
	)
	s.SetKeysSettleClockForTest(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	})
	s.SetKeysSettleHookForTest(func() {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(fsstore.KeysSettleMax / 2)
		if step < len(steps) {
			if err := os.WriteFile(keysPath, []byte(steps[step]), 0o600); err != nil {
				t.Errorf("the writer: %v", err)
			}
			step++
		}
	})
	writeFile0600(t, keysPath, keysFileText(keys[0])) // [5]: drops key 1, held
	if !waitReloadOK(t, ev, 30*time.Second) {
		t.Fatalf("the completed file was not applied; log:\n%s", logs)
	}
	if n := strings.Count(logs.String(), "keys file reloaded"); n != 1 || !strings.Contains(logs.String(), `key_ids="[5 4 3 2 1]"`) {
		t.Errorf("applied %d times, want once, the whole file [5 4 3 2 1]:\n%s", n, logs)
	}
}

// writtenLineByLine returns a keys file holding keys as a writer rewriting
// it in place a line at a time leaves it at each step: emptied, then each
// line whole and then the next one cut short, then complete.
func writtenLineByLine(keys ...fsstore.Key) []string {
	steps := []string{""}
	for n := 1; n < len(keys); n++ {
		whole := keysFileText(keys[:n]...)
		steps = append(steps, whole, whole+keys[n].SecretLine()[:12])
	}
	return append(steps, keysFileText(keys...))
}

// TestKeysFileReloadKeepsCache: a keys file reload that keeps a key (a new
// newest key added, as every rotation begins, or the file only reordered)
// emptied the whole read cache, every session read again from the file
// server at each rotation on every host. The entries opened with a key the
// new set keeps must stay, and be served; those of a key it retires must
// go (TestKeysFileRetireReachesCache).
func TestKeysFileReloadKeepsCache(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// next is the key set the reload applies, by index into
		// 1, 2, 3; the records were sealed with 1 and 2.
		next []int
		kept [2]bool // the entries of the records sealed with 1 and 2
	}{
		{"new newest key", []int{3, 2, 1}, [2]bool{true, true}},
		{"reordered", []int{1, 2}, [2]bool{true, true}},
		{"key 1 retired", []int{2}, [2]bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys")
			keys := []fsstore.Key{mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)}
			writeFile0600(t, path, keysFileText(keys[0]))
			ev := make(reloadEvents, 16)
			s, err := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(path), fsstore.WithObserver(ev), fsstore.WithCache(100, 1<<20))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ids := [2]string{newID(t), newID(t)}
			mustSave(t, s, ids[0], "sealed with key 1")
			renameOver(t, path, keysFileText(keys[1], keys[0]))
			if got := waitReload(t, ev); got != fsstore.OutcomeOK {
				t.Fatalf("reload outcome %v", got)
			}
			mustSave(t, s, ids[1], "sealed with key 2")
			for _, id := range ids {
				if _, err := s.Load(ctx, id); err != nil { // fills the cache
					t.Fatal(err)
				}
				if !s.CachedForTest(id) {
					t.Fatal("a record loaded is not cached")
				}
			}
			var next []fsstore.Key
			for _, i := range tc.next {
				next = append(next, keys[i-1])
			}
			renameOver(t, path, keysFileText(next...))
			if got := waitReload(t, ev); got != fsstore.OutcomeOK {
				t.Fatalf("reload outcome %v", got)
			}
			for i, id := range ids {
				if got := s.CachedForTest(id); got != tc.kept[i] {
					t.Errorf("the entry of the record sealed with key %d cached after the reload: %v, want %v", i+1, got, tc.kept[i])
				}
				if !tc.kept[i] {
					continue
				}
				// Served: a hit keeps it, where one not valid under the
				// keys in use is dropped.
				if got, err := s.Load(ctx, id); err != nil || !strings.HasPrefix(string(got.Data), "sealed with key") {
					t.Fatalf("Load after the reload: %v, %v", got, err)
				}
				if !s.CachedForTest(id) {
					t.Errorf("the entry of the record sealed with key %d dropped by a Load after the reload", i+1)
				}
			}
			if n := s.CachedUnderOtherKeysForTest(); n != 0 {
				t.Errorf("%d cache entries the keys in use would not open as they were opened", n)
			}
		})
	}
}

// keysFileStates is an Observer of keys reloads (reloadEvents) that also
// records the store's reports of its keys file left unapplied.
type keysFileStates struct {
	reloadEvents
	mu     sync.Mutex
	states []bool
}

func (o *keysFileStates) ObserveKeysFile(unapplied bool) {
	o.mu.Lock()
	o.states = append(o.states, unapplied)
	o.mu.Unlock()
}

func (o *keysFileStates) seen() []bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]bool(nil), o.states...)
}

// TestKeysFileUnapplied: a keys file that fails to reload is a state, not
// only an event: KeysFileUnapplied and the KeysFileObserver report it
// from the failure until a read of the file is applied, through further
// failures (reported once), and Close ends it. A failed reload was only
// counted, once, so the alert on it resolved after its window while the
// file stayed wrong and the keys in use differed from it.
func TestKeysFileUnapplied(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir, keysPath := t.TempDir(), filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, keysPath, keysFileText(k1))
	obs := &keysFileStates{reloadEvents: make(reloadEvents, 64)}
	s, err := fsstore.Open(dir, fsstore.WithKeysFile(keysPath), fsstore.WithObserver(obs))
	must(t, err)
	defer s.Close()
	if s.KeysFileUnapplied() {
		t.Fatal("KeysFileUnapplied after Open with a good keys file")
	}
	for i, step := range []struct {
		text      string
		ok        bool
		unapplied bool
		states    []bool
	}{
		{"not a key file\n", false, true, []bool{true}},
		{keysFileText(k2, k2), false, true, []bool{true}},            // a second failure: the state reported once
		{keysFileText(k1), true, false, []bool{true, false}},         // back to the keys in use: nothing new to apply, the state ends
		{"not a key file\n", false, true, []bool{true, false, true}}, // the first failure again: reported again
		{keysFileText(k2, k1), true, false, []bool{true, false, true, false}},
		{keysFileText(mustKey(t, 2), k1), false, true, []bool{true, false, true, false, true}}, // key 2, another secret
	} {
		renameOver(t, keysPath, step.text)
		if out := waitReload(t, obs.reloadEvents); (out == fsstore.OutcomeOK) != step.ok {
			t.Fatalf("step %d: reload outcome %v, want ok %v", i, out, step.ok)
		}
		if got := s.KeysFileUnapplied(); got != step.unapplied {
			t.Errorf("step %d: KeysFileUnapplied %v, want %v", i, got, step.unapplied)
		}
		if got := obs.seen(); fmt.Sprint(got) != fmt.Sprint(step.states) {
			t.Errorf("step %d: ObserveKeysFile calls %v, want %v", i, got, step.states)
		}
	}
	must(t, s.Close())
	if s.KeysFileUnapplied() || fmt.Sprint(obs.seen()) != fmt.Sprint([]bool{true, false, true, false, true, false}) {
		t.Errorf("after Close: KeysFileUnapplied %v, ObserveKeysFile calls %v; want false, the state ended", s.KeysFileUnapplied(), obs.seen())
	}
}
