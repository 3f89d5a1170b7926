package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestKeylessStoreLearnsEncryption: a process opened without keys before
// a process with keys marked the store encrypted must stop writing
// plaintext, over the encrypted session and under a new ID, once it re-reads
// the marker (after KeylessRecheck by its clock) or as soon as a Load meets
// an encrypted record. It used to write plaintext forever: it knew only what
// the marker said when it opened.
func TestKeylessStoreLearnsEncryption(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// learn makes the keyless store find out, by advancing its clock
		// or loading an encrypted record.
		learn func(t *testing.T, clk *fakeclock.Clock, s *fsstore.Store, id string)
	}{
		{"marker re-read", func(t *testing.T, clk *fakeclock.Clock, s *fsstore.Store, id string) {
			clk.Advance(fsstore.KeylessRecheck)
		}},
		{"Load of an encrypted record", func(t *testing.T, clk *fakeclock.Clock, s *fsstore.Store, id string) {
			// Not ErrUnknownKey: the key is not unknown, this process has
			// none (and the UnknownKey alert would send the operator after
			// a retired key).
			if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrKeysRequired) || errors.Is(err, fsstore.ErrUnknownKey) {
				t.Fatalf("keyless Load of an encrypted record: %v, want ErrKeysRequired", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := fakeclock.New()
			keyless := openDir(t, dir, fsstore.WithClock(clk.Now))
			keyed := openDir(t, dir, fsstore.WithKeys(mustKey(t, 1)), fsstore.WithClock(clk.Now))
			id, fresh := newID(t), newID(t)
			if err := keyed.Save(ctx, &fsstore.Session{ID: id, Data: []byte("secret")}); err != nil {
				t.Fatal(err)
			}

			tc.learn(t, clk, keyless, id)
			for _, sid := range []string{id, fresh} {
				if err := keyless.Save(ctx, &fsstore.Session{ID: sid, Data: []byte("clear")}); !errors.Is(err, fsstore.ErrKeysRequired) {
					t.Fatalf("keyless Save after the store was encrypted: %v, want ErrKeysRequired", err)
				}
				// Over the encrypted session, CompareAndSwap's read of the
				// current version may refuse first.
				err := keyless.CompareAndSwap(ctx, &fsstore.Session{ID: sid, Data: []byte("clear")})
				if !errors.Is(err, fsstore.ErrKeysRequired) {
					t.Fatalf("keyless CompareAndSwap after the store was encrypted: %v, want ErrKeysRequired", err)
				}
			}
			// It stays refused: the knowledge is never dropped.
			clk.Advance(fsstore.KeylessRecheck)
			if err := keyless.Save(ctx, &fsstore.Session{ID: fresh, Data: []byte("clear")}); !errors.Is(err, fsstore.ErrKeysRequired) {
				t.Fatalf("keyless Save later: %v, want ErrKeysRequired", err)
			}
			if got, err := keyed.Load(ctx, id); err != nil || string(got.Data) != "secret" {
				t.Fatalf("keyed Load of the encrypted session: %v %q, want it intact", err, got.Data)
			}
			if _, err := keyed.Load(ctx, fresh); !errors.Is(err, fsstore.ErrNotFound) {
				t.Fatalf("keyed Load of the new ID: %v, want ErrNotFound (no plaintext record)", err)
			}
		})
	}
}

// TestKeylessStoreStaysUsable: the re-read must not refuse saves on a
// store nobody encrypted, however much time passes.
func TestKeylessStoreStaysUsable(t *testing.T) {
	ctx := context.Background()
	clk := fakeclock.New()
	s := openTemp(t, fsstore.WithClock(clk.Now))
	id := newID(t)
	for i := 0; i < 3; i++ {
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("clear")}); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		clk.Advance(fsstore.KeylessRecheck)
	}
}

// TestKeylessSavesShareAMarkerRead: saves of a keyless store that ask while
// another save re-reads the marker are answered by that read, however long
// it takes, and share its outcome. They used to judge it by when they got
// their turn: after a read that took longer than KeylessRecheck (a client
// whose CPU is saturated), each waiting save read again in turn, waiting
// for the sum of the reads before it, and 64 saves at once on an NFS mount
// in a busy guest ran past the store's 10 s ceiling (503s) with nothing
// wrong with the server.
func TestKeylessSavesShareAMarkerRead(t *testing.T) {
	const saves = 8
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// meanwhile runs during the shared read, before the marker is read.
		meanwhile func(t *testing.T, dir string)
		ok        func(err error) bool
		want      string
	}{
		{"not encrypted", nil, func(err error) bool { return err == nil }, "nil"},
		{"encrypted meanwhile", func(t *testing.T, dir string) {
			keyed, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)))
			if err != nil {
				t.Error(err)
				return
			}
			keyed.Close()
		}, func(err error) bool { return errors.Is(err, fsstore.ErrKeysRequired) }, "ErrKeysRequired"},
		{"marker unreadable", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, fsstore.MarkerFile)); err != nil {
				t.Error(err)
			}
		}, func(err error) bool { return err != nil && !errors.Is(err, fsstore.ErrKeysRequired) }, "the read's error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := fakeclock.New()
			s := openDir(t, dir, fsstore.WithClock(clk.Now))
			asked := make(chan struct{}, saves)
			var reads atomic.Int32
			s.SetMarkerCheckHookForTest(func(stage string) {
				if stage == "wait" || reads.Add(1) > 1 {
					// A save that reads for itself instead has asked
					// too: the first read must not wait for it in vain.
					asked <- struct{}{}
				} else {
					// The first read is under way until every other
					// save has asked.
					for range saves - 1 {
						<-asked
					}
					if tc.meanwhile != nil {
						tc.meanwhile(t, dir)
					}
				}
				if stage == "read" {
					// Each read takes longer than the interval.
					clk.Advance(fsstore.KeylessRecheck + time.Second)
				}
			})
			clk.Advance(fsstore.KeylessRecheck) // Open's read is stale
			errs := make(chan error, saves)
			for range saves {
				id := newID(t)
				go func() {
					errs <- s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("clear")})
				}()
			}
			for range saves {
				if err := <-errs; !tc.ok(err) {
					t.Errorf("save: %v, want %s", err, tc.want)
				}
			}
			if got := reads.Load(); got != 1 {
				t.Errorf("%d saves asking during one marker read made %d reads, want 1", saves, got)
			}
		})
	}
}

// A process without keys that meets an encrypted record is told so
// (ErrKeysRequired), not that the record's key is unknown: that outcome
// (OutcomeUnknownKey) means a keyed process lacks a key, and its alert
// sends the operator after a retired key. Range, which can read no record
// of an encrypted store without keys, says so once instead of counting
// and logging every record as an error.
func TestKeylessMeetsEncryptedRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var obs outcomes
	keyless := openDir(t, dir, fsstore.WithObserver(&obs))
	keyed := openDir(t, dir, fsstore.WithKeys(mustKey(t, 1)))
	for range 3 {
		if err := keyed.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("secret")}); err != nil {
			t.Fatal(err)
		}
	}
	id := newID(t)
	if err := keyed.Save(ctx, &fsstore.Session{ID: id, Data: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	_, err := keyless.Load(ctx, id)
	if !errors.Is(err, fsstore.ErrKeysRequired) || errors.Is(err, fsstore.ErrUnknownKey) {
		t.Fatalf("keyless Load of an encrypted record: %v, want ErrKeysRequired", err)
	}
	if n := obs.get(fsstore.OutcomeUnknownKey); n != 0 {
		t.Fatalf("Observer saw %d unknown_key outcomes, want 0", n)
	}

	maint := openDir(t, dir, fsstore.WithMaintenanceOnly())
	st, err := maint.Range(ctx, func(*fsstore.Record) bool { return true })
	if !errors.Is(err, fsstore.ErrKeysRequired) || st.Errors != 0 || st.UnknownKey != 0 {
		t.Fatalf("keyless Range of an encrypted store: %+v, %v; want ErrKeysRequired", st, err)
	}
}

// A keyless store's loads of plaintext records learn that the store was
// encrypted by re-reading the marker, but no more than its saves do: one
// read per KeylessRecheck however many loads ask, none while the last
// read is fresh, so that a read-mostly host on NFS pays no round trip per
// load for it.
func TestKeylessLoadsShareMarkerReads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New()
	s := openDir(t, dir, fsstore.WithClock(clk.Now))
	id := newID(t)
	must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("clear")}))
	var reads atomic.Int32
	s.SetMarkerCheckHookForTest(func(stage string) {
		if stage == "read" {
			reads.Add(1)
		}
	})
	load := func(n int) {
		t.Helper()
		for range n {
			if _, err := s.Load(ctx, id); err != nil {
				t.Fatal(err)
			}
			must(t, s.Touch(ctx, id))
		}
	}
	load(100)
	if got := reads.Load(); got != 0 {
		t.Errorf("100 loads and touches while the last marker read is fresh made %d reads, want 0", got)
	}
	clk.Advance(fsstore.KeylessRecheck)
	load(100)
	if got := reads.Load(); got != 1 {
		t.Errorf("100 loads and touches after KeylessRecheck made %d reads, want 1", got)
	}
}

// A marker read that fails answers for as long as one that succeeds: the
// loads and touches of plaintext records on a keyless host fail with its
// error (the marker could have said encrypted) until KeylessRecheck has
// passed, without a read of their own each (an unreadable marker on a slow
// NFS mount would otherwise cost every request a round trip), and a load
// that finds the record cached fails at once rather than read the record
// again and the marker once more.
func TestKeylessMarkerReadFailureShared(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := fakeclock.New()
	s := openDir(t, dir, fsstore.WithClock(clk.Now), fsstore.WithCache(16, 1<<20))
	id := newID(t)
	must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("clear")}))
	if _, err := s.Load(ctx, id); err != nil {
		t.Fatal(err) // cached now
	}
	var reads atomic.Int32
	s.SetMarkerCheckHookForTest(func(stage string) {
		if stage == "read" {
			reads.Add(1)
		}
	})
	marker := filepath.Join(dir, fsstore.MarkerFile)
	saved, err := os.ReadFile(marker)
	must(t, err)
	must(t, os.Remove(marker))
	clk.Advance(fsstore.KeylessRecheck)
	for i := range 100 {
		if _, err := s.Load(ctx, id); err == nil {
			t.Fatalf("load %d with the marker unreadable: served the plaintext record", i)
		}
		if err := s.Touch(ctx, id); err == nil {
			t.Fatalf("touch %d with the marker unreadable: nil error", i)
		}
	}
	if got := reads.Load(); got != 1 {
		t.Errorf("100 loads and touches within KeylessRecheck of a failed marker read made %d reads, want 1", got)
	}
	must(t, os.WriteFile(marker, saved, 0o644))
	clk.Advance(fsstore.KeylessRecheck)
	if _, err := s.Load(ctx, id); err != nil {
		t.Errorf("load once the marker reads again: %v", err)
	}
	if got := reads.Load(); got != 2 {
		t.Errorf("marker reads after KeylessRecheck: %d, want 2", got)
	}
}

// TestKeylessMarkerReadsOrderedByStart: the outcome of a keyless store's
// marker reads that all callers share is the one of the read begun last,
// whichever ends last: a read that fails after a later-begun one
// succeeded (one slow read, then another begun KeylessRecheck later) must
// not stand in for it. It did, left as the failure to share, and once the
// clock went back below the success's start (which then answers for no
// caller) every save and plaintext load within KeylessRecheck of the
// stale failure's start failed with its error instead of reading again.
func TestKeylessMarkerReadsOrderedByStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	s := openDir(t, dir, fsstore.WithClock(clock))
	marker := filepath.Join(dir, fsstore.MarkerFile)
	saved, err := os.ReadFile(marker)
	must(t, err)

	var reads atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	s.SetMarkerCheckHookForTest(func(stage string) {
		if stage == "read" && reads.Add(1) == 1 {
			// The first read stalls, and fails once let go.
			close(started)
			<-release
			if err := os.Remove(marker); err != nil {
				t.Error(err)
			}
		}
	})
	now.Add(int64(fsstore.KeylessRecheck)) // Open's read is stale
	first := now.Load()
	slow := make(chan error, 1)
	go func() { slow <- s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("clear")}) }()
	<-started
	// Too late for the stalled read to answer: a read of its own, which
	// succeeds.
	now.Add(int64(fsstore.KeylessRecheck + time.Second))
	if err := s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("clear")}); err != nil {
		t.Fatalf("save reading the marker while an older read stalls: %v", err)
	}
	close(release)
	if err := <-slow; err == nil {
		t.Fatalf("save whose marker read failed: nil error")
	}
	must(t, os.WriteFile(marker, saved, 0o644))

	// The clock goes back to within KeylessRecheck of the failed read's
	// start, before the successful one's.
	now.Store(first + int64(time.Second))
	if err := s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("clear")}); err != nil {
		t.Errorf("save after the clock went back: %v; want a read of its own (the marker reads), not the older failure", err)
	}
	if got := reads.Load(); got != 3 {
		t.Errorf("%d marker reads, want 3", got)
	}
}

// TestKeylessClockReadAgainAfterMarkerRead: a load and a save of a keyless
// store reuse their clock reading for the marker check, but not past a
// marker read that check makes or waits for (on NFS a round trip that may
// take seconds): a session that expires during the read is not served, and
// a save's times are those after the read, not before it, where the sweep
// judges its record by them.
func TestKeylessClockReadAgainAfterMarkerRead(t *testing.T) {
	const idle = 10 * time.Second
	for _, op := range []string{"load", "save"} {
		t.Run(op, func(t *testing.T) {
			ctx := context.Background()
			clk := fakeclock.New()
			s := openDir(t, t.TempDir(), fsstore.WithClock(clk.Now))
			sess := &fsstore.Session{ID: newID(t), Data: []byte("clear"), Idle: idle}
			must(t, s.Save(ctx, sess))
			clk.Advance(fsstore.KeylessRecheck + time.Second) // the marker is due a read
			s.SetMarkerCheckHookForTest(func(stage string) {
				if stage == "read" {
					clk.Advance(idle) // the read took this long
				}
			})
			switch op {
			case "load":
				if got, err := s.Load(ctx, sess.ID); !errors.Is(err, fsstore.ErrExpired) {
					t.Fatalf("load of a session that expired while the marker was read: %v (served: %v); want ErrExpired", err, got != nil)
				}
			case "save":
				must(t, s.Save(ctx, sess))
				if after := clk.Now(); sess.Expires.Before(after.Add(idle)) {
					t.Fatalf("save whose marker check read the marker until %v: expires %v, before that plus its idle timeout", after, sess.Expires)
				}
			}
		})
	}
}
