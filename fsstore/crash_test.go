//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// crashKillsEnv overrides the number of kills of TestCrashDuringSave, for
// longer local runs: SESSFS_CRASH_KILLS=5000 go test -run Crash ./fsstore
const crashKillsEnv = "SESSFS_CRASH_KILLS"

// A writer process saving alternately large and small values is killed with
// SIGKILL at random points, hundreds of times. After every kill the session
// must load as one complete value, never a torn or mixed one, and never an
// older one than already seen (a rename is atomic against process death).
// The temp files the dead writers leave behind must all be removable by a
// sweep.
func TestCrashDuringSave(t *testing.T) {
	kills := 200
	if v, err := strconv.Atoi(os.Getenv(crashKillsEnv)); err == nil && v > 0 {
		kills = v
	}
	if testing.Short() {
		kills = 20
	}
	dir := t.TempDir()
	s := openDir(t, dir)
	id := newID(t)
	ctx := context.Background()
	last, saves := 0, 0
	for k := 0; k < kills; k++ {
		durability := []string{"none", "file"}[k%2]
		kid := startChild(t, "crash-writer", []string{"STORE_DIR=" + dir, "STORE_ID=" + id, "STORE_DURABILITY=" + durability})
		// Wait for the writer's first save, so the kill lands in the save
		// loop, then let it run for a random 0-5ms: the randomness of the
		// kill point is what matters, not its timing.
		kid.Expect(t, "saved ")
		time.Sleep(time.Duration(rand.N(5001)) * time.Microsecond)
		if err := kid.Cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := kid.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("writer %d ended with %v, want killed; stderr:\n%s", k, err, kid.Stderr)
		}
		sess, err := s.Load(ctx, id)
		if err != nil {
			t.Fatalf("after kill %d: Load: %v", k, err)
		}
		n, ok := parseCrashPayload(sess.Data)
		if !ok {
			t.Fatalf("after kill %d: damaged value (%d bytes) starting %.40q", k, len(sess.Data), sess.Data)
		}
		if n < last {
			t.Fatalf("after kill %d: value %d, older than the %d seen before", k, n, last)
		}
		saves += n - last
		last = n
	}
	temps := tempFiles(t, dir)
	t.Logf("%d kills, %d saves, %d temp files left by killed writers", kills, saves, len(temps))
	st, err := s.Sweep(ctx, fsstore.SweepOptions{TempAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Fatalf("temp files left after a sweep with TempAge 1ns (%+v):\n%s", st, strings.Join(left, "\n"))
	}
	if _, err := s.Load(ctx, id); err != nil {
		t.Fatalf("after the sweep: %v", err)
	}
}

// tempFiles lists every temp file anywhere in the store directory.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
