package fsstore_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
)

// stripEncryptedLine removes the marker's "encrypted 1" line, as a writer
// of the mount without the keys can.
func stripEncryptedLine(t *testing.T, dir string) {
	t.Helper()
	marker := filepath.Join(dir, fsstore.MarkerFile)
	b, err := os.ReadFile(marker)
	must(t, err)
	stripped := strings.Replace(string(b), "encrypted 1\n", "", 1)
	if stripped == string(b) {
		t.Fatalf("marker %q has no encrypted line", b)
	}
	must(t, os.WriteFile(marker, []byte(stripped), 0o600))
}

// keyFiles lists the key files at the top of the store dir, in name order.
func keyFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range ents {
		for _, p := range []string{".keycheck-", ".keynewest-", ".keyorder-"} {
			if strings.HasPrefix(e.Name(), p) {
				out = append(out, e.Name())
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestKeylessOpenRefusesKeyFiles: the marker's "encrypted 1" line is not
// authenticated, and a host started without keys once a writer of the
// mount had removed it opened the store and wrote, and served, plaintext
// sessions (a forged {"user":"admin"} among them) until a keyed host's
// save put the line back, never on a store where no keyed host saves. The
// key files at the store's top, which only a keyed host writes, say the
// store is encrypted as surely: a keyless Open refuses the store while
// any of them is there, naming it and what to do, and writes nothing.
// With none of them, and names that only look like them, it opens: a
// store deliberately kept without keys is not refused for a stray file.
func TestKeylessOpenRefusesKeyFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		// keep: the key files left, by prefix; nil keeps them all.
		keep []string
		// noMarker removes the marker as well.
		noMarker bool
		// extra files at the top that are no key files.
		extra []string
		// names: the key file the refusal names; "" for an Open that
		// succeeds.
		names string
	}{
		{name: "line stripped", names: ".keycheck-1"},
		{name: "marker removed", noMarker: true, names: ".keycheck-1"},
		{name: "only the newest record left", keep: []string{".keynewest-"}, names: ".keynewest-1"},
		{name: "only the order sequence left", keep: []string{".keyorder-"}, names: ".keyorder-"},
		{name: "no key file left", keep: []string{}},
		{name: "names that are no key files", keep: []string{}, extra: []string{".keycheck-1.bak", ".keycheck-", ".keycheckx-1", ".tmp-keycheck-0123456789abcdef"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			keyed := openDir(t, dir, fsstore.WithKeys(mustKey(t, 1)))
			must(t, keyed.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("secret")}))
			must(t, keyed.Close())
			if len(keyFiles(t, dir)) < 2 {
				t.Fatalf("a keyed Open and save left key files %v, want a check file and more", keyFiles(t, dir))
			}
			stripEncryptedLine(t, dir)
			if tc.noMarker {
				must(t, os.Remove(filepath.Join(dir, fsstore.MarkerFile)))
			}
			if tc.keep != nil {
				for _, name := range keyFiles(t, dir) {
					if !slices.ContainsFunc(tc.keep, func(p string) bool { return strings.HasPrefix(name, p) }) {
						must(t, os.Remove(filepath.Join(dir, name)))
					}
				}
			}
			for _, name := range tc.extra {
				must(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
			}
			records := len(recordPaths(t, dir))
			before := snapshot(t, dir)

			s, err := fsstore.Open(dir)
			if tc.names == "" {
				if err != nil {
					t.Fatalf("keyless Open of a store without key files: %v", err)
				}
				defer s.Close()
				must(t, s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("clear")}))
				return
			}
			if s != nil {
				forged := newID(t)
				saveErr := s.Save(ctx, &fsstore.Session{ID: forged, Data: []byte(`{"user":"admin"}`)})
				s.Close()
				t.Fatalf("keyless Open beside %s: opened (a save of plaintext: %v), want ErrKeysRequired", tc.names, saveErr)
			}
			if !errors.Is(err, fsstore.ErrKeysRequired) {
				t.Fatalf("keyless Open beside %s: %v, want ErrKeysRequired", tc.names, err)
			}
			for _, want := range []string{tc.names, "remove the .keycheck-*", "keys"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("keyless Open's error %q does not say %q", err, want)
				}
			}
			if _, err := fsstore.Open(dir, fsstore.WithReadOnly()); !tc.noMarker && !errors.Is(err, fsstore.ErrKeysRequired) {
				t.Errorf("keyless read-only Open beside %s: %v, want ErrKeysRequired", tc.names, err)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("refused keyless Opens changed the directory:\nbefore:\n%s\nafter:\n%s", before, after)
			}

			// Maintenance (sessgc run, stats) opens it, and knows it
			// encrypted: no save, no plaintext record served. It does
			// not make a removed marker again, without the line.
			m, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly())
			if tc.noMarker {
				if !errors.Is(err, fsstore.ErrKeysRequired) {
					t.Errorf("keyless maintenance Open of a store whose marker was removed, beside %s: %v, want ErrKeysRequired", tc.names, err)
				}
				if after := snapshot(t, dir); after != before {
					t.Errorf("keyless maintenance Open changed the directory:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				return
			}
			must(t, err)
			defer m.Close()
			id := newID(t)
			if err := m.Save(ctx, &fsstore.Session{ID: id, Data: []byte("clear")}); !errors.Is(err, fsstore.ErrKeysRequired) {
				t.Errorf("Save through a keyless maintenance store beside %s: %v, want ErrKeysRequired", tc.names, err)
			}
			if n := len(recordPaths(t, dir)); n != records {
				t.Errorf("%d records on disk, want %d: a keyless store wrote one", n, records)
			}
		})
	}
}

// TestKeylessStoreStopsAtKeyFile: a store opened without keys before the
// store was encrypted re-reads the marker every KeylessRecheck, and the
// writer who removed the marker's line right after a keyed host marked
// the store (before that re-read) kept it writing and serving plaintext
// until a keyed host's save put the line back. The re-read looks for the
// key files as Open does: the keyless store stops saving at its next
// re-read, with an error naming the file, refuses plaintext records from
// then on, and logs it once.
func TestKeylessStoreStopsAtKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New()
	var logs testenv.Buffer
	keyless := openDir(t, dir, fsstore.WithClock(clk.Now), fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	before := newID(t)
	must(t, keyless.Save(ctx, &fsstore.Session{ID: before, Data: []byte("clear")}))

	keyed := openDir(t, dir, fsstore.WithKeys(mustKey(t, 1)), fsstore.WithClock(clk.Now))
	must(t, keyed.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("secret")}))
	stripEncryptedLine(t, dir)

	clk.Advance(fsstore.KeylessRecheck)
	err := keyless.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte(`{"user":"admin"}`)})
	if !errors.Is(err, fsstore.ErrKeysRequired) || !strings.Contains(err.Error(), ".keycheck-1") {
		t.Fatalf("keyless Save at its first re-read once a keyed host wrote .keycheck-1 (marker line removed): %v, want ErrKeysRequired naming .keycheck-1", err)
	}
	if _, err := keyless.Load(ctx, before); !errors.Is(err, fsstore.ErrUnencrypted) {
		t.Errorf("keyless Load of a plaintext record once it knows: %v, want ErrUnencrypted", err)
	}
	clk.Advance(fsstore.KeylessRecheck)
	if err := keyless.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("clear")}); !errors.Is(err, fsstore.ErrKeysRequired) {
		t.Errorf("keyless Save later: %v, want ErrKeysRequired", err)
	}
	if n := strings.Count(logs.String(), "a key file is at its top"); n != 1 {
		t.Errorf("the keyless store logged the key file %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), ".keycheck-1") {
		t.Errorf("log does not name the key file:\n%s", logs.String())
	}
}

// TestMaintenanceRekeyTakesKeyFilesForMarking: a rekey through a
// maintenance open (sessgc rekey) of a store whose marker lost its
// "encrypted 1" line refused with ErrNotEncrypted until an application
// host's save put the line back, although the key files at the store's
// top prove the store encrypted as surely as for a keyless Open. It takes
// them for the marking, rekeys, and puts the line back; with no key file
// left it still refuses. Its warning said that hosts without keys had
// written sessions in clear text, which the key files, there all along,
// had kept them from: it says they kept them out.
func TestMaintenanceRekeyTakesKeyFilesForMarking(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keyFiles bool
	}{
		{"key files left", true},
		{"no key file left", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			k := mustKey(t, 1)
			app, err := fsstore.Open(dir, fsstore.WithKeys(k))
			must(t, err)
			id := newID(t)
			must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}))
			must(t, app.Close())
			stripEncryptedLine(t, dir)
			if !tc.keyFiles {
				for _, name := range keyFiles(t, dir) {
					must(t, os.Remove(filepath.Join(dir, name)))
				}
			}
			var logs testenv.Buffer
			tool, err := fsstore.Open(dir, fsstore.WithKeys(k), fsstore.WithMaintenanceOnly(), fsstore.WithCreate(false),
				fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			must(t, err)
			defer tool.Close()
			st, err := tool.Rekey(ctx, fsstore.RekeyOptions{})
			marker, rerr := os.ReadFile(filepath.Join(dir, fsstore.MarkerFile))
			must(t, rerr)
			marked := strings.Contains(string(marker), "encrypted 1\n")
			if !tc.keyFiles {
				if !errors.Is(err, fsstore.ErrNotEncrypted) || st.Scanned != 0 || marked {
					t.Errorf("rekey with no key file left: %+v, %v, marker %q; want ErrNotEncrypted, nothing scanned, no line", st, err, marker)
				}
				return
			}
			if err != nil || st.Scanned != 1 {
				t.Fatalf("rekey beside the key files: %+v, %v; want the record scanned", st, err)
			}
			if !marked {
				t.Errorf("rekey left the marker without its line:\n%s", marker)
			}
			if got := logs.String(); !strings.Contains(got, "says so again; its key files are still at its top") || strings.Contains(got, "clear text, which") {
				t.Errorf("log of the line put back beside the key files:\n%s\nwant it to say the key files kept keyless hosts out", got)
			}
		})
	}
}
