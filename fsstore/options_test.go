package fsstore_test

import (
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
		{"shard depth", true, []fsstore.Option{fsstore.WithShardDepth(4)}, "shard depth"},
		{"idle timeout", true, []fsstore.Option{fsstore.WithIdleTimeout(time.Millisecond)}, "idle timeout"},
		{"max size", true, []fsstore.Option{fsstore.WithMaxSize(0)}, "max size"},
		{"file mode", true, []fsstore.Option{fsstore.WithPermissions(0o400, 0o700)}, "file mode"},
		{"lease longer than any holder can vouch for", true, []fsstore.Option{fsstore.WithLeaseTTL(lock.MaxLeaseTTL + time.Second)}, "LeaseTTL"},
		{"lease too short to renew", true, []fsstore.Option{fsstore.WithLeaseTTL(time.Millisecond)}, "LeaseTTL"},
		{"negative lock budget", true, []fsstore.Option{fsstore.WithMaxHeldLocks(-1)}, "MaxHeld"},
		{"unknown lock strategy", true, []fsstore.Option{fsstore.WithLockStrategy(lock.Strategy(9))}, "strategy"},
		{"nil option", true, []fsstore.Option{nil}, "option 1 of 1 is nil"},
		{"nil option among others", true, []fsstore.Option{fsstore.WithShardDepth(1), nil}, "option 2 of 2 is nil"},
		{"nil clock", true, []fsstore.Option{fsstore.WithClock(nil)}, "WithClock given a nil clock"},
		{"nil logger", true, []fsstore.Option{fsstore.WithLogger(nil)}, "nil logger"},
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
