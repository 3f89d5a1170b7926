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

// SharesRoom implements bench.RoomSharer: whether o is a directory
// target whose sessions take their space from the same file system (see
// sameSpace). Both are read now, one right after the other, so that the
// free space of a mount in use has changed little in between.
func (t *Target) SharesRoom(o bench.Target) bool {
	ot, ok := o.(*Target)
	if !ok {
		return false
	}
	a, okA := readSpace(t.sub)
	b, okB := readSpace(ot.sub)
	return okA && okB && sameSpace(a, b)
}

// space is what tells a file system apart: its device number (stat's
// st_dev) and the figures statfs gives for its size.
type space struct {
	dev                  uint64
	bsize, blocks, avail uint64
}

// sameSpace reports whether two directories take their space from one
// file system, erring on the side of yes: counted together, the run's
// sessions must fit in half of what one of them has free, which refuses
// more, never less.
//
// The device number alone misses what shares space under device numbers
// of its own: btrfs subvolumes of one pool, two NFS mounts of one export
// (mounted with different options, or nosharecache) or of two exports of
// one file system on the server, an overlay mount (a container's root)
// and a directory on its upper file system. statfs's f_fsid does not
// help: btrfs mixes the subvolume into it, the Linux NFS client leaves
// it 0, and an overlay mount has one of its own. What they all share is
// the size and free space statfs reports; f_type differs (an overlay
// reports its own). So equal block size and block count, and free space
// within a thousandth of the size (a mount in use changes between the two
// statfs calls), make one file system. Two disks of the same size and
// nearly the same free space are taken for one: the cost is a check as
// strict as if they were.
func sameSpace(a, b space) bool {
	if a.dev == b.dev {
		return true
	}
	if a.bsize == 0 || a.blocks == 0 || a.bsize != b.bsize || a.blocks != b.blocks {
		return false
	}
	diff := max(a.avail, b.avail) - min(a.avail, b.avail)
	return diff <= a.blocks/1000
}

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
