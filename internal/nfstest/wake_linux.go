package nfstest

import (
	"os"

	"golang.org/x/sys/unix"
)

// wakeControl tells the harness's control loop that a request is in
// NFS_CTL: a line on the FIFO NFS_CTL_WAKE, on which the loop waits
// rather than polling the directory (each look costs the guest's one CPU
// several of the host's system calls). Without it (an older harness), or
// should the write fail, the loop still finds the request within a second.
//
// It never blocks: the FIFO is opened and written without waiting, by
// system calls rather than an os.File, whose Write on a full FIFO would
// wait for room (the runtime's poller), where a full FIFO already holds
// the wake-up.
func wakeControl() {
	p := os.Getenv("NFS_CTL_WAKE")
	if p == "" {
		return
	}
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return // ENXIO: no reader, no harness to wake
	}
	unix.Write(fd, []byte("\n")) // EAGAIN: full of wake-ups already
	unix.Close(fd)
}
