package fsstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestDryRunReadOnlyPartWritesNothing: a dry-run sweep that meets a
// read-only mount over part of the store (here one shard directory) tells
// whether the store's data directory takes writes without a test write in
// it: a dry run changes nothing, and the test write that a real sweep
// makes there, a file created and removed, was made by the dry run too.
// The error still names the directory refused.
func TestDryRunReadOnlyPartWritesNothing(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root for a read-only bind mount")
	}
	dir := t.TempDir()
	app, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	var shard string
	for i := 0; i < 20; i++ {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Save(ctx, &fsstore.Session{ID: id, Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		p := app.RecordPathForTest(id)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		if shard == "" {
			shard = filepath.Dir(p)
		}
	}
	app.Close()
	readOnlyBind(t, shard)
	s, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := filepath.Join(dir, fsstore.DataDir)
	in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, data, unix.IN_CREATE|unix.IN_DELETE); err != nil {
		t.Fatal(err)
	}
	_, err = s.Sweep(ctx, fsstore.SweepOptions{Concurrency: 1, DryRun: true})
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("dry run: %v; want an error matching EROFS", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "stopped: "+shard) || !strings.Contains(msg, "takes writes") {
		t.Errorf("dry run: %q; want it to name %s as read-only and the data directory as writable", msg, shard)
	}
	buf := make([]byte, 4096)
	n, err := unix.Read(in, buf)
	if err != nil && err != unix.EAGAIN {
		t.Fatal(err)
	}
	for b := buf[:max(n, 0)]; len(b) >= unix.SizeofInotifyEvent; {
		mask := binary.NativeEndian.Uint32(b[4:8])
		size := int(binary.NativeEndian.Uint32(b[12:16]))
		name := bytes.TrimRight(b[unix.SizeofInotifyEvent:unix.SizeofInotifyEvent+size], "\x00")
		t.Errorf("dry run changed %s: %s (mask %#x)", data, name, mask)
		b = b[unix.SizeofInotifyEvent+size:]
	}
}
