//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestRenameAcrossDelete: a Delete (which takes no lock) runs while a
// writer under the session's lock that looks at the record before its
// rename (a CompareAndSwap, a Rekey) rewrites the record it read. The
// Delete's first steps come before the writer creates its temp file and
// looks (from: 0, none, the Delete beginning after the look), more of
// them before its rename (to), for every pair. Whichever they are, the
// session stays deleted once the Delete returned: the write fails, or its
// record is removed by a step after it; the swap succeeds or fails with
// ErrConflict, and the rekey counts no error. A look before the Delete's
// first unlink of the name, with a rename after its second and before its
// last removal of the fenced temp file, published the rewritten session
// after a log out that had returned success.
func TestRenameAcrossDelete(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	// The number of steps of a Delete (its hook runs after each).
	steps := 0
	{
		s := openTemp(t)
		id := newID(t)
		must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
		s.SetDeleteHookForTest(func(string) { steps++ })
		must(t, s.Delete(ctx, id))
	}
	type writer struct {
		app *fsstore.Store // the store that deletes
		id  string
		// hooks sets the writer's hooks: read once it has read the
		// record, before its temp file; looked once its look found the
		// record in place, before its rename.
		hooks func(read, looked func())
		run   func() error
	}
	for _, w := range []struct {
		name string
		open func(t *testing.T) writer
	}{
		{"compare-and-swap", func(t *testing.T) writer {
			var read func()
			// A bounded store runs this where a save is about to
			// create its temp file: after the swap's read and check.
			s := openTemp(t, fsstore.WithMaxInFlight(8), fsstore.WithTestFSForTest(func(site string) {
				if site == "write" && read != nil {
					read()
				}
			}))
			app, err := fsstore.Open(s.Dir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { app.Close() })
			sess := &fsstore.Session{ID: newID(t), Data: []byte("old")}
			must(t, s.Save(ctx, sess))
			return writer{app, sess.ID, func(r, looked func()) {
				read = r
				s.SetSwapCheckedHookForTest(func(string) { looked() })
			}, func() error {
				sess.Data = []byte("swapped")
				if err := s.CompareAndSwap(ctx, sess); err != nil && !errors.Is(err, fsstore.ErrConflict) {
					return err
				}
				return nil
			}}
		}},
		{"rekey", func(t *testing.T) writer {
			dir := t.TempDir()
			id, _ := savedUnderKey(t, dir, k1)
			app, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1), fsstore.WithIdleTimeout(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { app.Close() })
			rk := rekeyingStore(t, dir, k2, k1)
			return writer{app, id, func(read, looked func()) {
				rk.SetRekeyReadHookForTest(func(string) { read() })
				rk.SetRekeyCheckedHookForTest(func(string) { looked() })
			}, func() error {
				st, err := rk.Rekey(ctx, fsstore.RekeyOptions{})
				if err == nil && st.Errors != 0 {
					err = fmt.Errorf("%+v", st)
				}
				return err
			}}
		}},
	} {
		for from := 0; from <= steps; from++ {
			for to := max(from, 1); to <= steps; to++ {
				t.Run(fmt.Sprintf("%s/look-after-%d/rename-after-%d", w.name, from, to), func(t *testing.T) {
					wr := w.open(t)
					atFrom, atTo := make(chan struct{}), make(chan struct{})
					goOn, finish, deleted := make(chan struct{}), make(chan struct{}), make(chan error, 1)
					var (
						n                     int
						started, reads, looks sync.Once
						goOnOnce, finishOnce  sync.Once
						release               = func() { goOnOnce.Do(func() { close(goOn) }) }
						startDelete           = func() { started.Do(func() { go func() { deleted <- wr.app.Delete(ctx, wr.id) }() }) }
					)
					wr.app.SetDeleteHookForTest(func(string) {
						n++
						if n == from {
							close(atFrom)
							<-goOn
						}
						if n == to {
							close(atTo)
							<-finish
						}
					})
					wr.hooks(func() {
						reads.Do(func() {
							if from > 0 {
								startDelete()
								<-atFrom // the temp file and the look come next
							}
						})
					}, func() {
						looks.Do(func() {
							startDelete()
							release()
							<-atTo // the rename comes next
						})
					})
					werr := wr.run()
					startDelete() // the look failed: the record was gone
					release()
					<-atTo
					finishOnce.Do(func() { close(finish) })
					if err := <-deleted; err != nil {
						t.Fatalf("Delete: %v", err)
					}
					if werr != nil {
						t.Errorf("the write: %v", werr)
					}
					if got, err := wr.app.Load(ctx, wr.id); !errors.Is(err, fsstore.ErrNotFound) {
						t.Errorf("Load after a Delete whose first %d steps came before the writer's look and %d before its rename = %q, %v; want ErrNotFound", from, to, got.Data, err)
					}
				})
			}
		}
	}
}
