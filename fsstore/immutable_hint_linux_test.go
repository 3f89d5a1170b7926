//go:build linux

package fsstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestImmutableShardHint: a save into a shard directory made immutable
// (chattr +i) is refused with EPERM, even to root; the error says so and
// names the attribute, where it gave EACCES's advice (root_squash, run as
// the store's user, chown), which changes nothing.
func TestImmutableShardHint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir)
	id := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	recs, err := filepath.Glob(filepath.Join(dir, fsstore.DataDir, "*", "*"))
	if err != nil || len(recs) != 1 {
		t.Fatalf("the record: %v, %v", recs, err)
	}
	shard := filepath.Dir(recs[0])
	setImmutable(t, shard)
	err = s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("b"), Version: 1})
	if !errors.Is(err, syscall.EPERM) {
		t.Fatalf("Save into an immutable shard directory: %v, want EPERM", err)
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{"refused whatever the owner and mode", "immutable", "chattr -i -a " + shard} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	for _, not := range []string{"chown -R", "run it as", "root_squash"} {
		if strings.Contains(msg, not) {
			t.Errorf("%q says %q, which does not help", msg, not)
		}
	}
}
