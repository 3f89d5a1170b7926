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

// Footprint is what sessions files of each size, and one save in flight
// per client at the largest size, take on a file system of block-sized
// blocks, each file overhead bytes longer than its payload.
func Footprint(sessions int, sizes []int, clients, overhead int, block int64) float64 {
	block = max(block, 1)
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
