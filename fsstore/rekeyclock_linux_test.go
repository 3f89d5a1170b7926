package fsstore_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRekeyWithoutServerClock: a rekey that cannot read the file server's
// clock (the temp file at the store's top that tells it cannot be made: a
// top directory this user may not write, while the shards are) refuses
// the pass, saying so, as the sweep does, and rewrites nothing. It judged
// which records had expired by this host's clock instead: a host whose
// clock ran ahead left a live record under the old key as expired, and
// the old key's retirement logged its user out; one behind rewrote a
// record the sweep may remove by its mtime alone without the sweep lock,
// and the rewrite brought back what the sweep reported removed.
// Root writes any directory, so as root the rekey runs in a child as
// nobody.
func TestRekeyWithoutServerClock(t *testing.T) {
	const records = 3
	ctx := context.Background()
	base, binary := binaryForOthers(t)
	dir := filepath.Join(base, "store")
	must(t, os.Mkdir(dir, 0o755))
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	app := openDir(t, dir, fsstore.WithKeys(k1))
	for range records {
		must(t, app.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("under key 1")}))
	}
	openDir(t, dir, fsstore.WithKeys(k2, k1)).Close() // the hosts now: [2, 1]

	root := os.Geteuid() == 0
	const nobody = 65534
	// Everything open to the rekey's user but the top directory.
	mode := func(dirs, files fs.FileMode) {
		t.Helper()
		must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case p == dir:
				return nil
			case d.IsDir():
				return os.Chmod(p, dirs)
			}
			return os.Chmod(p, files)
		}))
	}
	if root {
		mode(0o777, 0o666)
		must(t, os.Chmod(dir, 0o755))
	} else {
		must(t, os.Chmod(dir, 0o555))
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	rekey := func() string {
		t.Helper()
		if !root {
			s := openDir(t, dir, fsstore.WithCreate(false), fsstore.WithMaintenanceOnly(), fsstore.WithKeys(k2, k1))
			return rekeySummary(ctx, s)
		}
		kid := startChild(t, "rekey", []string{"STORE_DIR=" + dir, "STORE_KEYS=" + k2.SecretLine() + ";" + k1.SecretLine()},
			asUser(nobody, nobody, binary), func(c *exec.Cmd) { c.Dir = base })
		got := kid.Expect(t, "rekey ")
		kid.Finish(t)
		return got
	}

	got := rekey()
	t.Logf("top directory not writable: %s", got)
	if !strings.HasPrefix(got, "rekey scanned=0 rekeyed=0 errors=0 reported=0 err=fsstore: rekey: ") {
		t.Fatalf("rekey with the file server's clock unreadable: %s; want the pass refused, nothing rewritten", got)
	}
	for _, want := range []string{"the file server's time could not be read", "permission denied", "nothing was rewritten", "write access"} {
		if !strings.Contains(got, want) {
			t.Errorf("the refusal does not say %q: %s", want, got)
		}
	}
	must(t, os.Chmod(dir, 0o777))
	if got := rekey(); !strings.HasPrefix(got, "rekey scanned=3 rekeyed=3 errors=0 reported=0 err=<nil> ") {
		t.Fatalf("rekey with the top directory writable: %s; want the 3 records rewritten", got)
	}
}
