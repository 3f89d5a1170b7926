package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// keysPlay plays, through the hooks of a settled read of a keys file
// (Open's, KeysFromFile's), a writer that leaves the file as each of steps
// in turn, one step before each read, and a clock that each wait for the
// next read moves by the time waited. Nothing here waits for real.
type keysPlay struct {
	t     *testing.T
	path  string
	steps []string
	// never: the waits never end (a context must end them).
	never bool

	mu    sync.Mutex
	now   time.Time
	reads int
	waits []time.Duration
}

func (p *keysPlay) hooks() fsstore.KeysReadHooks {
	return fsstore.KeysReadHooks{
		Now: func() time.Time {
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.now
		},
		After: func(d time.Duration) <-chan time.Time {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.waits = append(p.waits, d)
			if p.never {
				return nil
			}
			p.now = p.now.Add(d)
			c := make(chan time.Time, 1)
			c <- p.now
			return c
		},
		Read: func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.reads < len(p.steps) {
				// In place, as the operator's shell or editor does.
				if err := os.WriteFile(p.path, []byte(p.steps[p.reads]), 0o600); err != nil {
					p.t.Errorf("the writer: %v", err)
				}
			}
			p.reads++
		},
	}
}

// keysSettledReaders are the ways a process with no keys yet reads a keys
// file: an application's Open, and a tool (sessgc rekey) or an application
// opened WithKeys(KeysFromFile(path)...). They return the key IDs taken:
// the newest, and all in ascending order.
var keysSettledReaders = []struct {
	name string
	read func(t *testing.T, path string, h fsstore.KeysReadHooks) (newest uint32, ids []uint32, err error)
}{
	{"Open WithKeysFile", func(t *testing.T, path string, h fsstore.KeysReadHooks) (uint32, []uint32, error) {
		s, err := fsstore.Open(t.TempDir(), fsstore.WithKeysFile(path), fsstore.WithKeysReadForTest(h))
		if err != nil {
			return 0, nil, err
		}
		defer s.Close()
		newest, ids := s.KeysInUseForTest()
		return newest, ids, nil
	}},
	{"KeysFromFile", func(t *testing.T, path string, h fsstore.KeysReadHooks) (uint32, []uint32, error) {
		keys, err := fsstore.KeysFromFileForTest(path, h)
		if err != nil {
			return 0, nil, err
		}
		var ids []uint32
		for _, k := range keys {
			ids = append(ids, k.ID)
		}
		slices.Sort(ids)
		return keys[0].ID, ids, nil
	}},
}

// keysPlayEpoch is the played clock's start: long before any file's
// times, so that no file reads as one left alone, and every read is held
// until the next agrees.
var keysPlayEpoch = time.Unix(1_000_000, 0)

// TestKeysFileBeingWrittenAtOpen: an application started (or restarted by
// a deploy) while an operator rewrites its keys file in place, a line at a
// time, read the file once. Caught cut mid-line or emptied, it failed to
// start; caught cut at the end of a line, it started with a valid key set
// lacking the keys below the cut (the newest is first, so it sealed with
// the right key) and the users of every record sealed under those were
// logged out. sessgc rekey, reading the file once too, counted those
// records as errors. The first read is held as the keys watcher holds a
// read that drops keys, until the next agrees.
func TestKeysFileBeingWrittenAtOpen(t *testing.T) {
	keys := []fsstore.Key{mustKey(t, 3), mustKey(t, 2), mustKey(t, 1)}
	steps := writtenLineByLine(keys...)
	for _, r := range keysSettledReaders {
		for _, start := range []struct {
			name string
			from int // the step the first read sees
		}{
			{"emptied", 0},
			{"cut at the end of a line", 1},
			{"cut mid-line", 2},
		} {
			t.Run(r.name+"/"+start.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "keys")
				writeFile0600(t, path, keysFileText(keys[1:]...)) // the old key set, [2 1]
				p := &keysPlay{t: t, path: path, steps: steps[start.from:], now: keysPlayEpoch}
				newest, ids, err := r.read(t, path, p.hooks())
				if err != nil {
					t.Fatalf("%s of a keys file being written in place: %v", r.name, err)
				}
				if want := []uint32{1, 2, 3}; newest != 3 || !slices.Equal(ids, want) {
					t.Fatalf("%s took the keys file being written as key IDs %v, newest %d, in %d read(s); want %v, newest 3", r.name, ids, newest, p.reads, want)
				}
				if p.reads != len(p.steps)+1 {
					t.Errorf("%d reads, want %d: each step, then the one that agrees with the last", p.reads, len(p.steps)+1)
				}
				for _, d := range p.waits {
					if d != fsstore.KeysSettle {
						t.Fatalf("waited %v between reads, want %v", d, fsstore.KeysSettle)
					}
				}
			})
		}
	}
}

// TestKeysFileStillBeingWrittenAtOpen: the wait for a keys file being
// written is bounded by the keys watcher's bound; a file still changing
// past it is not taken as read: one still failing to parse fails with the
// parse error, as a single read did, and one that gains keys at every read
// (a writer slower than its bound) with an error saying it is still being
// written, rather than start with some of its keys.
func TestKeysFileStillBeingWrittenAtOpen(t *testing.T) {
	var keys []fsstore.Key
	for id := uint32(40); id >= 1; id-- {
		keys = append(keys, mustKey(t, id))
	}
	var growing, failing []string
	for n := 1; n <= len(keys); n++ {
		growing = append(growing, keysFileText(keys[:n]...))
		// A different line fails at each read.
		failing = append(failing, strings.Repeat("# comment\n", n)+"not a key\n")
	}
	for _, r := range keysSettledReaders {
		for _, tc := range []struct {
			name    string
			steps   []string
			wantErr string
		}{
			{"growing", growing, "is still being written"},
			{"failing", failing, "keys line "},
		} {
			t.Run(r.name+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "keys")
				writeFile0600(t, path, keysFileText(keys[0]))
				p := &keysPlay{t: t, path: path, steps: tc.steps, now: keysPlayEpoch}
				newest, ids, err := r.read(t, path, p.hooks())
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("%s of a keys file still changing after %v: key IDs %v (newest %d), %v; want an error naming the file and saying %q", r.name, p.now.Sub(keysPlayEpoch), ids, newest, err, tc.wantErr)
				}
				if waited := p.now.Sub(keysPlayEpoch); waited != fsstore.KeysSettleMax {
					t.Errorf("gave up after %v, want the bound, %v", waited, fsstore.KeysSettleMax)
				}
			})
		}
	}
}

// TestKeysFileReadOnceAtOpen: the settle rule must not cost every Open a
// wait. A keys file that parses and was left alone for the settle interval
// is read once; one changed within it is read again, once, when the next
// read agrees; a file that does not parse is read again too (its writer
// may have truncated it and still be fetching the keys) and then fails as
// before.
func TestKeysFileReadOnceAtOpen(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	for _, r := range keysSettledReaders {
		for _, tc := range []struct {
			name      string
			text      string
			age       time.Duration // of the file's times, by the played clock
			wantReads int
			wantErr   string
		}{
			{"left alone", keysFileText(k2, k1), time.Hour, 1, ""},
			{"just written", keysFileText(k2, k1), 0, 2, ""},
			{"left alone, does not parse", "not a key\n", time.Hour, 2, "keys line 1"},
		} {
			t.Run(r.name+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "keys")
				writeFile0600(t, path, tc.text)
				fi, err := os.Stat(path)
				must(t, err)
				p := &keysPlay{t: t, path: path, now: fi.ModTime().Add(tc.age)}
				_, ids, err := r.read(t, path, p.hooks())
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatalf("%s: %v", r.name, err)
				case tc.wantErr == "" && !slices.Equal(ids, []uint32{1, 2}):
					t.Fatalf("%s took key IDs %v, want [1 2]", r.name, ids)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Fatalf("%s: %v; want an error saying %q", r.name, err, tc.wantErr)
				}
				if p.reads != tc.wantReads {
					t.Errorf("%s read the keys file %d times, want %d", r.name, p.reads, tc.wantReads)
				}
			})
		}
	}
}

// TestKeysFileSettleEndsWithOpenContext: OpenContext's context cuts the
// wait for a keys file being written.
func TestKeysFileSettleEndsWithOpenContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	writeFile0600(t, path, keysFileText(mustKey(t, 1)))
	ctx, cancel := context.WithCancel(context.Background())
	p := &keysPlay{t: t, path: path, now: keysPlayEpoch, never: true}
	h := p.hooks()
	read := h.Read
	h.Read = func() { read(); cancel() }
	s, err := fsstore.OpenContext(ctx, t.TempDir(), fsstore.WithKeysFile(path), fsstore.WithKeysReadForTest(h))
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("OpenContext ended while waiting for the keys file to settle: %v; want context.Canceled", err)
	}
}
