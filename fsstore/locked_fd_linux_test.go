package fsstore_test

import (
	"context"
	"os"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// countFDs counts this process's open descriptors.
func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A locked Load keeps the record open for a Touch in the same request; every
// way a request ends closes it, and Save and Delete close it before they
// replace or remove the name.
func TestLockedRequestLeavesNoDescriptor(t *testing.T) {
	ctx := context.Background()
	type step func(t *testing.T, l *fsstore.Locked)
	load := func(t *testing.T, l *fsstore.Locked) {
		if _, err := l.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	touch := func(t *testing.T, l *fsstore.Locked) {
		if err := l.Touch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	save := func(t *testing.T, l *fsstore.Locked) {
		if err := l.Save(ctx, &fsstore.Session{ID: l.ID(), Data: []byte("saved")}); err != nil {
			t.Fatal(err)
		}
	}
	del := func(t *testing.T, l *fsstore.Locked) {
		if err := l.Delete(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"load", []step{load}},
		{"load-load", []step{load, load}},
		{"load-touch", []step{load, touch}},
		{"load-touch-touch", []step{load, touch, touch}},
		{"load-save", []step{load, save}},
		{"load-save-load", []step{load, save, load}},
		{"load-touch-save", []step{load, touch, save}},
		{"load-delete", []step{load, del}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t, fsstore.WithDurability(fsstore.DurabilityNone))
			id := newID(t)
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("first")}); err != nil {
				t.Fatal(err)
			}
			// One cycle first, so the kept lock descriptor is already open.
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			l.Unlock()
			before := countFDs(t)
			l, err = s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range tt.steps {
				st(t, l)
			}
			if err := l.Unlock(); err != nil {
				t.Fatal(err)
			}
			if after := countFDs(t); after != before {
				t.Errorf("%d descriptors open after the request, %d before", after, before)
			}
		})
	}
}
