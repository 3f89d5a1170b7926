//go:build unix

package fsstore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestSweepCallbackPanic: a panic in OnRemove, OnError or OnForeign, which run on the
// sweep's worker goroutines, is raised again in Sweep's caller, as
// Range's fn's is: it does not end the process. The sweep stops as when
// its context ends: no callback after the panic, nothing it moved aside
// left there, its locks released, so that the next sweep runs and removes
// the rest.
func TestSweepCallbackPanic(t *testing.T) {
	for _, cb := range []string{"OnRemove", "OnError", "OnForeign"} {
		for _, bounded := range []bool{false, true} {
			name := cb
			if bounded {
				name += "/bounded"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				dir := t.TempDir()
				opts := []fsstore.Option{fsstore.WithIdleTimeout(time.Minute)}
				if bounded {
					opts = append(opts, fsstore.WithMaxInFlight(4))
				}
				s, err := fsstore.Open(dir, opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				old := time.Now().Add(-48 * time.Hour)
				const expired = 40
				for range expired {
					id := newID(t)
					if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
						t.Fatal(err)
					}
					if err := os.Chtimes(s.RecordPathForTest(id), old, old); err != nil {
						t.Fatal(err)
					}
					// For OnForeign: a file not the store's beside it.
					if err := os.WriteFile(s.RecordPathForTest(id)+".bak", []byte("x"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				// For OnError: a live record an earlier sweep left aside,
				// whose put-back fails.
				live := newID(t)
				if err := s.Save(ctx, &fsstore.Session{ID: live, Data: []byte("live")}); err != nil {
					t.Fatal(err)
				}
				p := s.RecordPathForTest(live)
				liveAside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
				if err := os.Rename(p, liveAside); err != nil {
					t.Fatal(err)
				}
				s.SetSweepHooksForTest(func(string, string) error { return syscall.EIO }, nil, nil)

				var calls atomic.Int64
				boom := func() {
					calls.Add(1)
					panic("boom")
				}
				o := fsstore.SweepOptions{Concurrency: 4}
				switch cb {
				case "OnRemove":
					o.OnRemove = func(fsstore.Removal) { boom() }
				case "OnError":
					o.OnError = func(error) { boom() }
				case "OnForeign":
					o.OnForeign = func(string) { boom() }
				}
				got := func() (p any) {
					defer func() { p = recover() }()
					s.Sweep(ctx, o)
					return nil
				}()
				if got != "boom" {
					t.Fatalf("Sweep with %s panicking raised %v in its caller; want the callback's panic", cb, got)
				}
				// Callbacks run on the workers at once: each may have had
				// one under way as the first panicked, and none starts
				// another after it (40 records to remove).
				if n := calls.Load(); n < 1 || n > int64(o.Concurrency) {
					t.Errorf("%s called %d times; want at most one per worker (%d): none after the first panic", cb, n, o.Concurrency)
				}
				for _, a := range asides(t, dir) {
					if a != liveAside {
						t.Errorf("the sweep that stopped at the panic left %s aside", a)
					}
				}

				// The sweep lock is free: the next sweep runs (the deadline
				// only keeps a held lock from hanging the test).
				s.SetSweepHooksForTest(nil, nil, nil)
				ctx2, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				st, err := s.Sweep(ctx2, fsstore.SweepOptions{})
				if err != nil {
					t.Fatalf("the sweep after the panic: %v", err)
				}
				if st.Live != 0 || st.Restored != 1 {
					t.Errorf("the sweep after the panic: %+v; want the live record restored", st)
				}
				if a := asides(t, dir); len(a) != 0 {
					t.Errorf("after the second sweep, left aside: %v", a)
				}
				if _, err := s.Load(ctx, live); err != nil {
					t.Errorf("Load of the live session: %v", err)
				}
				all, err := s.Stats(ctx, fsstore.StatsOptions{})
				if err != nil || all.Expired != 0 {
					t.Errorf("after the second sweep: %+v, %v; want no expired session left", all, err)
				}
			})
		}
	}
}

// TestRekeyCallbackPanic: a panic in Rekey's OnError, called from its
// worker goroutines, is raised again in Rekey's caller; the pass stops,
// leaves no temp file and no lock held, and the next pass rewrites the
// rest.
func TestRekeyCallbackPanic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	s1, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	const records = 20
	for range records {
		if err := s1.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	s1.Close()
	s2, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), fsstore.WithDurability(fsstore.DurabilityFull))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// Every rewrite's directory sync fails: each record is an error.
	s2.SetDirSyncForTest(func(int) error { return syscall.EIO })
	var calls atomic.Int64
	got := func() (p any) {
		defer func() { p = recover() }()
		s2.Rekey(ctx, fsstore.RekeyOptions{Concurrency: 4, OnError: func(error) {
			calls.Add(1)
			panic("boom")
		}})
		return nil
	}()
	s2.SetDirSyncForTest(nil)
	if got != "boom" {
		t.Fatalf("Rekey with OnError panicking raised %v in its caller; want the callback's panic", got)
	}
	// As in TestSweepCallbackPanic: at most one per worker, of 20 records.
	if n := calls.Load(); n < 1 || n > 4 {
		t.Errorf("OnError called %d times; want at most one per worker (4): none after the first panic", n)
	}
	temps, err := filepath.Glob(filepath.Join(dir, "data", "*", ".tmp-*"))
	if err != nil || len(temps) != 0 {
		t.Errorf("the pass that stopped at the panic left temp files %v (%v)", temps, err)
	}
	ctx2, cancel := context.WithTimeout(ctx, time.Minute) // a lock left held would hang the pass
	defer cancel()
	st, err := s2.Rekey(ctx2, fsstore.RekeyOptions{})
	if err != nil || st.Errors != 0 || st.Rekeyed+st.UpToDate != records {
		t.Errorf("the pass after the panic: %+v, %v; want every record rewritten or up to date", st, err)
	}
}

// TestSweepLoggerPanicAtSkippedFile: the store's logger is the store's,
// as its Observer is, and its handler's panic, here on each record of a
// file the sweep skips, is recovered where the store logs: the sweep goes
// on to its end, counts each file it skipped and reports it to OnError,
// and returns, no panic raised in its caller (OnError's own panic is
// raised there: TestSweepCallbackPanic). The panics reach standard error,
// the one place left, as the Observer's reach the log: the first with its
// stack, then one a minute at most, and Close says how many were not
// written. A stack was written for each skipped file.
func TestSweepLoggerPanicAtSkippedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h := panicHandler{Handler: slog.NewTextHandler(io.Discard, nil), msg: "sweep: file skipped"}
	s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(time.Minute), fsstore.WithLogger(slog.New(h)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var stderr syncBuffer
	clk := fakeclock.New() // stands still: every panic within the minute
	s.SetHandlerPanicsForTest(&stderr, clk.Now)
	// Live records an earlier sweep left aside, whose put-back fails:
	// each is a file skipped.
	const aside = 20
	for range aside {
		id := newID(t)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("live")}); err != nil {
			t.Fatal(err)
		}
		p := s.RecordPathForTest(id)
		if err := os.Rename(p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	s.SetSweepHooksForTest(func(string, string) error { return syscall.EIO }, nil, nil)
	var onError atomic.Int64
	st, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: 4, OnError: func(error) { onError.Add(1) }})
	if err != nil || st.Errors != aside || onError.Load() != aside {
		t.Fatalf("sweep: %+v, %v, OnError called %d times; want %d errors, each reported", st, err, onError.Load(), aside)
	}
	if n := strings.Count(stderr.String(), "the logger's handler panicked; log record lost: log handler"); n != 1 {
		t.Errorf("%d panics written with their stack for %d panics within a minute, want 1:\n%s", n, aside, stderr.String())
	}
	clk.Advance(time.Minute)
	s.SetSweepHooksForTest(func(string, string) error { return syscall.EIO }, nil, nil)
	if _, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("log handler (and %d more panics of it, not written, since the last written)", aside-1); !strings.Contains(stderr.String(), want) {
		t.Errorf("a minute later, stderr does not say %q:\n%s", want, stderr.String())
	}
	s.Close()
	if want := fmt.Sprintf("panicked %d more times since the last panic written", aside-1); !strings.Contains(stderr.String(), want) {
		t.Errorf("after Close, stderr does not say %q:\n%s", want, stderr.String())
	}
}
