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

// TestRekeyOrderRecordUnreadable: a key's record of when it became newest
// (.keynewest-ID) that the rekey may not read (permission denied: a file
// of another owner, mode 0600) fails every record under the older key the
// same way, pass after pass, so a pass reports it once, naming the file
// and what to do, rather than once for each record, still counts each
// record it leaves as an error (the rotation is not done), and rewrites
// them once the file reads. Each record used to report the bare EACCES.
// Root reads any file, so as root the rekey runs in a child as nobody.
func TestRekeyOrderRecordUnreadable(t *testing.T) {
	const records = 5
	ctx := context.Background()
	base, binary := binaryForOthers(t)
	dir := filepath.Join(base, "store")
	must(t, os.Mkdir(dir, 0o700))
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	app1 := openDir(t, dir, fsstore.WithKeys(k1)) // every host: [1]
	for range records {
		must(t, app1.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("under key 1")}))
	}
	openDir(t, dir, fsstore.WithKeys(k2, k1)) // the hosts now: [2, 1], recording key 2
	order := filepath.Join(dir, ".keynewest-2")
	if _, err := os.Stat(order); err != nil {
		t.Fatalf("key 2's order record: %v", err)
	}

	root := os.Geteuid() == 0
	const nobody = 65534
	if root {
		// Everything open to nobody but the order record, root's 0600
		// (set last: .keyorder-2 is the same file).
		must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir():
				return os.Chmod(p, 0o777)
			}
			return os.Chmod(p, 0o666)
		}))
		must(t, os.Chmod(order, 0o600))
	} else {
		must(t, os.Chmod(order, 0))
		t.Cleanup(func() { os.Chmod(order, 0o600) })
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

	for pass := 1; pass <= 2; pass++ {
		got := rekey()
		t.Logf("pass %d: %s", pass, got)
		if !strings.HasPrefix(got, "rekey scanned=5 rekeyed=0 errors=5 reported=1 err=<nil> ") {
			t.Fatalf("pass %d with %s unreadable: %s; want the 5 records under key 1 left, counted as errors, reported once", pass, order, got)
		}
		for _, want := range []string{order, "permission denied", "read access"} {
			if !strings.Contains(got, want) {
				t.Errorf("pass %d: the error does not say %q: %s", pass, want, got)
			}
		}
	}

	mode := os.FileMode(0o600)
	if root {
		mode = 0o666
	}
	must(t, os.Chmod(order, mode))
	if got := rekey(); !strings.HasPrefix(got, "rekey scanned=5 rekeyed=5 errors=0 reported=0 ") {
		t.Fatalf("pass with %s readable: %s; want the 5 records rewritten", order, got)
	}
}
