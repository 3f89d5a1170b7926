package nfstest

import "github.com/sessfs/sessfs/internal/mountstats"

// Stats holds per-operation NFS RPC counts of one mount, keyed by the
// operation names of /proc/self/mountstats ("OPEN", "CLOSE", "GETATTR",
// "LOOKUP", "READ", "WRITE", "COMMIT", "LOCK", ...). Its Total leaves out
// lease renewals (mountstats.Excluded).
type Stats = mountstats.Counts

// RPCStats returns the number of RPCs sent so far, per operation, for the
// NFS mount at mnt ("" means Mount()), from /proc/self/mountstats of this
// process's mount namespace. In the harness each host's mount is visible
// only to that host's processes.
func RPCStats(mnt string) (Stats, error) {
	if mnt == "" {
		mnt = Mount()
	}
	return mountstats.Read(mnt)
}

// Diff returns after-before for each operation whose count grew.
func Diff(before, after Stats) Stats { return after.Sub(before) }
