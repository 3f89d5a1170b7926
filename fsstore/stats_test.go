package fsstore_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// ageAll sets the mtime of every regular file under dir to at.
func ageAll(t *testing.T, dir string, at time.Time) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		return os.Chtimes(p, at, at)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// deadLease is the owner record a lease holder that died leaves: expired an
// hour before now. (A lease file without a record is dated by its ctime,
// which a test cannot set back.)
func deadLease() string {
	s := fmt.Sprintf("sessfs-lease 1 token=0123456789abcdef0123456789abcdef expires=%019d pid=%010d host=gone", time.Now().Add(-time.Hour).UnixNano(), 1)
	return s + strings.Repeat(" ", 159-len(s)) + "\n"
}

// writeAged writes a file and sets its mtime to at.
func writeAged(t *testing.T, p string, size int, at time.Time) {
	t.Helper()
	writeAgedContent(t, p, string(make([]byte, size)), at)
}

// writeAgedContent writes content to a file and sets its mtime to at.
func writeAgedContent(t *testing.T, p, content string, at time.Time) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour)
	for _, tc := range []struct {
		name  string
		depth int
	}{
		{"depth0", 0},
		{"depth1", 1},
		{"depth2", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := fsstore.Open(dir, fsstore.WithShardDepth(tc.depth), fsstore.WithIdleTimeout(time.Minute),
				fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			data := filepath.Join(dir, fsstore.DataDir)
			save := func(n int) {
				for i := 0; i < n; i++ {
					if err := s.Save(ctx, &fsstore.Session{ID: newID(t), Data: make([]byte, 100)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			save(2)
			ageAll(t, data, old) // the two saved so far expire
			save(3)
			// A shard directory to plant other files in.
			shard := data
			for i := 0; i < tc.depth; i++ {
				ents, err := os.ReadDir(shard)
				if err != nil || len(ents) == 0 {
					t.Fatalf("no shard under %s: %v", shard, err)
				}
				shard = filepath.Join(shard, ents[0].Name())
			}
			writeAged(t, filepath.Join(shard, ".tmp-crashed"), 10, old)
			writeAged(t, filepath.Join(shard, ".tmp-inflight"), 10, time.Now())
			writeAged(t, filepath.Join(shard, "sess_php"), 10, old)
			writeAged(t, filepath.Join(dir, "README"), 10, old)
			locks := filepath.Join(dir, fsstore.LockDir)
			writeAgedContent(t, filepath.Join(locks, "0001.lease"), deadLease(), old)
			writeAged(t, filepath.Join(locks, "0002.lease"), 160, time.Now())
			writeAged(t, filepath.Join(locks, "0003.lease.broken-ab"), 160, old)
			l, err := s.Lock(ctx, newID(t), fsstore.Exclusive) // creates one stripe lock file
			if err != nil {
				t.Fatal(err)
			}
			l.Unlock()

			st, err := s.Stats(ctx, fsstore.StatsOptions{Concurrency: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", st)
			for _, c := range []struct {
				name      string
				got, want int64
			}{
				{"Live", st.Live, 3},
				{"Expired", st.Expired, 2},
				{"LiveBytes", st.LiveBytes, 3 * 164},
				{"ExpiredBytes", st.ExpiredBytes, 2 * 164},
				{"Temps", st.Temps, 2},
				{"StaleTemps", st.StaleTemps, 1},
				{"Leases", st.Leases, 3},
				{"StaleLeases", st.StaleLeases, 2},
				{"LockFiles", st.LockFiles, 1},
				{"Foreign", st.Foreign, 2},
				{"Errors", st.Errors, 0},
				{"ShardCapacity", st.ShardCapacity, 1 << (8 * tc.depth)},
				{"Bytes", st.Bytes, 5*164 + 2*10 + 3*160},
			} {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
				}
			}
			if st.Shards < 1 || st.Shards > 5 || st.MaxShardFiles < st.MinShardFiles || st.MinShardFiles < 1 {
				t.Errorf("shard fill %d shards, %d..%d files", st.Shards, st.MinShardFiles, st.MaxShardFiles)
			}
			if !st.OldestExpiry.Before(time.Now().Add(-47*time.Hour)) || !st.NewestExpiry.After(time.Now()) {
				t.Errorf("expiry range %v .. %v", st.OldestExpiry, st.NewestExpiry)
			}

			// Stats predicts the sweep: what it calls expired and stale is
			// what a default sweep removes.
			sw, err := s.Sweep(ctx, fsstore.SweepOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sw.Sessions != st.Expired || sw.Temps != st.StaleTemps || sw.Leases != st.StaleLeases || sw.Live != st.Live {
				t.Errorf("sweep %+v disagrees with stats", sw)
			}
		})
	}
}

func TestStatsEmptyAndOptions(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Live+st.Expired+st.Temps+st.Foreign != 0 || !st.OldestExpiry.IsZero() || st.MinShardFiles != 0 {
		t.Errorf("empty store: %+v", st)
	}
	for _, o := range []fsstore.StatsOptions{{Concurrency: -1}, {Concurrency: 65}, {Grace: -1}, {TempAge: -1}} {
		if _, err := s.Stats(ctx, o); err == nil {
			t.Errorf("Stats(%+v) accepted", o)
		}
	}
	s.Close()
	if _, err := s.Stats(ctx, fsstore.StatsOptions{}); err == nil {
		t.Error("Stats on a closed store succeeded")
	}
}
