package fsstore_test

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestOpenRefusesBadOptions checks that Open refuses a setting it would
// otherwise turn into something the caller did not ask for, before it
// touches the directory. The empty ones are what an unset environment
// variable gives: Open(os.Getenv("SESSION_DIR")) made a store in the
// working directory, of this host only; WithKeysFile(os.Getenv(...)) and
// WithKeys() of no keys made a store without encryption.
func TestOpenRefusesBadOptions(t *testing.T) {
	key := mustKey(t, 1)
	for _, tt := range []struct {
		name string
		dir  bool // open a fresh directory; false opens ""
		opts []fsstore.Option
		want string
	}{
		{"no directory", false, nil, "no directory given"},
		{"empty keys file path", true, []fsstore.Option{fsstore.WithKeysFile("")}, "WithKeysFile given an empty path"},
		{"no keys", true, []fsstore.Option{fsstore.WithKeys()}, "WithKeys given no keys"},
		{"keys and an empty keys file path", true, []fsstore.Option{fsstore.WithKeys(key), fsstore.WithKeysFile("")}, "exclusive"},
		{"shard depth", true, []fsstore.Option{fsstore.WithShardDepth(4)}, "WithShardDepth 4"},
		{"idle timeout", true, []fsstore.Option{fsstore.WithIdleTimeout(time.Millisecond)}, "WithIdleTimeout 1ms"},
		{"max size", true, []fsstore.Option{fsstore.WithMaxSize(0)}, "WithMaxSize 0"},
		{"file mode", true, []fsstore.Option{fsstore.WithPermissions(0o400, 0o700)}, "file mode"},
		{"lease longer than any holder can vouch for", true, []fsstore.Option{fsstore.WithLeaseTTL(lock.MaxLeaseTTL + time.Second)}, "LeaseTTL"},
		{"lease too short to renew", true, []fsstore.Option{fsstore.WithLeaseTTL(time.Millisecond)}, "LeaseTTL"},
		{"negative lock budget", true, []fsstore.Option{fsstore.WithMaxHeldLocks(-1)}, "WithMaxHeldLocks -1"},
		{"unknown lock strategy", true, []fsstore.Option{fsstore.WithLockStrategy(lock.Strategy(9))}, "strategy"},
		{"nil option", true, []fsstore.Option{nil}, "option 1 of 1 is nil"},
		{"nil option among others", true, []fsstore.Option{fsstore.WithShardDepth(1), nil}, "option 2 of 2 is nil"},
		{"logger without a handler", true, []fsstore.Option{fsstore.WithLogger(new(slog.Logger))}, "without a handler"},
		{"NUL in the path", false, nil, `open "a\x00b": the path holds a NUL byte`},
		{"NUL in the keys file path", true, []fsstore.Option{fsstore.WithKeysFile("k\x00eys")}, `WithKeysFile "k\x00eys": the path holds a NUL byte`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wd := t.TempDir()
			t.Chdir(wd)
			dir := ""
			if tt.dir {
				dir = t.TempDir()
			}
			if tt.name == "NUL in the path" {
				dir = "a\x00b"
			}
			var s *fsstore.Store
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Open panicked: %v", r)
					}
				}()
				s, err = fsstore.Open(dir, tt.opts...)
			}()
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v, want it to say %q", err, tt.want)
			}
			for _, d := range []string{wd, dir} {
				if d == "" {
					continue
				}
				if ents, _ := os.ReadDir(d); len(ents) != 0 {
					t.Errorf("Open failed but left %d entries in %s (%s)", len(ents), d, ents[0].Name())
				}
			}
		})
	}
}

// TestOptionErrorsNameTheOption holds that every option Open refuses for
// its value is refused with an error naming the option as the caller
// wrote it, where the lock options were refused with the lock package's
// Config fields ("lock: MaxHeld and MaxOpen must not be negative", for
// WithMaxHeldLocks(-1)) and the others by a description ("shard depth",
// "max in flight") that a caller had to map back to an option.
func TestOptionErrorsNameTheOption(t *testing.T) {
	key := mustKey(t, 1)
	for _, tt := range []struct {
		opts []fsstore.Option
		want string
	}{
		{[]fsstore.Option{fsstore.WithShardDepth(-1)}, "WithShardDepth -1"},
		{[]fsstore.Option{fsstore.WithShardDepth(4)}, "WithShardDepth 4"},
		{[]fsstore.Option{fsstore.WithLockStripes(0)}, "WithLockStripes 0"},
		{[]fsstore.Option{fsstore.WithLockStripes(1<<16 + 1)}, "WithLockStripes 65537"},
		{[]fsstore.Option{fsstore.WithDurability(fsstore.Durability(9))}, "WithDurability 9"},
		{[]fsstore.Option{fsstore.WithIdleTimeout(0)}, "WithIdleTimeout 0s"},
		{[]fsstore.Option{fsstore.WithIdleTimeout(fsstore.MaxIdleTimeout + time.Hour)}, "WithIdleTimeout 9601h"},
		{[]fsstore.Option{fsstore.WithLifetime(-time.Hour)}, "WithLifetime -1h"},
		{[]fsstore.Option{fsstore.WithLifetime(1)}, "WithLifetime 1ns"},
		{[]fsstore.Option{fsstore.WithMaxSize(0)}, "WithMaxSize 0"},
		{[]fsstore.Option{fsstore.WithMaxSize(64<<20 + 1)}, "WithMaxSize 67108865"},
		{[]fsstore.Option{fsstore.WithPermissions(0o400, 0o700)}, "WithPermissions: file mode"},
		{[]fsstore.Option{fsstore.WithPermissions(0o600, 0o500)}, "WithPermissions: directory mode"},
		{[]fsstore.Option{fsstore.WithLogger(new(slog.Logger))}, "WithLogger given a slog.Logger without a handler"},
		{[]fsstore.Option{fsstore.WithCache(-1, 0)}, "WithCache(-1, 0)"},
		{[]fsstore.Option{fsstore.WithCache(1, -1)}, "WithCache(1, -1)"},
		{[]fsstore.Option{fsstore.WithKeys()}, "WithKeys given no keys"},
		{[]fsstore.Option{fsstore.WithKeysFile("")}, "WithKeysFile given an empty path"},
		{[]fsstore.Option{fsstore.WithKeysFile("k\x00eys")}, `WithKeysFile "k\x00eys"`},
		{[]fsstore.Option{fsstore.WithKeys(key), fsstore.WithKeysFile("keys")}, "WithKeys and WithKeysFile are exclusive"},
		{[]fsstore.Option{fsstore.WithMaxInFlight(-1)}, "WithMaxInFlight -1"},
		{[]fsstore.Option{fsstore.WithMaxInFlight(1<<16 + 1)}, "WithMaxInFlight 65537"},
		{[]fsstore.Option{fsstore.WithOpTimeout(0)}, "WithOpTimeout 0s"},
		{[]fsstore.Option{fsstore.WithBreaker(0, time.Second)}, "WithBreaker failures 0"},
		{[]fsstore.Option{fsstore.WithBreaker(1, 0)}, "WithBreaker cool-down 0s"},
		{[]fsstore.Option{fsstore.WithReadOnly(), fsstore.WithCreate(true)}, "WithReadOnly and WithCreate(true) are exclusive"},
		{[]fsstore.Option{fsstore.WithLockStrategy(lock.Strategy(9))}, "WithLockStrategy Strategy(9)"},
		{[]fsstore.Option{fsstore.WithLockStrategy(lock.Strategy(-1))}, "WithLockStrategy Strategy(-1)"},
		{[]fsstore.Option{fsstore.WithMaxHeldLocks(-1)}, "WithMaxHeldLocks -1"},
		{[]fsstore.Option{fsstore.WithMaxOpenLocks(-1)}, "WithMaxOpenLocks -1"},
		{[]fsstore.Option{fsstore.WithLeaseTTL(-time.Second)}, "WithLeaseTTL -1s"},
		{[]fsstore.Option{fsstore.WithLeaseTTL(time.Millisecond)}, "WithLeaseTTL 1ms"},
		{[]fsstore.Option{fsstore.WithLeaseTTL(lock.MaxLeaseTTL + time.Second)}, "WithLeaseTTL 10m1s"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			dir := t.TempDir()
			s, err := fsstore.Open(dir, tt.opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v, want it to name the option: %q", err, tt.want)
			}
		})
	}
}

// TestScanOptionErrorsNameTheField holds that Sweep, Stats and Rekey
// refuse a bad field of their options with an error naming it as the
// caller wrote it (SweepOptions.Grace), one field per error, where they
// said "negative TempAge or Grace" or "concurrency must be 1..64 and rate
// not negative", leaving the caller to find which.
func TestScanOptionErrorsNameTheField(t *testing.T) {
	ctx := t.Context()
	s := openDir(t, t.TempDir(), fsstore.WithKeys(mustKey(t, 1)))
	for _, tt := range []struct {
		call func() error
		want string
	}{
		{func() error { _, err := s.Sweep(ctx, fsstore.SweepOptions{Concurrency: 65}); return err }, "SweepOptions.Concurrency 65"},
		{func() error { _, err := s.Sweep(ctx, fsstore.SweepOptions{TempAge: -time.Second}); return err }, "SweepOptions.TempAge -1s"},
		{func() error { _, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: -time.Second}); return err }, "SweepOptions.Grace -1s"},
		{func() error { _, err := s.Sweep(ctx, fsstore.SweepOptions{Rate: -1}); return err }, "SweepOptions.Rate -1"},
		{func() error { _, err := s.Stats(ctx, fsstore.StatsOptions{Concurrency: -1}); return err }, "StatsOptions.Concurrency -1"},
		{func() error { _, err := s.Stats(ctx, fsstore.StatsOptions{TempAge: -time.Second}); return err }, "StatsOptions.TempAge -1s"},
		{func() error { _, err := s.Stats(ctx, fsstore.StatsOptions{Grace: -time.Second}); return err }, "StatsOptions.Grace -1s"},
		{func() error { _, err := s.Rekey(ctx, fsstore.RekeyOptions{Concurrency: 65}); return err }, "RekeyOptions.Concurrency 65"},
		{func() error { _, err := s.Rekey(ctx, fsstore.RekeyOptions{Rate: -1}); return err }, "RekeyOptions.Rate -1"},
		{func() error { _, err := s.Rekey(ctx, fsstore.RekeyOptions{Grace: -time.Second}); return err }, "RekeyOptions.Grace -1s"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			if err := tt.call(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %q", err, tt.want)
			}
		})
	}
}
