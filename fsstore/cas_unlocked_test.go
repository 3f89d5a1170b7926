package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestCompareAndSwapAfterUnlockedWrite: a writer that takes no lock (a
// Store.Delete, as an Optimistic route's log out or an administrator's
// "log out everywhere" makes; a Store.Save, as a lockless adapter makes)
// acts on the record between a CompareAndSwap's read of it and its write.
// The swap fails with ErrConflict and writes nothing: it used to publish
// its record all the same, bringing back a session deleted before it
// returned, or replacing the other save. A touch in between changes no
// version, and the swap goes through.
func TestCompareAndSwapAfterUnlockedWrite(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		at       string // "write": before the swap creates its temp file; "rename": before it renames it
		between  func(s *fsstore.Store, id string) error
		conflict bool   // the swap must fail with ErrConflict
		want     string // the record's payload afterwards; "" none
	}{
		{"deleted", "write", func(s *fsstore.Store, id string) error { return s.Delete(ctx, id) }, true, ""},
		{"saved", "write", func(s *fsstore.Store, id string) error {
			cur, err := s.Load(ctx, id)
			if err != nil {
				return err
			}
			cur.Data = []byte("other")
			return s.Save(ctx, cur)
		}, true, "other"},
		{"touched", "write", func(s *fsstore.Store, id string) error { return s.Touch(ctx, id) }, false, "swapped"},
		{"deleted-at-rename", "rename", func(s *fsstore.Store, id string) error { return s.Delete(ctx, id) }, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				armed atomic.Bool
				s     *fsstore.Store
				id    string
				errc  = make(chan error, 1)
			)
			// A bounded store runs its hook where a save is about to
			// create its temp file: after the swap's read and check.
			s = openTemp(t, fsstore.WithMaxInFlight(8), fsstore.WithTestFSForTest(func(site string) {
				if site == tc.at && armed.CompareAndSwap(true, false) {
					errc <- tc.between(s, id)
				}
			}))
			s.SetLockCheckHookForTest(func(stage string) {
				if stage == tc.at && armed.CompareAndSwap(true, false) {
					errc <- tc.between(s, id)
				}
			})
			id = newID(t)
			sess := &fsstore.Session{ID: id, Data: []byte("first")}
			if err := s.Save(ctx, sess); err != nil {
				t.Fatal(err)
			}
			sess.Data = []byte("swapped")
			armed.Store(true)
			err := s.CompareAndSwap(ctx, sess)
			if berr := <-errc; berr != nil {
				t.Fatalf("the write in between: %v", berr)
			}
			if tc.conflict != errors.Is(err, fsstore.ErrConflict) || !tc.conflict && err != nil {
				t.Errorf("CompareAndSwap after a %s record: %v, want ErrConflict %v", tc.name, err, tc.conflict)
			}
			got, lerr := s.Load(ctx, id)
			switch {
			case tc.want == "" && !errors.Is(lerr, fsstore.ErrNotFound):
				t.Errorf("the session the swap read was %s before it wrote; afterwards Load = %q, %v, want ErrNotFound", tc.name, got.Data, lerr)
			case tc.want != "" && (lerr != nil || string(got.Data) != tc.want):
				t.Errorf("Load after the swap = %v, want %q", lerr, tc.want)
				if lerr == nil {
					t.Errorf("record holds %q", got.Data)
				}
			}
		})
	}
}

// TestCompareAndSwapDuringDelete: a Delete begins right before a
// CompareAndSwap's rename, after the swap's look at the record, and
// removes the swap's fenced temp file, which fails the rename (the swap's
// record renamed in before that removal is removed by the Delete's last
// unlink of the name: TestRenameAcrossDelete). The swap
// wrote nothing, because the session was deleted meanwhile: ErrConflict,
// as for a Delete before its look (httpsession answers 409, and the client
// retries), not a failure of the store's (it was a 500 and an ERROR line).
func TestCompareAndSwapDuringDelete(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	id := newID(t)
	sess := &fsstore.Session{ID: id, Data: []byte("first")}
	if err := s.Save(ctx, sess); err != nil {
		t.Fatal(err)
	}
	paused, release, deleted := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	s.SetDeleteHookForTest(func(step string) {
		if step == "temp" {
			close(paused)
			<-release
		}
	})
	var armed atomic.Bool
	armed.Store(true)
	// After the swap's look found the record in place: the Delete's
	// removal of the temp file is what stops the swap (the Delete
	// removes it after its unlinks of the record's names).
	s.SetSwapCheckedHookForTest(func(string) {
		if armed.CompareAndSwap(true, false) {
			go func() { deleted <- s.Delete(ctx, id) }()
			<-paused
		}
	})
	sess.Data = []byte("swapped")
	err := s.CompareAndSwap(ctx, sess)
	close(release)
	if derr := <-deleted; derr != nil {
		t.Fatalf("Delete: %v", derr)
	}
	if !errors.Is(err, fsstore.ErrConflict) {
		t.Errorf("CompareAndSwap whose temp file a Delete removed: %v, want ErrConflict", err)
	}
	if msg := fmt.Sprint(err); !strings.Contains(msg, "deleted") || strings.Contains(msg, "left as it was") {
		t.Errorf("CompareAndSwap whose temp file a Delete removed: %q, want it to say the session was deleted", msg)
	}
	if got, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("Load after the Delete = %q, %v; want ErrNotFound", got.Data, err)
	}
}

// TestCompareAndSwapTempSwept: the sweep removes a swap's temp file that
// it takes for a stale one (here its clock an hour ahead: file times
// skewed against it, or a write paused past TempAge), between the swap's
// checks and its rename. Nothing is written and a retry is right
// (ErrConflict), but the session was not deleted: the error said "the
// session was deleted while it was being written", which sent a reader
// after a Delete that never was. It says that the record was left as it
// was, and names the sweep; for a create, which read no record, it names
// both. The retry goes through.
func TestCompareAndSwapTempSwept(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		create bool
		want   []string
		not    []string
	}{
		{"update", false, []string{"left as it was", "the sweep"}, []string{"was deleted"}},
		{"create", true, []string{"a Delete of the session or by the sweep"}, []string{"was deleted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			ahead := openDir(t, dir, fsstore.WithClock(func() time.Time { return time.Now().Add(time.Hour) }))
			id := newID(t)
			// Live by the sweep's clock too: it removes the temp file
			// alone.
			sess := &fsstore.Session{ID: id, Data: []byte("first"), Idle: 24 * time.Hour}
			if !tc.create {
				if err := s.CompareAndSwap(ctx, sess); err != nil {
					t.Fatal(err)
				}
			}
			var armed atomic.Bool
			armed.Store(true)
			var swept fsstore.SweepStats
			var sweepErr error
			s.SetLockCheckHookForTest(func(stage string) {
				if stage == "rename" && armed.CompareAndSwap(true, false) {
					swept, sweepErr = ahead.Sweep(ctx, fsstore.SweepOptions{})
				}
			})
			next := *sess
			next.Data = []byte("swapped")
			err := s.CompareAndSwap(ctx, &next)
			if sweepErr != nil || swept.Temps == 0 {
				t.Fatalf("the sweep: %+v, %v; want the swap's temp file removed", swept, sweepErr)
			}
			if !errors.Is(err, fsstore.ErrConflict) {
				t.Fatalf("CompareAndSwap whose temp file the sweep removed: %v, want ErrConflict", err)
			}
			msg := err.Error()
			t.Log(msg)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(msg, w) {
					t.Errorf("%q says %q", msg, w)
				}
			}
			if !tc.create {
				if got, err := s.Load(ctx, id); err != nil {
					t.Errorf("Load after the failed swap: %v; want the record left as it was", err)
				} else if string(got.Data) != "first" {
					t.Errorf("Load after the failed swap = %q; want the record left as it was", got.Data)
				}
			}
			if err := s.CompareAndSwap(ctx, &next); err != nil {
				t.Errorf("the retry: %v", err)
			}
		})
	}
}
