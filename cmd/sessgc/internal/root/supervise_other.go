//go:build !unix

package root

const envWorker = "SESSFS_SESSGC_WORKER_FD"

// supervise does nothing here: the store does not run on this platform,
// so sessgc never holds files on a mount it could hang on.
func supervise() (int, bool) { return 0, false }

func report(int, int) {}

func worker() int { return -1 }
