//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestOpenContextGivesUp: Open's checks hang on a file server that does
// not answer (a hook blocks where they use the store's directory).
// OpenContext returns ErrUnavailable and the context's error when its
// context ends; once the server answers, the store the checks opened after
// all is closed in the background: no goroutine and no descriptor is left.
func TestOpenContextGivesUp(t *testing.T) {
	dir := t.TempDir()
	s0, err := fsstore.Open(dir) // a store that exists, as at a process's restart
	if err != nil {
		t.Fatal(err)
	}
	s0.Close()

	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	hook := func(site string) {
		if site != "root" {
			return
		}
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}
	goroutines, fds := runtime.NumGoroutine(), descriptors(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opened := make(chan error, 1)
	go func() {
		s, err := fsstore.OpenContext(ctx, dir, fsstore.WithTestFSForTest(hook))
		if s != nil {
			s.Close()
		}
		opened <- err
	}()
	select {
	case <-entered:
	case err := <-opened:
		t.Fatalf("OpenContext returned %v without reaching the store's directory", err)
	case <-time.After(time.Minute):
		t.Fatal("Open's checks never reached the store's directory")
	}
	cancel()
	select {
	case err = <-opened:
	case <-time.After(time.Minute):
		close(release)
		t.Fatal("OpenContext still blocked a minute after its context ended")
	}
	if !errors.Is(err, fsstore.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("OpenContext with the file server hung and its context cancelled = %v, want ErrUnavailable and context.Canceled", err)
	}

	close(release) // the server answers
	if !poll(func() bool { return runtime.NumGoroutine() <= goroutines && descriptors(t) <= fds }) {
		t.Fatalf("a minute after the server answered: %d goroutines (%d before), %d descriptors (%d before): the store opened in the background was not closed",
			runtime.NumGoroutine(), goroutines, descriptors(t), fds)
	}
	// And the store opens as usual.
	s, err := fsstore.OpenContext(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestOpenContextEnded: a context that has already ended opens nothing.
func TestOpenContextEnded(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := fsstore.OpenContext(ctx, dir)
	if s != nil || !errors.Is(err, context.Canceled) || !errors.Is(err, fsstore.ErrUnavailable) {
		t.Fatalf("OpenContext with an ended context = %v, %v; want nil, ErrUnavailable and context.Canceled", s, err)
	}
	if _, err := os.Stat(dir + "/" + fsstore.MarkerFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenContext with an ended context created the store: %v", err)
	}
}

// descriptors is openDescriptors where the system lists descriptors, -1
// elsewhere (and the count is not checked).
func descriptors(t *testing.T) int {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return -1
	}
	return openDescriptors(t)
}
