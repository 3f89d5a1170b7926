package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestScansStopAtReadOnlyPart: a read-only mount over part of the store
// only (a read-only bind mount over one shard directory) stopped a sweep
// or a rekey with "the file system is read-only on this host", which
// sent the operator to remount a file system that takes writes. The
// error now names the directory refused and says that the store's data
// directory takes writes; the scan still stops there (each write under
// that mount would be refused alike), and every record under it is
// left as it was.
func TestScansStopAtReadOnlyPart(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root for a read-only bind mount")
	}
	for _, scan := range []string{"sweep", "rekey"} {
		t.Run(scan, func(t *testing.T) {
			dir := t.TempDir()
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			app, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithKeys(k1))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			old := time.Now().Add(-48 * time.Hour)
			var shard string
			var inShard []string
			for i := 0; i < 40; i++ {
				id, err := fsstore.NewID()
				if err != nil {
					t.Fatal(err)
				}
				if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte{byte(i)}}); err != nil {
					t.Fatal(err)
				}
				p := app.RecordPathForTest(id)
				if scan == "sweep" {
					if err := os.Chtimes(p, old, old); err != nil {
						t.Fatal(err)
					}
				}
				if shard == "" {
					shard = filepath.Dir(p)
				}
				if filepath.Dir(p) == shard {
					inShard = append(inShard, p)
				}
			}
			app.Close()
			readOnlyBind(t, shard)
			s, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var errs int64
			switch scan {
			case "sweep":
				var st fsstore.SweepStats
				st, err = s.Sweep(ctx, fsstore.SweepOptions{Concurrency: 1})
				errs = st.Errors
			case "rekey":
				var st fsstore.RekeyStats
				st, err = s.Rekey(ctx, fsstore.RekeyOptions{Concurrency: 1})
				errs = st.Errors
			}
			t.Logf("%s: %d errors, err %v", scan, errs, err)
			if !errors.Is(err, syscall.EROFS) {
				t.Fatalf("error %v; want one matching EROFS", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "the file system is read-only") || !strings.Contains(msg, "stopped: "+shard) ||
				!strings.Contains(msg, "takes writes") || !strings.Contains(msg, "findmnt -T "+shard) {
				t.Errorf("error %q; want it to name %s as read-only, the store's data directory as writable, and findmnt", msg, shard)
			}
			if n := strings.Count(msg, "fsstore: "+scan+":"); n != 1 {
				t.Errorf("error %q says %q %d times, want once", msg, "fsstore: "+scan+":", n)
			}
			for _, p := range inShard {
				if _, err := os.Lstat(p); err != nil {
					t.Errorf("record under the read-only mount: %v", err)
				}
			}
		})
	}
}

// readOnlyBind makes dir a read-only bind mount of itself until the test
// ends (root only: skipped otherwise), as an operator's read-only mount
// over one directory of the store.
func readOnlyBind(t *testing.T, dir string) {
	t.Helper()
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		testenv.Skip(t, testenv.Root, "bind mount: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := syscall.Mount("", dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
}

// TestScanReadOnlyPartOnFullStore: a sweep stopped by a read-only mount
// over one shard directory writes a test file in the store's data
// directory to tell a read-only part from a read-only store. On a full
// file system that test write fails with ENOSPC, which proves the data
// directory's file system takes writes (a read-only one refuses before
// it looks for room), but the error said "the file system is read-only",
// sending the operator to remount a file system that is only full. It
// now names the read-only part, and says the data directory's file
// system is full.
func TestScanReadOnlyPartOnFullStore(t *testing.T) {
	dir := filepath.Join(testenv.MountTmpfs(t, "1m,nr_inodes=128"), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	app, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	// A first sweep's removal makes the sweep's lock file, which a full
	// file system could not.
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Save(ctx, &fsstore.Session{ID: id}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(app.RecordPathForTest(id), old, old); err != nil {
		t.Fatal(err)
	}
	if st, err := app.Sweep(ctx, fsstore.SweepOptions{}); err != nil || st.Sessions != 1 {
		t.Fatalf("first sweep: %+v, %v", st, err)
	}
	var shard string
	for i := 0; i < 20; i++ {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		p := app.RecordPathForTest(id)
		if shard == "" {
			shard = filepath.Dir(p)
		}
		// Only the read-only shard's records are expired: a removal
		// elsewhere would free room for the test write.
		if filepath.Dir(p) == shard {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	app.Close()
	readOnlyBind(t, shard)
	for i := 0; ; i++ {
		f, err := os.Create(filepath.Join(filepath.Dir(dir), fmt.Sprint("filler", i)))
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
		f.Close()
	}
	s, err := fsstore.Open(dir, fsstore.WithMaintenanceOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: 1, OnError: func(err error) { t.Log(err) }})
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("error %v (%+v); want one matching EROFS", err, st)
	}
	msg := err.Error()
	if strings.Contains(msg, "the file system is read-only") || !strings.Contains(msg, "stopped: "+shard) ||
		!strings.Contains(msg, "full") {
		t.Errorf("error %q; want it to name %s as read-only, and the store's data directory's file system as full", msg, shard)
	}
}
