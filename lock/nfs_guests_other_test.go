//go:build !linux

package lock_test

import "github.com/sessfs/sessfs/internal/nfstest"

// nfsGuests is empty here: the NFS tests build only on Linux (nfs_test.go).
var nfsGuests []nfstest.Early
