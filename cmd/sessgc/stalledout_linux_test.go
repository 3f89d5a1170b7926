package main_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestStalledStdoutHoldsNoSession: "sessgc run -v | less" left at its
// first page stops reading, and sessgc's next line blocks in its write.
// That line is written by the sweep's callback, which ran while the sweep
// held the lock of the session it reported (a copy an earlier sweep left
// aside, settled under the session's lock), so every request for that
// session waited for the pager. The sweep now releases the lock whatever
// its output does: a request for the session is served while sessgc
// still waits to write.
func TestStalledStdoutHoldsNoSession(t *testing.T) {
	st := newStore(t)
	id := st.save(1)[0]
	p := st.path(id)
	aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
	if err := os.Rename(p, aside); err != nil {
		t.Fatal(err)
	}
	setMtime(t, aside, old)

	// A pipe whose reader stops reading: full before sessgc writes.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fd := int(w.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 4096)
	for {
		if _, err := syscall.Write(fd, chunk); err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			t.Fatal(err)
		}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}

	cmd := command([]string{"run", "-v", "--dir", st.dir, "-c", "1"})
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	drained := false
	defer func() {
		if !drained {
			go io.Copy(io.Discard, r)
			<-exited
		}
	}()

	// Poll, with a deadline, until the sweep has removed the copy aside:
	// its report is what sessgc then tries to write.
	for deadline := time.Now().Add(time.Minute); exists(aside); {
		if time.Now().After(deadline) {
			t.Fatalf("sessgc did not remove %s; stderr: %s", aside, errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // ends only a test that fails
	defer cancel()
	l, err := st.s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatalf("a request for session %s while sessgc's output is stalled: %v", id, err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		t.Fatalf("sessgc exited (%v) with its output stalled; stderr: %s", err, errb.String())
	default:
	}

	// The reader reads again: sessgc writes its line and finishes.
	drained = true
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, r); close(copied) }()
	if code := exitCode(t, <-exited); code != 0 {
		t.Errorf("sessgc: exit %d; stderr: %s", code, errb.String())
	}
	<-copied
	if want := "removed session " + p; !bytes.Contains(out.Bytes(), []byte(want)) {
		t.Errorf("output does not say %q:\n%s", want, bytes.TrimLeft(out.Bytes(), "x"))
	}
}
