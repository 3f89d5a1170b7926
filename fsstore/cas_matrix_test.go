package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestCompareAndSwapMatrix holds CompareAndSwap to its documented contract
// for every pairing of what the caller expects (0: create; n: the version
// it read) with what is at the session's name, and checks that a swap
// refused leaves the record's bytes as they were: a conflict overwrites
// nothing.
func TestCompareAndSwapMatrix(t *testing.T) {
	ctx := context.Background()
	type state = casState
	saved := func(t *testing.T, st *state) {
		t.Helper()
		sess := &fsstore.Session{ID: st.id, Data: []byte("saved")}
		if err := st.s.Save(ctx, sess); err != nil {
			t.Fatal(err)
		}
		st.v = sess.Version
	}
	for _, tc := range []struct {
		name   string
		keyed  bool
		setup  func(t *testing.T, st *state)
		expect func(st *state) uint64 // the caller's expected version
		want   error                  // nil: the swap is made
	}{
		{"create/absent", false, func(*testing.T, *state) {}, func(*state) uint64 { return 0 }, nil},
		{"create/live", false, saved, func(*state) uint64 { return 0 }, fsstore.ErrConflict},
		{"create/expired", false, func(t *testing.T, st *state) { saved(t, st); st.clk.Advance(2 * time.Hour) }, func(*state) uint64 { return 0 }, nil},
		{"create/deleted", false, func(t *testing.T, st *state) {
			saved(t, st)
			if err := st.s.Delete(ctx, st.id); err != nil {
				t.Fatal(err)
			}
		}, func(*state) uint64 { return 0 }, nil},
		{"create/truncated", false, func(t *testing.T, st *state) {
			saved(t, st)
			if err := os.Truncate(st.s.RecordPathForTest(st.id), 70); err != nil {
				t.Fatal(err)
			}
		}, func(*state) uint64 { return 0 }, nil},
		{"create/garbage", false, func(t *testing.T, st *state) {
			saved(t, st)
			if err := os.WriteFile(st.s.RecordPathForTest(st.id), bytes.Repeat([]byte("x"), 100), 0o600); err != nil {
				t.Fatal(err)
			}
		}, func(*state) uint64 { return 0 }, nil},
		// A record under a key this process lacks may be another host's
		// live session (a key deployed there first): not replaced.
		{"create/retired-key", true, savedUnderOtherKey, func(*state) uint64 { return 0 }, fsstore.ErrUnknownKey},
		// Expired, it is gone whatever key sealed it, as for Load.
		{"create/expired-retired-key", true, func(t *testing.T, st *state) { savedUnderOtherKey(t, st); st.clk.Advance(2 * time.Hour) }, func(*state) uint64 { return 0 }, nil},
		{"update/absent", false, func(*testing.T, *state) {}, func(*state) uint64 { return 1 }, fsstore.ErrConflict},
		{"update/current", false, saved, func(st *state) uint64 { return st.v }, nil},
		{"update/stale", false, func(t *testing.T, st *state) {
			saved(t, st)
			saved(t, st) // the caller read the first save
		}, func(st *state) uint64 { return st.v - 1 }, fsstore.ErrConflict},
		{"update/ahead", false, saved, func(st *state) uint64 { return st.v + 1 }, fsstore.ErrConflict},
		{"update/expired", false, func(t *testing.T, st *state) { saved(t, st); st.clk.Advance(2 * time.Hour) }, func(st *state) uint64 { return st.v }, fsstore.ErrConflict},
		{"update/deleted", false, func(t *testing.T, st *state) {
			saved(t, st)
			if err := st.s.Delete(ctx, st.id); err != nil {
				t.Fatal(err)
			}
		}, func(st *state) uint64 { return st.v }, fsstore.ErrConflict},
		{"update/truncated", false, func(t *testing.T, st *state) {
			saved(t, st)
			if err := os.Truncate(st.s.RecordPathForTest(st.id), 70); err != nil {
				t.Fatal(err)
			}
		}, func(st *state) uint64 { return st.v }, fsstore.ErrCorrupt},
		{"update/retired-key", true, savedUnderOtherKey, func(st *state) uint64 { return st.v }, fsstore.ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &state{dir: t.TempDir(), clk: fakeclock.New(), id: newID(t)}
			opts := []fsstore.Option{fsstore.WithClock(st.clk.Now), fsstore.WithIdleTimeout(time.Hour)}
			if tc.keyed {
				st.keys = []fsstore.Key{mustKey(t, 3), mustKey(t, 2)}
				opts = append(opts, fsstore.WithKeys(st.keys[1]))
			}
			st.s = openDir(t, st.dir, opts...)
			tc.setup(t, st)
			p := st.s.RecordPathForTest(st.id)
			before, _ := os.ReadFile(p)
			sess := &fsstore.Session{ID: st.id, Data: []byte("swapped"), Version: tc.expect(st)}
			err := st.s.CompareAndSwap(ctx, sess)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CompareAndSwap expecting version %d: %v", tc.expect(st), err)
				}
				got, err := st.s.Load(ctx, st.id)
				if err != nil || string(got.Data) != "swapped" || got.Version != sess.Version {
					t.Fatalf("after the swap: %v, data %q version %d, want %q version %d", err, got.Data, got.Version, "swapped", sess.Version)
				}
				if st.v != 0 && got.Version == st.v {
					t.Fatalf("the swap wrote version %d again, the version of the record it replaced", got.Version)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("CompareAndSwap expecting version %d: %v, want %v", tc.expect(st), err, tc.want)
			}
			after, _ := os.ReadFile(p)
			if !bytes.Equal(before, after) {
				t.Fatalf("a refused swap changed the record (%d bytes, was %d)", len(after), len(before))
			}
		})
	}
}

// casState is a case of TestCompareAndSwapMatrix.
type casState struct {
	s   *fsstore.Store
	dir string
	clk *fakeclock.Clock
	id  string
	v   uint64 // the version the record at the name was saved with
	// keys: key 3, then key 2, which st.s has alone (keyed cases).
	keys []fsstore.Key
}

// savedUnderOtherKey saves the session from another process of the store
// whose newest key, 3, st's process lacks.
func savedUnderOtherKey(t *testing.T, st *casState) {
	t.Helper()
	other := openDir(t, st.dir, fsstore.WithClock(st.clk.Now), fsstore.WithIdleTimeout(time.Hour), fsstore.WithKeys(st.keys...))
	sess := &fsstore.Session{ID: st.id, Data: []byte("saved")}
	if err := other.Save(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	st.v = sess.Version
}
