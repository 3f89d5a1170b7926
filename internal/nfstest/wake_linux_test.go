package nfstest

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// wakeControl runs in a host's command, which must go on whatever the
// control loop's FIFO holds: it returns at once with no reader, a reader,
// or a FIFO full of wake-ups the loop has not read yet (each wake-up
// after the first is redundant). None of these cases boots a guest.
func TestWakeControlNeverBlocks(t *testing.T) {
	tests := []struct {
		name   string
		reader bool // the FIFO is open for reading, as the harness holds it
		full   bool // and full
		want   int  // wake-up lines the reader finds after the call
	}{
		{name: "read by the control loop", reader: true, want: 1},
		{name: "no reader", reader: false},
		{name: "full", reader: true, full: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "ctl.wake")
			if err := unix.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("NFS_CTL_WAKE", p)
			fd := -1
			if tt.reader {
				var err error
				if fd, err = unix.Open(p, unix.O_RDWR|unix.O_NONBLOCK, 0); err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
			}
			if tt.full {
				b := make([]byte, 4096)
				for i := range b {
					b[i] = '\n'
				}
				for {
					if _, err := unix.Write(fd, b); errors.Is(err, unix.EAGAIN) {
						break
					} else if err != nil {
						t.Fatal(err)
					}
				}
				for {
					if _, err := unix.Write(fd, b[:1]); errors.Is(err, unix.EAGAIN) {
						break
					} else if err != nil {
						t.Fatal(err)
					}
				}
			}
			done := make(chan struct{})
			go func() {
				wakeControl()
				close(done)
			}()
			// Only a bound on a hang: the call makes two system calls.
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				if fd >= 0 {
					// Let the blocked write end with the test.
					drain(fd)
					<-done
				}
				t.Fatalf("wakeControl still blocked after 30 s on a FIFO (reader %v, full %v)", tt.reader, tt.full)
			}
			if tt.full {
				return
			}
			if got := drain(fd); got != tt.want {
				t.Errorf("the control loop found %d wake-up line(s), want %d", got, tt.want)
			}
		})
	}
}

// drain reads what fd holds, without blocking, and returns how many bytes.
func drain(fd int) int {
	if fd < 0 {
		return 0
	}
	n := 0
	b := make([]byte, 65536)
	for {
		m, err := unix.Read(fd, b)
		if m <= 0 || err != nil {
			return n
		}
		n += m
	}
}
