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

// readPersistence asks the server what it keeps of a write it answered
// (see ReadPersistence).
func (t *Target) readPersistence(ctx context.Context) string {
	return ReadPersistence(func(name string) (string, bool) {
		m, err := t.c.ConfigGet(ctx, name).Result()
		v, ok := m[name]
		return v, err == nil && ok
	}, func() (string, error) {
		return t.c.Info(ctx, "persistence").Result()
	})
}

// ReadPersistence says what a server keeps of a write it answered (see
// Persistence), whichever client asks it: configGet is CONFIG GET of one
// setting, its value and whether the server gave it; info is INFO
// persistence. "" when the server would not say: a managed server or an
// ACL user may be refused CONFIG, and INFO says whether the append-only
// file is on but not how often it is flushed. Both sessbench run's Redis
// target and sessbench http's scs-redis peer report it so.
func ReadPersistence(configGet func(name string) (string, bool), info func() (string, error)) string {
	// One setting a call, not "*", which would fetch requirepass and
	// masterauth too; servers before 7.0 take one name a call.
	cfg := map[string]string{}
	for _, name := range []string{"appendonly", "appendfsync", "save"} {
		if v, ok := configGet(name); ok {
			cfg[name] = v
		}
	}
	if _, known := cfg["save"]; !known && cfg["appendonly"] == "no" {
		return "no aof" // snapshots not known
	}
	if cfg["appendonly"] != "" {
		return Persistence(cfg["appendonly"], cfg["appendfsync"], cfg["save"])
	}
	text, err := info()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(text, "\n") {
		switch strings.TrimSpace(line) {
		case "aof_enabled:1":
			return "aof"
		case "aof_enabled:0":
			return "no aof"
		}
	}
	return ""
}

// Persistence says what a server keeps of a write it answered, from its
// appendonly, appendfsync and save settings (CONFIG GET; "" for one not
// known): "aof, fsync always" (on disk when answered), "aof, fsync every
// second" (a crash of the host loses up to the last second),
// "aof, fsync left to the OS", "rdb snapshots only" (a crash loses
// everything since the last snapshot), "none" (a restart loses every
// session); "" when appendonly is not known. Without CONFIG, INFO gives
// "aof" or "no aof" alone.
func Persistence(appendonly, appendfsync, save string) string {
	switch {
	case appendonly == "yes" && appendfsync == "always":
		return "aof, fsync always"
	case appendonly == "yes" && appendfsync == "everysec":
		return "aof, fsync every second"
	case appendonly == "yes" && appendfsync == "no":
		return "aof, fsync left to the OS"
	case appendonly == "yes":
		return "aof"
	case appendonly == "no" && strings.TrimSpace(save) != "":
		return "rdb snapshots only"
	case appendonly == "no":
		return "none"
	}
	return ""
}
