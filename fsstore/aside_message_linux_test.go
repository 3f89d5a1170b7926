package fsstore_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestTouchAsideUnreadableMessage: a Touch that cannot read a copy
// aside reports that copy's read, not an open of the record: it said
// "touch: open <record>: read .tmp-gd-…: input/output error".
func TestTouchAsideUnreadableMessage(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir(), fsstore.WithIdleTimeout(testIdle))
	id := newID(t)
	p := s.RecordPathForTest(id)
	gc := asidePath(p, ".tmp-gc-")
	gd := asidePath(p, ".tmp-gd-")
	mustSave(t, s, id, "old")
	if err := os.Rename(p, gc); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, id, "new")
	if err := os.Rename(p, gd); err != nil {
		t.Fatal(err)
	}
	s.SetFaultForTest(func(path string) error {
		if path == gd {
			return syscall.EIO
		}
		return nil
	})
	defer s.SetFaultForTest(nil)
	for _, op := range []string{"load", "touch"} {
		var err error
		if op == "load" {
			_, err = s.Load(ctx, id)
		} else {
			err = s.Touch(ctx, id)
		}
		want := "fsstore: " + op + " " + p + ": read " + gd + ": input/output error"
		if !errors.Is(err, syscall.EIO) || err.Error() != want {
			t.Errorf("%s: %v; want %q", op, err, want)
		}
	}
}
