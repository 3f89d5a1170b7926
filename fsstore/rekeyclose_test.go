package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// rekeyStoppedByClose is what the error of a Rekey that a Close of its
// store cut says, whatever step the close cut: the step's own error
// ("open dir ...: store closed") read as a failure of the pass.
const rekeyStoppedByClose = "rekey stopped by the store's Close"

// TestRekeyWhileStoreCloses closes the store from another goroutine while
// a Rekey of it runs, stopped at a point of its first record: before the
// record's lock, under it before the rewrite, and right before the
// rewrite's rename, on both lock strategies. Close returns while the pass
// is held there; the pass then ends with an error matching ErrClosed;
// every record is whole, under its old key or its new one, with no temp
// file left beside it; the store's rekey lock and every record's lock are
// released, with no warning that a release failed (on the lease
// strategy: its lease file locks/rekey.lease is gone, and a rekey by
// another store runs at once); and no goroutine of the store is left.
func TestRekeyWhileStoreCloses(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, at := range []string{"listed", "read", "checked"} {
			for _, bounded := range []bool{false, true} {
				name := strategy.String() + "/" + at
				if bounded {
					name += "/bounded"
				}
				t.Run(name, func(t *testing.T) {
					testRekeyWhileStoreCloses(t, strategy, at, bounded)
				})
			}
		}
	}
}

func testRekeyWhileStoreCloses(t *testing.T, strategy lock.Strategy, at string, bounded bool) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	withStrategy := fsstore.WithLockStrategy(strategy)
	app := openDir(t, dir, fsstore.WithKeys(k1), withStrategy)
	const n = 4
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newID(t)
		must(t, app.Save(ctx, &fsstore.Session{ID: ids[i], Data: []byte("data of " + ids[i])}))
	}
	must(t, app.Close())
	goroutines := runtime.NumGoroutine()

	logs := &syncBuffer{}
	opts := []fsstore.Option{fsstore.WithKeys(k2, k1), withStrategy, fsstore.WithLogger(slog.New(slog.NewTextHandler(logs, nil)))}
	if bounded {
		opts = append(opts, fsstore.WithMaxInFlight(8))
	}
	s, err := fsstore.Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	reached, goOn := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := func(string) {
		once.Do(func() {
			close(reached)
			<-goOn
		})
	}
	switch at {
	case "listed":
		s.SetRekeyListedHookForTest(hold)
	case "read":
		s.SetRekeyReadHookForTest(hold)
	case "checked":
		s.SetRekeyCheckedHookForTest(hold)
	}
	type result struct {
		st  fsstore.RekeyStats
		err error
	}
	rekeyed := make(chan result, 1)
	go func() {
		st, err := s.Rekey(ctx, fsstore.RekeyOptions{Concurrency: 2})
		rekeyed <- result{st, err}
	}()
	var released sync.Once
	letGo := func() { released.Do(func() { close(goOn) }) }
	defer letGo()
	select {
	case <-reached:
	case r := <-rekeyed:
		t.Fatalf("Rekey ended before its first record's %s point: %+v, %v", at, r.st, r.err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close while a rekey runs: %v", err)
		}
	case <-time.After(time.Minute):
		letGo()
		t.Fatalf("Close did not return within a minute of its call while a rekey ran")
	}
	letGo()
	var r result
	select {
	case r = <-rekeyed:
	case <-time.After(time.Minute):
		t.Fatalf("Rekey did not return within a minute of the store's close")
	}
	if !errors.Is(r.err, fsstore.ErrClosed) || !strings.Contains(fmt.Sprint(r.err), rekeyStoppedByClose) {
		t.Errorf("Rekey of a store closed under it = %+v, %v; want an error matching ErrClosed that says %q", r.st, r.err, rekeyStoppedByClose)
	}
	if r.st.Errors != 0 {
		t.Errorf("Rekey of a store closed under it counted %d errors (%+v), want none: the close ended the pass", r.st.Errors, r.st)
	}
	if out := logs.String(); strings.Contains(out, "releasing its lock failed") || strings.Contains(out, "level=WARN") {
		t.Errorf("Rekey of a store closed under it logged a warning:\n%s", out)
	}

	// Every record whole, under either key; no temp file left in the
	// data directory.
	if err := filepath.WalkDir(filepath.Join(dir, fsstore.DataDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp") {
			t.Errorf("Rekey of a store closed under it left %s", p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, fsstore.LockDir, "rekey.lease")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the rekey lock's lease after the rekey of a closed store ended: %v, want none", err)
	}
	next := openDir(t, dir, fsstore.WithKeys(k2, k1), withStrategy)
	for _, id := range ids {
		mustLoad(t, next, id, "data of "+id)
	}
	if st, err := next.Rekey(ctx, fsstore.RekeyOptions{}); err != nil || st.Rekeyed+st.UpToDate != n || st.Errors != 0 {
		t.Errorf("Rekey after the one closed under it = %+v, %v; want every record rewritten or up to date", st, err)
	}
	must(t, next.Close())
	if !poll(func() bool { return runtime.NumGoroutine() <= goroutines }) {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the stores closed, %d before:\n%s", runtime.NumGoroutine(), goroutines, buf[:runtime.Stack(buf, true)])
	}
}

// TestRateWaitEndsAtClose closes the store while a Rekey or a Sweep with
// a Rate waits for its next slot: the pass ends with an error matching
// ErrClosed, and releases the store-level lock it holds (the rekey lock,
// the sweep lock), at once. The wait ended only with the caller's
// context, or at its slot: a pass at a low Rate went on after Close had
// returned, for as long as its wait (at Rate 0.001, a quarter of an
// hour per record), holding its lock, on the lease strategy renewing its
// lease from a goroutine of the closed store.
func TestRateWaitEndsAtClose(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		for _, op := range []string{"rekey", "sweep"} {
			t.Run(strategy.String()+"/"+op, func(t *testing.T) {
				ctx := context.Background()
				k1, k2 := mustKey(t, 1), mustKey(t, 2)
				dir := t.TempDir()
				withStrategy := fsstore.WithLockStrategy(strategy)
				app := openDir(t, dir, fsstore.WithKeys(k1), withStrategy)
				const n = 4
				for i := 0; i < n; i++ {
					id := newID(t)
					must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
					if op == "sweep" {
						long := time.Now().Add(-48 * time.Hour)
						must(t, os.Chtimes(app.RecordPathForTest(id), long, long))
					}
				}
				must(t, app.Close())
				goroutines := runtime.NumGoroutine()
				logs := &syncBuffer{}
				s, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), withStrategy, fsstore.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
				if err != nil {
					t.Fatal(err)
				}
				const rate = 1e-6 // the second record waits days
				type result struct {
					n   int64
					err error
				}
				done := make(chan result, 1)
				go func() {
					if op == "rekey" {
						st, err := s.Rekey(ctx, fsstore.RekeyOptions{Rate: rate})
						done <- result{st.Rekeyed, err}
						return
					}
					st, err := s.Sweep(ctx, fsstore.SweepOptions{Rate: rate})
					done <- result{st.Sessions, err}
				}()
				if !poll(func() bool { return inStack("(*limiter).reserve") }) {
					t.Fatalf("%s never waited for its Rate", op)
				}
				must(t, s.Close())
				var r result
				select {
				case r = <-done:
				case <-time.After(time.Minute):
					buf := make([]byte, 1<<20)
					t.Fatalf("%s waiting for its Rate did not return within a minute of the store's close\n%s", op, buf[:runtime.Stack(buf, true)])
				}
				if !errors.Is(r.err, fsstore.ErrClosed) || r.n != 1 {
					t.Errorf("%s of a store closed while it waited for its Rate: %d done, %v; want 1 done, an error matching ErrClosed", op, r.n, r.err)
				}
				if stopped := op + " stopped by the store's Close"; !strings.Contains(fmt.Sprint(r.err), stopped) {
					t.Errorf("%s of a store closed while it waited for its Rate: %v; want it to say %q", op, r.err, stopped)
				}
				if out := logs.String(); strings.Contains(out, "level=WARN") {
					t.Errorf("%s of a store closed under it logged a warning:\n%s", op, out)
				}
				for _, f := range []string{"rekey.lease", "sweep.lease"} {
					if _, err := os.Lstat(filepath.Join(dir, fsstore.LockDir, f)); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("%s after the %s of a closed store ended: %v, want none", f, op, err)
					}
				}
				if !poll(func() bool { return runtime.NumGoroutine() <= goroutines }) {
					buf := make([]byte, 1<<20)
					t.Errorf("%d goroutines after the store closed, %d before:\n%s", runtime.NumGoroutine(), goroutines, buf[:runtime.Stack(buf, true)])
				}
			})
		}
	}
}

// inStack reports whether a goroutine of the process runs the function
// fn (as a stack trace names it, "(*T).m") this instant.
func inStack(fn string) bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "fsstore."+fn+"(")
}

// TestRateWaitEndsAtCloseEveryWhere closes the store while a Sweep with a
// Rate waits for a slot before removing a file of each kind the sweep
// paces: a temp file at the store's top, one in a shard, a lease file a
// breaker left in the lock directory. The sweep ends at that wait, with
// its error (not a later step's failure on the closed store) and nothing
// counted as failed, having removed only the first file; the wait before
// the top's temp files had its end dropped, and the sweep went on to the
// next file and the shards until a step of it failed on the closed store
// ("stat .../.tmp-...: store closed"), or, before the close reached the
// store's directory, with no error at all.
func TestRateWaitEndsAtCloseEveryWhere(t *testing.T) {
	for _, kind := range []string{"top-temp", "shard-temp", "broken-lease"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			app := openDir(t, dir)
			id := newID(t)
			must(t, app.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
			shard := filepath.Dir(app.RecordPathForTest(id))
			must(t, app.Close())
			var where, prefix string
			switch kind {
			case "top-temp":
				where, prefix = dir, ".tmp-left-"
			case "shard-temp":
				where, prefix = shard, ".tmp-left-"
			case "broken-lease":
				where, prefix = filepath.Join(dir, fsstore.LockDir), "gone.lease.broken-"
			}
			long := time.Now().Add(-48 * time.Hour)
			const n = 3
			for i := 0; i < n; i++ {
				p := filepath.Join(where, fmt.Sprintf("%s%d", prefix, i))
				must(t, os.WriteFile(p, nil, 0o600))
				must(t, os.Chtimes(p, long, long))
			}
			s, err := fsstore.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				st  fsstore.SweepStats
				err error
			}
			done := make(chan result, 1)
			go func() {
				st, err := s.Sweep(ctx, fsstore.SweepOptions{Rate: 1e-6})
				done <- result{st, err}
			}()
			if !poll(func() bool { return inStack("(*limiter).reserve") }) {
				t.Fatal("the sweep never waited for its Rate")
			}
			must(t, s.Close())
			var r result
			select {
			case r = <-done:
			case <-time.After(time.Minute):
				t.Fatal("the sweep did not return within a minute of the store's close")
			}
			if !errors.Is(r.err, fsstore.ErrClosed) || !strings.Contains(fmt.Sprint(r.err), "waiting for Rate") {
				t.Errorf("sweep of a store closed while it waited for its Rate: %v; want the wait's error, matching ErrClosed", r.err)
			}
			if r.st.Removed() != 1 || r.st.Errors != 0 {
				t.Errorf("sweep of a store closed while it waited for its Rate: %+v; want 1 removed, no errors", r.st)
			}
			left, err := filepath.Glob(filepath.Join(where, prefix+"*"))
			if err != nil || len(left) != n-1 {
				t.Errorf("after the sweep of a closed store: %q left (%v), want %d", left, err, n-1)
			}
		})
	}
}
