// Package fsstore is a session store kept as files in a directory that every
// app server mounts: an NFS export, an AWS EFS file system, or a local disk
// for a single host. A web application opens it here and starts with
// package github.com/sessfs/sessfs/httpsession (net/http and chi; gin and
// echo through adapters/ginsession and adapters/echosession), or with the
// adapter of the session library it already uses.
//
// A [Store] saves each session in its own file, replaced atomically: the new
// record is written to a temp file in the same directory, optionally
// fsynced, closed and renamed over the old one, so readers on any host see
// the old record or the new one, never a torn file. Requests that
// read-modify-write a session take its lock ([Store.Lock]), which excludes
// other goroutines, processes and hosts, as PHP's files handler does but
// without its in-place rewrite; callers that do not want to hold a lock use
// [Store.CompareAndSwap] on the record's version counter.
//
// Where to start: a web application rarely calls the store itself. Open it
// once per process ([Open], or [OpenContext] with a deadline: two Stores of
// one directory in one process lock as two processes do, so a goroutine
// holding a session through one waits for itself when it locks another
// session of the same lock stripe through the other) and hand it to
// package github.com/sessfs/sessfs/httpsession, net/http middleware that
// loads, locks and saves each request's session (gin and echo through
// adapters/ginsession and adapters/echosession), or make it the store of the
// session library the application already uses (adapters/scsstore,
// adapters/gorillastore, adapters/ginstore). Expired sessions stay on disk
// until a sweep removes them: run the sessgc command (cmd/sessgc) from cron
// on every host, which runs [Store.Sweep].
//
//	// Without WithLogger the store logs nothing: a record it refuses
//	// (damaged, unreadable to this user) is a silent log out.
//	st, err := fsstore.Open("/mnt/efs/sessions", fsstore.WithLogger(slog.Default()))
//	if err != nil {
//		log.Fatal(err)
//	}
//	sessions := httpsession.New(st)
//	mux := http.NewServeMux()
//	// ... mux.HandleFunc(...): handlers read and write httpsession.FromContext(r.Context())
//	srv := &http.Server{Addr: ":8080", Handler: sessions.Handler(mux)}
//	// On SIGTERM: srv.Shutdown, then st.Close, so the requests in flight save first.
//
// # Layout
//
//	DIR/.sessfs              marker: layout version, shard depth, lock stripes, max idle
//	DIR/data/ab/<32 hex>     session records, sharded by the first hex digits
//	DIR/data/ab/.tmp-*       temp files of saves in progress (or of crashed writers)
//	DIR/locks/<4 hex>        lock files, one per stripe, never removed
//
// The store takes DIR for its own: [Open] creates the layout only in an
// empty directory, and refuses a directory inside another store
// ([ErrInsideStore]).
//
// File names are a SHA-256 of the session ID, so a directory listing, a
// backup or a log of file names does not reveal live session tokens, and no
// path is ever built from caller input; IDs are validated ([ValidID]) before
// anything else. Files are created 0600 and directories 0700 unless
// [WithPermissions] says otherwise, and no symlink below the store's
// directory is followed, at any component of a path: a shard directory
// replaced by a symlink makes operations fail with ELOOP rather than touch
// files outside the store.
//
// # Expiry
//
// A session expires its idle timeout after its last Save or Touch (the
// file's mtime), or at its absolute deadline, whichever comes first. Both
// the idle timeout ([Session.Idle], by default [WithIdleTimeout]) and the
// deadline are in the record header, so every process judges a session by
// the same rule whatever its own settings. Keeping the activity time in the
// mtime makes [Store.Touch] a single attribute update and lets
// [Store.Sweep] skip every young record from directory metadata alone: the
// store's marker records an upper bound of every record's idle timeout.
//
// # NFS and AWS EFS
//
// The store relies on the guarantees NFSv4 gives and avoids the ones it does
// not:
//
//   - rename(2) is one RENAME operation on the server, atomic for every
//     client. What NFS does not give is instant visibility: clients cache
//     attributes and directory entries, and close-to-open consistency
//     alone is not enough: the Linux client opens a cached name by its old
//     file handle, which still works while the replaced file lives on (as a
//     .nfsXXXX file on a host that had it open), and would return the old
//     record. Load therefore first forces a GETATTR of the shard directory,
//     so that a changed directory makes the client look the name up again;
//     then a Load that starts after a Save on another host returned sees
//     that save, which the NFS test suite checks with two client hosts.
//     (renameio's documentation warns that rename is not atomic for other
//     NFS clients; what a client can see without the refresh is an old
//     record, never a torn one.) An ESTALE from a file replaced between
//     lookup and open is retried. So, for about 31 ms, is a name that Load
//     or Touch does not find: a client saving over a record that one of its
//     processes holds open renames the busy record away first, and for a
//     round trip the name is gone on the server. (Not where no such save can
//     be in flight, or where it does not matter: Locked.LoadLockedOnly, and
//     CompareAndSwap creating a session.)
//   - Locks are flock(2), which the Linux client turns into NFSv4 byte-range
//     locks held by the server. They live in files apart from the records: a
//     rename over a locked file would drop the lock. A host cut off for
//     longer than the NFS lease loses its locks; Locked.Save verifies the
//     lock first and fails with ErrLockLost rather than overwrite another
//     host's work. See the lock package.
//   - Mtimes set by Save and Touch come from the server's clock, and Sweep
//     compares them with the server's clock, so clock skew between app
//     hosts does not shorten or lengthen sessions in the sweep. Load compares
//     the mtime with the local clock: skew of s seconds moves a session's
//     expiry by s on that host (NTP keeps it well under a second).
//   - File change notifications (inotify) see only this host's changes on
//     NFS, so nothing about sessions depends on them: the optional read
//     cache ([WithCache]) revalidates every entry with a forced GETATTR of
//     the file on every Load. They are used for the keys file
//     ([WithKeysFile]), which lives on each host's local disk.
//
// # Platforms
//
// Linux is the platform the store is built and measured for, on local
// disks, NFS and AWS EFS. macOS (darwin) and FreeBSD are supported too, on
// local disks and NFS mounts, with the same files and locks, so stores can
// be shared with Linux hosts; what they lack is Linux's forced attribute
// refresh (statx with AT_STATX_FORCE_SYNC), so on NFS a Load there may not
// see another host's save until the client's attribute cache expires, and
// the ext4 preallocation (see [DurabilityNone]). A Linux process that may
// not make statx (a kernel before 4.11, or a container whose seccomp
// profile predates it: Docker's default before 18.04, older runc and
// gVisor answer it EPERM or ENOSYS; or a systemd unit's
// SystemCallFilter=, with any SystemCallErrorNumber=) works as those systems do, with
// fstatat: Open finds that out once, and the store then reads attributes
// as macOS and FreeBSD do, with the same lag on NFS. On macOS [DurabilityFile]
// uses F_FULLFSYNC, since fsync(2) there leaves data in the drive's cache.
// On every other system (Windows among them) the package compiles, so
// programs importing it build everywhere, and [Open] fails with
// [ErrNotSupported]; on Windows its message says to run the application
// under WSL 2 or on a Linux host that mounts the share.
//
// Round trips are what cost on NFS. On a warm client a Load costs 3 RPCs
// (GETATTR of the directory, OPEN, CLOSE; a READ only when the data
// changed), a Save 4 (OPEN, WRITE, CLOSE, RENAME), a Touch after a Load 1
// (SETATTR), and a locked read-modify-write request 11, against 9 for PHP's
// files handler, which rewrites the file in place (readers may see it
// half-written). docs/testing.md has the counts measured on a real kernel NFS
// mount; the test suite asserts them.
package fsstore
