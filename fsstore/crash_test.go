//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
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

// A writer process saving alternately large and small values, at every
// durability, with Save and with Locked.Save, is killed with SIGKILL at
// random points, hundreds of times. After every kill the session
// must load as one complete value, never a torn or mixed one, and never an
// older one than already seen (a rename is atomic against process death).
// The temp files the dead writers leave behind must all be removable by a
// sweep.
//
// The kills are trials of their own, so they run in two lanes side by
// side, each with a store and a session of its own and half the kills:
// one after another, each kill waited for its writer to start (a
// race-enabled process), one core at a time.
func TestCrashDuringSave(t *testing.T) {
	kills := 200
	if v, err := strconv.Atoi(os.Getenv(crashKillsEnv)); err == nil && v > 0 {
		kills = v
	}
	if testing.Short() {
		kills = 20
	}
	const lanes = 2
	for lane := range lanes {
		n := kills / lanes
		if lane < kills%lanes {
			n++
		}
		if n == 0 {
			continue // SESSFS_CRASH_KILLS=1
		}
		t.Run(fmt.Sprintf("lane%d", lane+1), func(t *testing.T) {
			t.Parallel()
			crashDuringSave(t, n)
		})
	}
}

// crashDuringSave kills a writer kills times, in a store of its own, and
// checks the session after each kill and the sweep after the last.
func crashDuringSave(t *testing.T, kills int) {
	dir := t.TempDir()
	s := openDir(t, dir)
	id := newID(t)
	ctx := context.Background()
	last, saves := 0, 0
	for k := 0; k < kills; k++ {
		// Every durability, each with Save and with Locked.Save (whose
		// lock the kernel releases at the kill): six kinds of writer in
		// turn, so that every lane, in -short too, kills each.
		durability := []string{"none", "file", "full"}[k%3]
		locked := strconv.FormatBool(k/3%2 == 1)
		kid := startChild(t, "crash-writer", []string{"STORE_DIR=" + dir, "STORE_ID=" + id, "STORE_DURABILITY=" + durability, "STORE_LOCKED=" + locked}, plainChild(t))
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

// What a power loss can leave of a record saved with the default durability
// (no fsync before the rename) on a local disk: the rename reached the
// journal, the data did not. The name then points at an empty file, or at
// blocks that were allocated but never written (the ext4 preallocation, or
// a partial writeback of a larger record), which read as zeros. Every
// operation must treat such a record as damaged and the same way: Load,
// Store.Touch and Locked.Load report ErrCorrupt (httpsession then serves a
// new session), a Save replaces it, and once it is older than the store's
// idle timeout the sweep removes it like any expired session rather than
// keeping it forever as a file the store did not write.
func TestPowerLossStates(t *testing.T) {
	if d := openTemp(t).Durability(); d != fsstore.DurabilityNone {
		t.Fatalf("default durability %v: this test covers what DurabilityNone can leave", d)
	}
	ctx := context.Background()
	states := []struct {
		name   string
		damage func(rec []byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"zeros", func(rec []byte) []byte { return make([]byte, len(rec)) }},
		{"zeros-to-block", func(rec []byte) []byte { return make([]byte, (len(rec)+4095)/4096*4096) }},
		{"zero-tail", func(rec []byte) []byte {
			clear(rec[min(len(rec), 4096):])
			clear(rec[len(rec)/2:])
			return rec
		}},
		{"zero-head", func(rec []byte) []byte { clear(rec[:min(len(rec), 4096)]); return rec }},
	}
	for _, size := range []int{1 << 10, 16 << 10} {
		for _, st := range states {
			t.Run(fmt.Sprintf("%dKiB/%s", size>>10, st.name), func(t *testing.T) {
				s := openTemp(t)
				id := newID(t)
				payload := strings.Repeat("p", size)
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(payload)}); err != nil {
					t.Fatal(err)
				}
				p := s.RecordPathForTest(id)
				rec, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, st.damage(rec), 0o600); err != nil {
					t.Fatal(err)
				}
				// Another process, as after a reboot: nothing cached.
				s2 := openDir(t, s.Dir())
				if _, err := s2.Load(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) {
					t.Errorf("Load: %v, want ErrCorrupt", err)
				}
				// Touch reads the header only (its point is not to read
				// the payload): behind an intact header a damaged payload
				// is touched, and the next Load reports it.
				if err := s2.Touch(ctx, id); !errors.Is(err, fsstore.ErrCorrupt) && !(err == nil && st.name == "zero-tail") {
					t.Errorf("Touch: %v, want ErrCorrupt", err)
				}
				l, err := s2.Lock(ctx, id, fsstore.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := l.Load(ctx); !errors.Is(err, fsstore.ErrCorrupt) {
					t.Errorf("Locked.Load: %v, want ErrCorrupt", err)
				}
				if err := l.Unlock(); err != nil {
					t.Fatal(err)
				}

				// Young: the sweep keeps it (its owner may still come back
				// and save over it).
				sw, err := s2.Sweep(ctx, fsstore.SweepOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if sw.Sessions != 0 || sw.Foreign != 0 {
					t.Errorf("sweep of a fresh damaged record: %+v, want it kept, not foreign", sw)
				}
				// Older than the idle timeout: removed as an expired session.
				old := time.Now().Add(-2 * s2.IdleTimeout()).Add(-time.Hour)
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
				sw, err = s2.Sweep(ctx, fsstore.SweepOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if sw.Sessions != 1 || sw.Foreign != 0 || sw.Errors != 0 {
					t.Errorf("sweep of an expired damaged record: %+v, want it removed as a session", sw)
				}
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("damaged record still there after the sweep: %v", err)
				}
				if _, err := s2.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
					t.Errorf("Load after the sweep: %v, want ErrNotFound", err)
				}
				// And a Save brings the session back.
				if err := s2.Save(ctx, &fsstore.Session{ID: id, Data: []byte("fresh")}); err != nil {
					t.Fatal(err)
				}
				mustLoad(t, s2, id, "fresh")
			})
		}
	}
}
