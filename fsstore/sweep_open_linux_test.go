package fsstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/fsstore"
)

// The sweep removes expired records without opening them, on a local
// filesystem as on NFS: their size from the listing is all it checks
// (ours). Opening each one cost a cold block read per removal, twice the
// data find(1) reads. inotify reports every open of a file in a watched
// directory, by anyone, so an open the sweep makes cannot go unseen.
func TestSweepOpensNoRecord(t *testing.T) {
	ctx := context.Background()
	// Live records stay live however slow the machine: 10 minutes idle,
	// and the expired ones two days old.
	s := openTemp(t, fsstore.WithIdleTimeout(10*time.Minute))
	old := time.Now().Add(-48 * time.Hour)
	in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	defer unix.Close(in)
	const expired, live = 20, 5
	watched := map[string]bool{}
	for i := range expired + live {
		id := newID(t)
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		p := s.RecordPathForTest(id)
		if i < expired {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		watched[filepath.Dir(p)] = true
	}
	for dir := range watched {
		if _, err := unix.InotifyAddWatch(in, dir, unix.IN_OPEN); errors.Is(err, unix.ENOSPC) {
			t.Skipf("inotify: no watch left: %v", err)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Sweep(ctx, sweepOpts)
	if err != nil || st.Sessions != expired || st.Live != live || st.Errors != 0 {
		t.Fatalf("sweep: %+v, %v; want %d removed, %d live", st, err, expired, live)
	}
	for _, name := range openedFiles(t, in) {
		t.Errorf("the sweep opened %s", name)
	}
}

// openedFiles drains the inotify descriptor in and returns the names of
// the files (not directories) its events report opened.
func openedFiles(t *testing.T, in int) []string {
	t.Helper()
	var names []string
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(in, buf)
		if errors.Is(err, unix.EAGAIN) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
			mask := binary.NativeEndian.Uint32(b[4:8])
			size := int(binary.NativeEndian.Uint32(b[12:16]))
			name := b[unix.SizeofInotifyEvent : unix.SizeofInotifyEvent+size]
			if mask&unix.IN_ISDIR == 0 && size > 0 {
				names = append(names, string(bytes.TrimRight(name, "\x00")))
			}
			b = b[unix.SizeofInotifyEvent+size:]
		}
	}
}
