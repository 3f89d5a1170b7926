// Package lock provides advisory locks that exclude other goroutines, other
// processes on the same host and other hosts sharing the same NFS (or AWS EFS)
// directory.
//
// An application that keeps sessions rarely imports it: package
// github.com/sessfs/sessfs/fsstore takes the locks a session needs
// (fsstore.Store.Lock, and the httpsession middleware through it) and picks
// the strategy itself. What an application may name here is a strategy to
// force where the probe cannot tell ([Lease] on a mount whose locks stay on
// the host, see Portability: fsstore.WithLockStrategy(lock.Lease)); the rest
// is for code that locks files of its own across hosts ([LockFile],
// [TryLockFile]) or keeps locks in a directory of its own ([NewTable]).
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
//     A record whose expiry lies further ahead than [MaxLeaseTTL] (a dead
//     holder's clock ran ahead) is dated by its file's last change instead.
//
// [Auto] probes the directory and picks Flock when flock(2) works there and is
// not local-only (an NFS mount with local_lock=flock or local_lock=all would
// let two hosts hold the "same" lock), Lease otherwise. On Linux it picks
// Lease on every FUSE mount: for a FUSE filesystem without lock support
// (sshfs, s3fs, rclone) the kernel grants flock on the local host alone,
// which no probe can tell from a working one. A FUSE filesystem that does
// forward locks between hosts (CephFS's, GlusterFS's) may force Flock. A
// directory without a recorded strategy that holds flock lock files (of
// processes of an earlier version, which picked Flock there) keeps Flock.
//
// Lock file names are one path element without the ".lease" infix, which
// marks lease files and the leftovers of breaking one. They are told apart
// byte for byte, but where the filesystem folds case (Windows, macOS's
// default APFS, an SMB share) names that differ only in case are one file,
// and so one lock: a holder of "A" keeps "a" from being taken, also in its
// own process, where a goroutine holding one that locks the other waits
// until its context ends.
// Give a directory's locks names in one case.
//
// A process on the host of a Linux NFS server that reaches the exported
// directory without NFS (sessgc from the server's cron) meets its clients'
// locks there as byte-range locks, which a flock neither meets nor is met
// by: where the directory lies within one of the server's exports
// (/proc/fs/nfsd/exports, /var/lib/nfs/etab), Flock (and TryLockFile,
// LockFile) takes a whole-file open file description lock (F_OFD_SETLK)
// besides the flock, which still
// meets the processes of the host that do not see the export. An export
// reached under another path (a bind mount) is not recognised: such a
// process should mount the export over NFS like any other host.
//
// A flock and a lease file do not exclude each other, so every process that
// shares a directory must use one strategy. The first [Table] records its
// strategy in the directory ([StrategyFile]); a later Auto one adopts it,
// and [NewTable] fails with [ErrStrategyMismatch] for one that asks for the
// other or whose mount rules the recorded one out.
//
// # Keys and lock files
//
// A lock is asked for a key (a session, say) on a lock file (the stripe the
// key hashes to). Inside one process only equal keys exclude each other: the
// process takes the file's OS lock, always exclusive, when the first of its
// keys on the file is locked, shares it among all of them, and releases it
// after the last, so a goroutine can hold several keys on one file without
// waiting for itself. Other processes and hosts are excluded from the whole
// file while any key on it is held; [Shared] holders of a key overlap only
// within the process. See [Table] for why the OS lock is never shared.
//
// # Limits
//
// A process holds at most [Config.MaxHeld] OS locks; only holding counts, not
// waiting. Reaching the cap fails at once with [ErrTooManyLocks]. AWS EFS
// allows 512 locks per file, and each mount on a client locks on at most
// 256 file–process pairs, shared by the processes using the mount (on a
// host with one mount, all of them): the default cap is 128 on EFS
// (detected from the mount, or declared with [Config.EFS]) and 1024
// elsewhere, at most a quarter of RLIMIT_NOFILE. Kept lock descriptors are
// bounded the same way and closed when the process runs out of descriptors.
//
// # Portability
//
// Flock needs flock(2) with per-open-file semantics: Linux, macOS and the
// BSDs. Elsewhere (Windows) Auto picks Lease, and Flock fails at NewTable
// with [ErrNotSupported]. On Windows lease files are opened sharing delete
// access (FILE_SHARE_DELETE), so that a lease being read by a waiter or
// renewed can still be removed at Unlock, and a breaker replaces one with
// POSIX rename semantics (NTFS on Windows 10 1809 and later; elsewhere its
// rename fails while a waiter reads the lease, and it tries again at the
// next poll). Where deletes lack POSIX semantics (FAT, exFAT, ReFS, SMB
// shares, older Windows), a lease file removed while a waiter reads it
// keeps its name, refusing every open, until the reader closes it: the
// lock counts as held until then. A remove refused because another
// process (a virus scanner, an indexer, a backup agent) has the file open
// without sharing delete access is tried again for up to 2 s. A path
// beyond MAX_PATH is given the \?\ prefix, as package os gives it. Leases are named and dated there by the
// file index and ChangeTime, as by the inode number and ctime elsewhere
// (by the last write on FAT and exFAT, which keep no ChangeTime; a file
// with neither time cannot be dated, and a look at it fails). The
// characters Windows refuses in file names are refused there; lock file
// names it keeps for devices (NUL, CON, COM1, ... alone or before a dot)
// are refused on every system, by a Table and by TryLockFile, LockFile
// and TryLockFileIn alike (ErrInvalidName), so that a lock directory
// works the same from every host. On Windows a lock directory so named
// (its path's last element) is refused too, by NewTable, a LeaseDir and
// TryLockFileIn (ErrInvalidName): it opens the device.
//
// What the mount says (NFS, local_lock, FUSE, AWS EFS) is read from
// /proc/self/mountinfo, on Linux only. On macOS and the BSDs Auto picks
// Flock wherever flock(2) succeeds, also on a mount that keeps locks on
// the host (macOS's locallocks, FreeBSD's nolockd, a FUSE filesystem):
// force Lease there. [Handle.Verify] checks a lock on NFS only on Linux,
// whose client fails I/O under a lost lock; [Config.EFS] declares EFS.
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
// unlinked while a third creates a fresh file under the same name). One
// removed or renamed over anyway (by a cleanup cron, say) is met off NFS:
// a Flock take through a kept descriptor whose file has no name left opens
// the name afresh, and Verify reports a lock held on such a file lost. On
// NFS, where asking costs a round trip, only the server's ESTALE tells.
//
// The lock directory itself is opened once, by NewTable, and its files
// are reached through that descriptor (on Unix; on Windows by its path,
// which meets whatever directory is there now). A Table looks at the directory's
// name again to find it moved away, removed or replaced (mv locks
// locks.old and mkdir locks; rm -rf locks, made anew by the next process
// that opens the store; a restored copy put in its place), where the
// processes that open it from then on lock: off NFS at a take, at most
// once per [Config.VerifyAfter] (an lstat of a cached name, no I/O), at
// a take whose file cannot be created in the removed directory (ENOENT;
// ESTALE on NFS), at a Verify of a lock unchecked for VerifyAfter and at
// a lease's renewal. Once it has, Verify of every lock it took in the old
// directory reports ErrLockLost, no further key shares one of them, and
// its takes lock in the directory at the name, opened afresh, its mount
// probed and its strategy agreed on as NewTable does (StrategyFile), and
// what NewTable derives from the mount follows the new one: the default
// MaxHeld (128 on EFS), EFS and FlockOnFUSE. With
// none there they fail until one is made there; in one whose processes
// lock with the other strategy, or on a mount where the table's does not
// work (a FUSE mount or an NFS mount with local_lock made at the name,
// where Auto picks Lease), with ErrStrategyMismatch (ErrNotSupported for
// a table that forces a strategy the mount rules out) until the process
// restarts, the directory probed again at most once per VerifyAfter (so
// is one this process may not write in, or on a read-only mount, failing
// with its error until the next probe); a probe that fails otherwise (an
// I/O error, a moment out of descriptors) is tried again at the next
// take. What
// remains open: off NFS, for up to VerifyAfter after the change a take
// may still lock in the old directory beside the newcomers' locks in the
// new one, and Verify of a lock taken before the change says so only
// once VerifyAfter has passed since its take or since the Table's last
// look. On NFS a look costs round trips (a GETATTR of the directory
// above, without which the client answers from its cache for up to
// acdirmax, and an lstat), which a take does not pay: a directory moved
// away and made anew there is met only by a Verify of a lock held longer
// than VerifyAfter or a lease's renewal, so with every lock held briefly
// the processes opened before and after the change do not exclude each
// other until they restart. Stop every process that uses a lock
// directory before moving, removing or replacing it.
package lock
