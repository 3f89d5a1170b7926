//go:build unix

package fsstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// Several processes, each with several goroutines, increment counters held
// in a few sessions: by Lock/Load/Save/Unlock, or by Load/CompareAndSwap
// with retries. Every lost update (two read-modify-write cycles overlapping,
// a CAS accepting a stale version, a torn read) makes a final counter fall
// short, so each must equal the number of increments, and the version (one
// per save) must have grown by as much.
func TestMultiProcessIncrements(t *testing.T) {
	const procs, goroutines, sessions = 4, 8, 3
	for _, tc := range []struct {
		mode string
		iter int
	}{
		{"lock", 4},
		{"cas", 2},
		// Half the processes lock, half compare-and-swap, on the same
		// sessions: as an Exclusive and an Optimistic route of one
		// application do.
		{"mixed", 2},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir)
			// Created here at 0: a record's first version is random, and
			// every increment must add exactly one to it.
			var ids []string
			start := map[string]uint64{}
			for i := 0; i < sessions; i++ {
				id := newID(t)
				sess := &fsstore.Session{ID: id, Data: []byte("0")}
				if err := s.CompareAndSwap(context.Background(), sess); err != nil {
					t.Fatal(err)
				}
				ids, start[id] = append(ids, id), sess.Version
			}
			var kids []*child
			for i := 0; i < procs; i++ {
				mode := tc.mode
				if mode == "mixed" {
					mode = [...]string{"lock", "cas"}[i%2]
				}
				env := []string{"STORE_DIR=" + dir, "STORE_IDS=" + strings.Join(ids, ","), "STORE_MODE=" + mode,
					"STORE_GOROUTINES=" + strconv.Itoa(goroutines), "STORE_ITER=" + strconv.Itoa(tc.iter)}
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
				if n != want || sess.Version != start[id]+uint64(want) {
					t.Errorf("session %s: counter %d, version %d from %d; want %d increments", id[:6], n, sess.Version, start[id], want)
				}
			}
		})
	}
}
