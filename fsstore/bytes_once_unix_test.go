//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestWriteBytesCountedOnce: the Bytes of a write's events add up to its
// payload exactly when the write published its record, whether it ended
// in time or late, and whatever its outcome: a save whose directory fsync
// failed after the rename (in doubt) has them in its event, in time as
// late; a save refused before writing has none; a save given up on has
// none in its caller's event (OutcomeUnavailable) and its payload in its
// late event once applied. The caller's event of a write given up on or
// refused carried the payload, so that a count of every event's Bytes
// counted a late write twice and a refused one once, while metrics/prom,
// counting only OK events, counted nothing of a save in doubt in time and
// its payload when the same save ended late. Event.Published marks the
// same events, one per write that published its record, so that a mean of
// the payloads written divides by them (metrics/prom's
// published_writes_total).
func TestWriteBytesCountedOnce(t *testing.T) {
	const first, data = "v1", "v2, twelve b"
	for _, tc := range []struct {
		name string
		// write makes one save of data, in a store observed by obs.
		write     func(t *testing.T) (obs *boundRecorder)
		want      int
		published int // events marked Published: the writes that published a record
	}{
		{"in time, directory fsync failed", func(t *testing.T) *boundRecorder {
			obs := &boundRecorder{}
			s, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityFull), fsstore.WithObserver(obs))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			id := newID(t)
			mustSave(t, s, id, first) // its shard directory made and synced
			s.SetDirSyncForTest(func(int) error { return syscall.EIO })
			if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte(data)}); !errors.Is(err, fsstore.ErrInDoubt) {
				t.Fatalf("save: %v, want ErrInDoubt", err)
			}
			return obs
		}, len(first) + len(data), 2},
		{"refused before writing", func(t *testing.T) *boundRecorder {
			obs := &boundRecorder{}
			s, err := fsstore.Open(t.TempDir(), fsstore.WithMaxSize(4), fsstore.WithObserver(obs))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Save(context.Background(), &fsstore.Session{ID: newID(t), Data: []byte(data)}); !errors.Is(err, fsstore.ErrTooLarge) {
				t.Fatalf("save: %v, want ErrTooLarge", err)
			}
			return obs
		}, 0, 0},
		{"given up, applied late", func(t *testing.T) *boundRecorder {
			f := newBoundFixture(t)
			giveUpSave(t, f, newID(t), data)
			return f.obs
		}, len(data), 1},
		{"given up, applied late, directory fsync failed", func(t *testing.T) *boundRecorder {
			f := newBoundFixture(t, fsstore.WithDurability(fsstore.DurabilityFull))
			id := newID(t)
			mustSave(t, f.s, id, first)
			f.s.SetDirSyncForTest(func(int) error { return syscall.EIO })
			giveUpSave(t, f, id, data)
			return f.obs
		}, len(first) + len(data), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := tc.write(t)
			got, published := 0, 0
			for _, e := range obs.all() {
				if e.Op == fsstore.OpSave {
					got += e.Bytes
					if e.Published {
						published++
					}
				}
			}
			if got != tc.want {
				t.Errorf("save events' Bytes add up to %d, want %d: %+v", got, tc.want, obs.all())
			}
			if published != tc.published {
				t.Errorf("%d save events marked Published, want %d: %+v", published, tc.published, obs.all())
			}
		})
	}
}

// giveUpSave saves data at id in f's store with its commit hung until the caller
// gives up, then lets the save end in the background and waits for it.
func giveUpSave(t *testing.T, f *boundFixture, id, data string) {
	t.Helper()
	release := f.fs.hang("commit")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}) }()
	f.fs.await(t, "commit")
	cancel()
	isUnavailable(t, <-errc, context.Canceled)
	release()
	f.settle(t)
	if f.obs.countLate(fsstore.OpSave) != 1 {
		t.Fatalf("late save events: %d, want 1", f.obs.countLate(fsstore.OpSave))
	}
}
