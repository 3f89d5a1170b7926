package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestScansStopWhenReadOnly: a file system that the kernel turns
// read-only under a sweep or a rekey (ext4's errors=remount-ro after a
// disk error; an NFS or EFS mount remounted ro) refuses every write left
// alike. Both scans went on to the end, one error per file left (35,775
// in a sweep of 40,000 expired records), and returned nil: nothing said
// why. Now each stops at its first refused write, counts and reports that
// one alone (not the unlinks of the records a sweep had moved aside, nor
// another worker's refusals), and returns an error matching EROFS.
func TestScansStopWhenReadOnly(t *testing.T) {
	const n = 300 // more than a sweep's batch of removals (64)
	for _, scan := range []string{"sweep", "rekey"} {
		t.Run(scan, func(t *testing.T) {
			app, dir, trigger, k1, k2 := remountROStore(t)
			ctx := context.Background()
			old := time.Now().Add(-48 * time.Hour)
			for i := 0; i < n; i++ {
				id, err := fsstore.NewID()
				if err != nil {
					t.Fatal(err)
				}
				if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte{byte(i)}}); err != nil {
					t.Fatal(err)
				}
				if scan == "sweep" {
					if err := os.Chtimes(app.RecordPathForTest(id), old, old); err != nil {
						t.Fatal(err)
					}
				}
			}
			app.Close()
			s, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var once sync.Once
			turn := func(string) {
				// After the first file, as the kernel would after an I/O
				// error: every later write is refused.
				once.Do(func() {
					if err := os.WriteFile(trigger, []byte("1"), 0); err != nil {
						t.Errorf("trigger an ext4 error: %v", err)
					}
				})
			}
			var reported []error
			var mu sync.Mutex
			onError := func(err error) {
				mu.Lock()
				reported = append(reported, err)
				mu.Unlock()
			}
			var errs int64
			switch scan {
			case "sweep":
				// Before the 10th move aside: the 9 before it, moved aside
				// in the same batch, are unlinked after it, which fails too.
				// Those stay aside, not counted again.
				var moves atomic.Int32
				s.SetSweepHooksForTest(nil, func(p string) {
					if moves.Add(1) == 10 {
						turn(p)
					}
				}, nil)
				var st fsstore.SweepStats
				st, err = s.Sweep(ctx, fsstore.SweepOptions{OnError: onError, Concurrency: 4})
				errs = st.Errors
			case "rekey":
				var listed atomic.Int32
				s.SetRekeyListedHookForTest(func(name string) {
					// The first record is rewritten; the mount turns
					// read-only before the second.
					if listed.Add(1) == 2 {
						turn(name)
					}
				})
				var st fsstore.RekeyStats
				st, err = s.Rekey(ctx, fsstore.RekeyOptions{OnError: onError})
				errs = st.Errors
			}
			t.Logf("%s: %d errors, err %v", scan, errs, err)
			// ext4 turned read-only after an error still lets access(2)
			// ask for a write: the test write in data/ tells.
			if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), "the file system is read-only") || strings.Contains(err.Error(), "takes writes") {
				t.Errorf("%s: error %v, want one matching EROFS that says the file system is read-only", scan, err)
			}
			if errs != 1 || len(reported) != 1 {

				t.Errorf("%s: %d errors, %d reported to OnError; want the first refusal alone", scan, errs, len(reported))
			}
		})
	}
}

// TestRekeyReadOnlyScannedSum: two workers each read a record, and the
// file system turns read-only before either rewrites it; both rewrites
// are refused. The first refusal is counted and reported; the second,
// another of the same cause, is not, and its record was then counted in
// Scanned but in no outcome: Scanned no longer the sum of the outcomes
// that RekeyStats and sessgc rekey's summary promise. It is left for the
// next pass now, as a record the store's close cuts.
func TestRekeyReadOnlyScannedSum(t *testing.T) {
	app, dir, trigger, k1, k2 := remountROStore(t)
	ctx := context.Background()
	// Two records in two shards: one for each worker.
	shards := map[string]bool{}
	for len(shards) < 2 {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		if shards[filepath.Dir(app.RecordPathForTest(id))] {
			continue
		}
		shards[filepath.Dir(app.RecordPathForTest(id))] = true
		if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	app.Close()
	s, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var arrived atomic.Int32
	both := make(chan struct{})
	s.SetRekeyReadHookForTest(func(string) {
		// Both records read; the mount turns read-only before either
		// is written.
		if arrived.Add(1) == 2 {
			if err := os.WriteFile(trigger, []byte("1"), 0); err != nil {
				t.Errorf("trigger an ext4 error: %v", err)
			}
			close(both)
		}
		select {
		case <-both:
		case <-time.After(time.Minute): // not a threshold: a deadlock's end
			t.Errorf("the other worker never read its record")
		}
	})
	st, err := s.Rekey(ctx, fsstore.RekeyOptions{Concurrency: 2})
	t.Logf("%+v, err %v", st, err)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("error %v, want one matching EROFS", err)
	}
	if sum := st.Rekeyed + st.UpToDate + st.Expired + st.Errors; st.Scanned != sum || st.Errors != 1 {
		t.Errorf("Scanned %d, errors %d; want the sum of the outcomes %d, the first refusal alone an error (%+v)", st.Scanned, st.Errors, sum, st)
	}
}

// remountROStore returns a store under key 1 (app, in dir), in a new ext4
// image mounted errors=remount-ro, the file whose write turns that image
// read-only as an I/O error would (trigger), and keys 1 and 2.
func remountROStore(t *testing.T) (app *fsstore.Store, dir, trigger string, k1, k2 fsstore.Key) {
	t.Helper()
	root := testenv.MountImage(t, 32<<20, "ext4", "errors=remount-ro", "mkfs.ext4", "-q", "-F")
	trigger = testenv.Ext4ErrorTrigger(t, root)
	dir = filepath.Join(root, "store")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	k1, k2 = mustKey(t, 1), mustKey(t, 2)
	app, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	return app, dir, trigger, k1, k2
}
