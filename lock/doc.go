// Package lock provides advisory locks that exclude other goroutines, other
// processes on the same host and other hosts sharing the same NFS (or AWS EFS)
// directory.
//
// A [Table] hands out named locks kept in one directory. Two strategies back
// it:
//
//   - [Flock] uses flock(2). On Linux NFSv4 mounts the kernel turns flock into
//     an NFS byte-range lock held by the server, so it excludes other hosts.
//     Lock descriptors are opened read-write (NFSv4 refuses an exclusive lock
//     on a read-only descriptor with EBADF) and kept open between uses: on NFS
//     an open+lock+unlock+close costs 5 round trips, a lock+unlock on a kept
//     descriptor 3.
//   - [Lease] creates the lock file with O_CREAT|O_EXCL and writes an owner
//     record (host, pid, random token, lease expiry) into it. The holder renews
//     the lease; anyone may break a lease that expired more than a grace period
//     ago. It works on any filesystem where O_EXCL create is atomic (NFSv3
//     mounted nolock, FUSE filesystems without lock support) at the price of
//     wall-clock assumptions: host clocks must agree to within the grace period.
//
// [Auto] probes the directory and picks Flock when flock(2) works there and is
// not local-only (an NFS mount with local_lock=flock or local_lock=all would
// let two hosts hold the "same" lock), Lease otherwise.
//
// # In-process table
//
// Requests of one process for the same name queue inside the process and share
// one operating-system lock, so a process never holds more than one OS lock per
// name, and never more than [Config.MaxHeld] OS locks at once. This matters on
// AWS EFS, which allows 512 locks per file across all clients and 256
// file–process pairs holding locks per mount: with P processes per host using
// the same mount, keep P×MaxHeld below 256.
//
// # Lost locks
//
// An NFSv4 lock lives inside the client's lease. A client cut off from the
// server for longer than the lease time loses its locks, and another host may
// take them. The Linux client then fails I/O made under the lost lock with
// EIO. [Handle.Verify] detects that case (and a broken Lease) and returns
// [ErrLockLost]; callers must call it before they publish work done under the
// lock. Lock files are never removed while the directory is in use, which
// avoids the unlink race (a waiter locking an inode that another process just
// unlinked while a third creates a fresh file under the same name).
package lock
