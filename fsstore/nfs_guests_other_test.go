//go:build !unix

package fsstore_test

import "github.com/sessfs/sessfs/internal/nfstest"

// nfsGuests is empty here: the NFS tests build only on unix (nfs_test.go).
var nfsGuests []nfstest.Early
