//go:build unix

package fsstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// Several processes, each with several goroutines, increment counters held
// in a few sessions: by Lock/Load/Save/Unlock, or by Load/CompareAndSwap
// with retries. Every lost update (two read-modify-write cycles overlapping,
// a CAS accepting a stale version, a torn read) makes a final counter fall
// short, so each must equal the number of increments, and the version (one
// per save) must too.
func TestMultiProcessIncrements(t *testing.T) {
	const procs, goroutines, sessions = 4, 8, 3
	for _, tc := range []struct {
		mode string
		iter int
	}{
		{"lock", 4},
		{"cas", 2},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			var ids []string
			for i := 0; i < sessions; i++ {
				ids = append(ids, newID(t))
			}
			env := []string{"STORE_DIR=" + dir, "STORE_IDS=" + strings.Join(ids, ","), "STORE_MODE=" + tc.mode,
				"STORE_GOROUTINES=" + strconv.Itoa(goroutines), "STORE_ITER=" + strconv.Itoa(tc.iter)}
			var kids []*child
			for i := 0; i < procs; i++ {
				kids = append(kids, startChild(t, "incr", env))
			}
			for _, k := range kids {
				k.Finish(t)
			}
			want := procs * goroutines * tc.iter
			for _, id := range ids {
				sess, err := s.Load(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				n, err := counterOf(sess)
				if err != nil {
					t.Fatal(err)
				}
				if n != want || sess.Version != uint64(want) {
					t.Errorf("session %s: counter %d, version %d; want %d increments", id[:6], n, sess.Version, want)
				}
			}
		})
	}
}
