package fsstore_test

import (
	"context"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestLockedCycleAllocations holds what a locked read-modify-write (Lock,
// LoadInto a reused buffer, Save, Unlock) allocates on Linux, where paths
// go to the kernel from the stack: the Locked, the lock's Handle and held
// lock, the key's path (with the stripe's lock file name in the same
// allocation) and the Session. The fenced temp file's name, built on every
// Save, was one more, and so was the lock file name on its own.
func TestLockedCycleAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	ctx := context.Background()
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := fsstore.NewID()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, &fsstore.Session{ID: id, Data: []byte("a session of a few bytes")}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	cycle := func() {
		l, err := st.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		s, err := l.LoadInto(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Save(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	cycle() // opens the lock file and makes the shard directories
	const want = 5
	if got := testing.AllocsPerRun(100, cycle); got > want {
		t.Errorf("a locked read-modify-write allocates %.1f times, want at most %d (the Locked, the lock's Handle and held lock, the key's path and lock file name, the Session)", got, want)
	}
}
