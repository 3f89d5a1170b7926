package redistarget

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
)

// KeyOverhead is an upper estimate of what a key costs Redis besides its
// value: the key (about 70 bytes here), its entry and its expiry.
const KeyOverhead = 256

// CheckRoom implements bench.RoomChecker: the sessions' keys must fit in
// bench.RoomShare of the memory the server has left before maxmemory, at
// which it evicts other keys (or, with noeviction, refuses their writes),
// or, without a maxmemory, before its host's memory runs out.
func (t *Target) CheckRoom(ctx context.Context, sessions int, sizes []int, clients int) error {
	// An ACL user may be refused INFO (Open's own INFO server is
	// optional too): then the free memory is not known.
	info, _ := t.c.Info(ctx, "memory").Result()
	free, what, ok := Headroom(info)
	if !ok {
		return nil
	}
	var need float64
	for _, s := range sizes {
		need += float64(sessions) * float64(s+KeyOverhead)
	}
	need += float64(clients) * float64(slices.Max(sizes)) // commands in flight
	return bench.NoRoom(fmt.Sprintf("the Redis at %s (%s)", t.addr, what), need, free)
}

// Headroom reads INFO memory: the bytes the server may still take before
// maxmemory, or else before its host's memory is used up, and which of
// the two it is; ok is false when the server gives neither.
func Headroom(info string) (free int64, what string, ok bool) {
	field := func(name string) (int64, bool) {
		for _, line := range strings.Split(info, "\n") {
			if v, found := strings.CutPrefix(strings.TrimSpace(line), name+":"); found {
				n, err := strconv.ParseInt(v, 10, 64)
				return n, err == nil
			}
		}
		return 0, false
	}
	used, ok := field("used_memory")
	if !ok {
		return 0, "", false
	}
	if limit, ok := field("maxmemory"); ok && limit > 0 {
		return limit - used, "maxmemory", true
	}
	if total, ok := field("total_system_memory"); ok && total > 0 {
		return total - used, "no maxmemory: its host's memory", true
	}
	return 0, "", false
}
