package fsstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestLateWritePayloadBytes: a write applied after its caller was told
// the store is unavailable reports, in its late event, the payload bytes
// it wrote, as a write that ends in time does in its own: they were saved
// all the same, and an observer counting the bytes written
// (metrics/prom's payload_bytes_total) missed them. A write given up on
// before its rename writes nothing and has no late event.
func TestLateWritePayloadBytes(t *testing.T) {
	const data = "v2, twelve b"
	for _, tc := range []struct {
		name  string
		op    fsstore.Op
		write func(t *testing.T, f *boundFixture) (release func())
	}{
		{"save", fsstore.OpSave, func(t *testing.T, f *boundFixture) func() {
			id := newID(t)
			release := f.fs.hang("commit")
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- f.s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(data)}) }()
			f.fs.await(t, "commit")
			cancel()
			isUnavailable(t, <-errc, context.Canceled)
			return release
		}},
		{"locked save", fsstore.OpSave, func(t *testing.T, f *boundFixture) func() {
			g := giveUpLockedSave(t, f, "commit", data)
			isUnavailable(t, g.err, context.Canceled)
			return g.release
		}},
		{"compare-and-swap", fsstore.OpCompareAndSwap, func(t *testing.T, f *boundFixture) func() {
			id := newID(t)
			v1 := mustSave(t, f.s, id, "v1")
			release := f.fs.hang("commit")
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				errc <- f.s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Version: v1.Version, Data: []byte(data)})
			}()
			f.fs.await(t, "commit")
			cancel()
			isUnavailable(t, <-errc, context.Canceled)
			return release
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newBoundFixture(t)
			release := tc.write(t, f)
			release()
			f.settle(t)
			var late []fsstore.Event
			for _, e := range f.obs.all() {
				if e.Late && e.Op == tc.op {
					late = append(late, e)
				}
			}
			if len(late) != 1 || late[0].Outcome != fsstore.OutcomeLate {
				t.Fatalf("late %v events %+v; want one, applied (OutcomeLate)", tc.op, late)
			}
			if late[0].Bytes != len(data) {
				t.Errorf("late %v applied reports %d payload bytes; it wrote %d", tc.op, late[0].Bytes, len(data))
			}
		})
	}
}

// all returns the events observed so far.
func (r *boundRecorder) all() []fsstore.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fsstore.Event(nil), r.events...)
}

// TestLateWritePayloadBytesConcurrent: writes given up on together, each
// applied late on its own worker, report each its own payload bytes, once
// (run with -race: the late report reads what the caller's goroutine set);
// and a call taken from the pool afterwards reports none of theirs.
func TestLateWritePayloadBytesConcurrent(t *testing.T) {
	f := newBoundFixture(t)
	const n = 6
	ids := make([]string, n)
	v1 := make([]uint64, n)
	for i := range ids {
		ids[i] = newID(t)
		v1[i] = mustSave(t, f.s, ids[i], "v1").Version
	}
	release := f.fs.hang("commit")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, n)
	want := map[fsstore.Op]int{}
	for i := range n {
		data := []byte(strings.Repeat("x", 10+i))
		if i%2 == 0 {
			want[fsstore.OpSave] += len(data)
			go func() { errc <- f.s.Save(ctx, &fsstore.Session{ID: ids[i], Data: data}) }()
		} else {
			want[fsstore.OpCompareAndSwap] += len(data)
			go func() {
				errc <- f.s.CompareAndSwap(ctx, &fsstore.Session{ID: ids[i], Version: v1[i], Data: data})
			}()
		}
		f.fs.await(t, "commit")
	}
	cancel()
	for range n {
		isUnavailable(t, <-errc, context.Canceled)
	}
	release()
	f.settle(t)
	got := map[fsstore.Op]int{}
	late := 0
	for _, e := range f.obs.all() {
		if e.Late {
			late++
			if e.Outcome != fsstore.OutcomeLate {
				t.Errorf("late event %+v; want applied", e)
			}
			got[e.Op] += e.Bytes
		}
	}
	if late != n || got[fsstore.OpSave] != want[fsstore.OpSave] || got[fsstore.OpCompareAndSwap] != want[fsstore.OpCompareAndSwap] {
		t.Errorf("%d late events, bytes %v; want %d, %v", late, got, n, want)
	}
	before := len(f.obs.all())
	must(t, f.s.Touch(context.Background(), ids[0]))
	for _, e := range f.obs.all()[before:] {
		if e.Bytes != 0 {
			t.Errorf("touch after the late writes reports %+v; want no bytes", e)
		}
	}
}
