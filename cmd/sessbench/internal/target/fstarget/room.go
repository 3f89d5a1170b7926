package fstarget

import (
	"context"
	"fmt"
	"slices"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/fsstore"
)

// CheckRoom implements bench.RoomChecker: the sessions' files, each
// rounded up to whole blocks, and a save in flight per client must fit in
// bench.RoomShare of the space the file system has free. A file system
// that reports more free space than a run could ever fill (AWS EFS says
// 8 EiB) always has room.
func (t *Target) CheckRoom(_ context.Context, sessions int, sizes []int, clients int) error {
	free, block, ok, err := FreeSpace(t.sub)
	if err != nil {
		return fmt.Errorf("--dir %s: free space: %w", t.dir, err)
	}
	if !ok {
		return nil
	}
	return bench.NoRoom("the file system of "+t.dir, Footprint(sessions, sizes, clients, fsstore.RecordOverhead, block), free)
}

// RoomKey implements bench.RoomSharer: the file system the target's
// directory is on.
func (t *Target) RoomKey() string { return fileSystemKey(t.sub) }

// maxAllocBlock bounds the block a file is rounded up to. The block size a
// file system reports (statfs's f_bsize) is its preferred I/O size, not
// always what a small file takes: on NFS it is the mount's wsize (1 MiB
// with the options docs/operator-guide.md gives), on ZFS the recordsize
// (128 KiB), while a file of a few KiB takes a few KiB on the server.
// Rounded to those, a 1 KiB session counted as 1 MiB, and a run that
// needed 2 GiB was refused for the 195 GiB it did not need.
const maxAllocBlock = 4096

// Footprint is what sessions files of each size, and one save in flight
// per client at the largest size, take on a file system of block-sized
// blocks (at most maxAllocBlock), each file overhead bytes longer than its
// payload.
func Footprint(sessions int, sizes []int, clients, overhead int, block int64) float64 {
	block = min(max(block, 1), maxAllocBlock)
	file := func(size int) float64 {
		n := int64(overhead + size)
		return float64((n + block - 1) / block * block)
	}
	var need float64
	for _, s := range sizes {
		need += float64(sessions) * file(s)
	}
	return need + float64(clients)*file(slices.Max(sizes))
}
