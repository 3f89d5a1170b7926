package pass

import (
	"os"
	"runtime"
)

// ThreadsFor gives the Go runtime a processor (P) for each of workers
// goroutines that block in file system calls on an NFS mount (onNFS), plus
// one for the rest, and returns a function that restores the previous
// setting. It leaves an explicit GOMAXPROCS in the environment alone, and
// never lowers it.
//
// Why: a sweep's workers spend their time blocked in NFS round trips.
// With fewer Ps than blocked workers, the runtime takes the P away from
// every call that blocks and hands it to another thread, then parks the
// caller when the call returns: two thread switches per round trip. On a
// small host (one CPU: GOMAXPROCS 1) those switches, not the round trips,
// were most of the sweep's time. With a P per worker, a blocked worker's
// thread just sleeps in the kernel, as a C program's would; the work
// itself stays bounded by the CPUs the kernel gives the process.
//
// Not elsewhere, on a local filesystem say: there a call blocks for a
// disk read at most, the runtime's hand-off is cheap next to it, and more
// Ps than CPUs only add threads that contend for them. On ext4 (2 CPUs,
// 16 workers) a warm sweep of 180,000 records took 0.42 s and 0.79 s of
// CPU with a P per worker, 0.35 s and 0.65 s without
// (docs/measurements.md).
func ThreadsFor(onNFS bool, workers int) (restore func()) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set || !onNFS {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(0)
	if workers+1 <= prev {
		return func() {}
	}
	runtime.GOMAXPROCS(workers + 1)
	return func() { runtime.GOMAXPROCS(prev) }
}
