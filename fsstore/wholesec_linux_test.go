package fsstore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestWholeSecondTimesWarned: on a file system that keeps file times in
// whole seconds (ext4 with 128-byte inodes here; ext3, HFS+, sshfs, some
// NAS), a record's attributes cannot tell it from its replacement, and
// WithCache serves nothing: it said nothing of it either. A store with a
// cache now warns once, at Open's write probe or, where Open makes none
// (WithReadOnly), at the third record a Load reads in a row in whole
// seconds; Store.WholeSecondTimes and Stats.WholeSecondTimes report it,
// the census from its own clock file on a store without a cache. On a
// file system with finer times, none of it.
func TestWholeSecondTimesWarned(t *testing.T) {
	ctx := context.Background()
	coarse := ext4Coarse(t)
	fine := t.TempDir()
	for _, tc := range []struct {
		name      string
		dir       string
		opts      []fsstore.Option
		whole     bool // the file system's times are whole seconds
		warnOpen  bool // warned once opened
		warnLoads bool // warned after three Loads
	}{
		{"coarse/cache", coarse, []fsstore.Option{fsstore.WithCache(100, 1<<20)}, true, true, true},
		{"coarse/cache/read-only", coarse, []fsstore.Option{fsstore.WithCache(100, 1<<20), fsstore.WithReadOnly()}, true, false, true},
		{"coarse/no-cache", coarse, nil, true, false, false},
		{"fine/cache", fine, []fsstore.Option{fsstore.WithCache(100, 1<<20)}, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writer := openDir(t, tc.dir)
			var ids []string
			for range 3 {
				id := newID(t)
				must(t, writer.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}))
				ids = append(ids, id)
			}
			var logs testenv.Buffer
			opts := append([]fsstore.Option{fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))}, tc.opts...)
			s := openDir(t, tc.dir, opts...)
			warnings := func() int { return strings.Count(logs.String(), "keeps file times in whole seconds") }
			if got := warnings(); got != b2i(tc.warnOpen) {
				t.Errorf("opened: %d warnings of whole-second times, want %d; log %q", got, b2i(tc.warnOpen), logs.String())
			}
			for _, id := range ids {
				mustLoad(t, s, id, "x")
				mustLoad(t, s, id, "x")
			}
			if got := warnings(); got != b2i(tc.warnLoads) {
				t.Errorf("after Loads: %d warnings of whole-second times, want %d; log %q", got, b2i(tc.warnLoads), logs.String())
			}
			if got := s.WholeSecondTimes(); got != tc.warnLoads {
				t.Errorf("WholeSecondTimes() = %v after Loads, want %v", got, tc.warnLoads)
			}
			st, err := s.Stats(ctx, fsstore.StatsOptions{})
			must(t, err)
			// A read-only census makes no clock file: what the Loads found.
			if want := tc.whole; st.WholeSecondTimes != want {
				t.Errorf("Stats.WholeSecondTimes = %v, want %v", st.WholeSecondTimes, want)
			}
			if got := warnings(); got != b2i(tc.warnLoads) {
				t.Errorf("after Stats: %d warnings of whole-second times, want %d (once per store)", got, b2i(tc.warnLoads))
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
