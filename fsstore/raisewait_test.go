//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/lock"
)

// TestRaiseWaitHonoursContext: a save whose idle timeout the marker does
// not cover waits for the marker's lock (another process raising it, or
// one stopped while it held it). A second such save of the process waited
// behind the first on a mutex, whatever its own context said, until the
// first one's context ended: a request with a deadline hung for as long
// as another, without one, waited. It must end with its own context.
func TestRaiseWaitHonoursContext(t *testing.T) {
	dir := t.TempDir()
	st, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithLockStrategy(lock.Flock), fsstore.WithIdleTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Another process holds the marker's lock.
	held, err := lock.TryLockFile(filepath.Join(dir, fsstore.LockDir, "marker"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()

	idA, idB := newID(t), newID(t)
	firstCtx, cancelFirst := context.WithCancel(context.Background())
	defer cancelFirst()
	first := make(chan error, 1)
	go func() {
		first <- st.Save(firstCtx, &fsstore.Session{ID: idA, Data: []byte("a"), Idle: 2 * time.Hour})
	}()
	for deadline := time.Now().Add(10 * time.Second); st.LockWaitersForTest() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first save never waited for the marker's lock")
		}
		time.Sleep(time.Millisecond)
	}

	// It waits behind the first, for the raise's turn; its own deadline
	// must end that wait.
	waiting := testenv.ParkedAnew("github.com/sessfs/sessfs/fsstore.(*Store).ensureMaxIdle")
	err = lockWaitEnded(t, "a save whose context ended, behind another save of the process that waits for the marker's lock", waiting, func(ctx context.Context) error {
		return st.Save(ctx, &fsstore.Session{ID: idB, Data: []byte("b"), Idle: 3 * time.Hour})
	})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, fsstore.ErrLocked) {
		t.Errorf("second save: %v, want an error matching ErrLocked and context.DeadlineExceeded", err)
	}
	select {
	case err := <-first:
		t.Fatalf("the first save returned (%v) while the marker's lock is held elsewhere", err)
	default:
	}
	cancelFirst()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first save: %v, want context.Canceled", err)
	}
}
