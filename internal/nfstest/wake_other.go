//go:build !linux

package nfstest

// oNonblock: the harness's guest is Linux; elsewhere NFS_CTL_WAKE is unset.
const oNonblock = 0
