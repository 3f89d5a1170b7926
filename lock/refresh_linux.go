package lock

import "golang.org/x/sys/unix"

// refreshDir makes this NFS client revalidate dir (statx with
// AT_STATX_FORCE_SYNC: one GETATTR, whatever its attribute cache holds),
// so that a look at a name in it that follows meets what another host
// changed there: once dir changed, the client drops its cached lookups in
// it, which it otherwise trusts until its cached attributes expire
// (acdirmin to acdirmax; some 20 s in the NFS suite for a lock directory
// moved away and made anew by another host). A failure (statx refused by
// a seccomp filter, say) leaves the look to the cache. The mask asks for
// the times: Linux's NFS client skips the GETATTR for a statx that asks
// for nothing it could have to revalidate (the type alone).
func refreshDir(dir string) {
	var stx unix.Statx_t
	unix.Statx(unix.AT_FDCWD, dir, unix.AT_STATX_FORCE_SYNC, unix.STATX_BASIC_STATS, &stx)
}
