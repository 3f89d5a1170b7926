//go:build linux || darwin || freebsd

package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestForEachNameMatchesReadDir: the sweep's listing (on Linux getdents64
// into a buffer of its own, elsewhere forEachEntry) gives every entry's
// name and type as os.File.ReadDir does, across many refills of a small
// buffer and with the default one, and nothing for a directory that is
// not there.
func TestForEachNameMatchesReadDir(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%032x", rand.Uint64()+uint64(i))), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{".tmp-x", strings.Repeat("n", 255), "é"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ents {
		want = append(want, e.Name()+" "+e.Type().String())
	}
	slices.Sort(want)

	r, err := openRoot(top)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	list := func(dir string, buf []byte) ([]string, error) {
		var got []string
		err := r.forEachName(context.Background(), dir, buf, func(name []byte, typ fs.FileMode) {
			got = append(got, string(name)+" "+typ.String())
		})
		slices.Sort(got)
		return got, err
	}
	for _, size := range []int{300, direntBufSize} {
		got, err := list(dir, make([]byte, size))
		if err != nil {
			t.Fatalf("buffer of %d bytes: %v", size, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("buffer of %d bytes: %d entries, want ReadDir's %d; first differing: %q",
				size, len(got), len(want), firstDiff(got, want))
		}
	}
	// The portable path, forEachEntry, as the sweep used it before.
	var portable []string
	if err := r.forEachEntry(context.Background(), dir, func(e fs.DirEntry) {
		portable = append(portable, e.Name()+" "+e.Type().String())
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(portable)
	if !slices.Equal(portable, want) {
		t.Errorf("forEachEntry: %q differs from ReadDir", firstDiff(portable, want))
	}
	if got, err := list(filepath.Join(top, "missing"), make([]byte, direntBufSize)); err != nil || len(got) != 0 {
		t.Errorf("missing directory: %q, %v; want nothing, nil", got, err)
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + " / " + b[i]
		}
	}
	return "(one is a prefix of the other)"
}

// TestIsRecordNameWords: the word-at-a-time check answers as a check of
// each character does, for every byte value at every position of a record
// name, as a string and as bytes.
func TestIsRecordNameWords(t *testing.T) {
	simple := func(name string) bool {
		if len(name) != 32 {
			return false
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	base := []byte("0123456789abcdef0123456789abcdef")
	for pos := range base {
		for c := range 256 {
			b := slices.Clone(base)
			b[pos] = byte(c)
			want := simple(string(b))
			if got := isRecordName(string(b)); got != want {
				t.Fatalf("isRecordName(%q) = %v, want %v", b, got, want)
			}
			if got := isRecordNameBytes(b); got != want {
				t.Fatalf("isRecordNameBytes(%q) = %v, want %v", b, got, want)
			}
		}
	}
	for _, name := range []string{"", "0", string(base[:31]), string(base) + "0", strings.ToUpper(string(base))} {
		if isRecordName(name) != simple(name) || isRecordNameBytes([]byte(name)) != simple(name) {
			t.Errorf("isRecordName(%q) disagrees with the character check", name)
		}
	}
}

// TestAgeOf: the judge's age of a record is time.Time.Sub's, for mtimes a
// stat gives (no monotonic reading), near and far, before and after now,
// up to the extremes where Sub saturates.
func TestAgeOf(t *testing.T) {
	nows := []time.Time{time.Unix(1_765_000_000, 123_456_789), time.Now(), time.Now().Round(0), time.Unix(0, 0), time.Unix(-62_135_596_800, 0)}
	offsets := []time.Duration{0, 1, -1, time.Second - 1, 48 * time.Hour, -48 * time.Hour, 100 * 365 * 24 * time.Hour, -100 * 365 * 24 * time.Hour, math.MaxInt64, math.MinInt64}
	mtimes := []time.Time{time.Unix(0, 0), time.Unix(1<<40, 999_999_999), time.Unix(-1<<40, 0), time.Unix(math.MaxInt64/2, 0), time.Unix(math.MinInt64/2, 0), {}}
	for _, now := range nows {
		for _, off := range offsets {
			mtimes = append(mtimes, time.Unix(0, now.Add(-off).UnixNano()), now.Round(0).Add(-off))
		}
		for _, m := range mtimes {
			if got, want := ageOf(now, m), now.Sub(m); got != want {
				t.Errorf("ageOf(%v, %v) = %v, want Sub's %v", now, m, got, want)
			}
		}
	}
}

// TestForEachNameDirectoryChangedDuringListing: names removed and created
// while the sweep lists a shard in several buffer fills (its own removals
// and put-backs, other hosts' saves) neither fail the listing nor make it
// skip or repeat a name that stayed, as POSIX promises of readdir.
func TestForEachNameDirectoryChangedDuringListing(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		for _, f := range []string{"keep-%04d", "churn-%04d"} {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf(f, i)), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	r, err := openRoot(top)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	seen := map[string]int{}
	calls := 0
	err = r.forEachName(context.Background(), dir, make([]byte, 1024), func(name []byte, typ fs.FileMode) {
		seen[string(name)]++
		if calls++; calls%50 != 0 {
			return
		}
		// Between fills of the small buffer: remove churn files not yet
		// listed and create new names.
		for i := calls; i < calls+20 && i < n; i++ {
			if err := os.Remove(filepath.Join(dir, fmt.Sprintf("churn-%04d", i))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Error(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("new-%06d", calls*100+i)), nil, 0o600); err != nil {
				t.Error(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if k := fmt.Sprintf("keep-%04d", i); seen[k] != 1 {
			t.Errorf("%s listed %d times, want once", k, seen[k])
		}
	}
	for name, c := range seen {
		if c != 1 {
			t.Errorf("%s listed %d times", name, c)
		}
	}
}
