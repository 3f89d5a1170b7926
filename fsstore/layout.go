package fsstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Names inside a store directory.
const (
	// MarkerFile identifies a store and records its fixed layout.
	MarkerFile = ".sessfs"
	// DataDir holds the session records, sharded.
	DataDir = "data"
	// LockDir holds the lock files (never removed while the store is used).
	LockDir = "locks"
)

// markerVersion is the layout version this package understands.
const markerVersion = 1

// marker is the content of MarkerFile.
type marker struct {
	shardDepth int
	stripes    int
	maxIdle    time.Duration // the largest idle timeout any process uses
}

func (m marker) encode() []byte {
	return fmt.Appendf(nil, "sessfs-store %d\nshard-depth %d\nlock-stripes %d\nmax-idle-seconds %d\n",
		markerVersion, m.shardDepth, m.stripes, int64(m.maxIdle/time.Second))
}

// parseMarker parses a marker file. It is fuzzed: any input returns a
// marker or an error, never a panic.
func parseMarker(b []byte) (marker, error) {
	var m marker
	if len(b) > 4096 {
		return m, errors.New("marker file too large")
	}
	seen := map[string]bool{}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			return m, fmt.Errorf("marker line %d: malformed", i+1)
		}
		if seen[k] {
			return m, fmt.Errorf("marker line %d: duplicate %q", i+1, k)
		}
		seen[k] = true
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return m, fmt.Errorf("marker line %d: %q is not a number", i+1, v)
		}
		switch {
		case i == 0 && k == "sessfs-store":
			if n != markerVersion {
				return m, fmt.Errorf("store layout version %d, this build understands %d", n, markerVersion)
			}
		case i == 0:
			return m, errors.New("marker does not start with sessfs-store")
		case k == "shard-depth" && n >= 0 && n <= 3:
			m.shardDepth = int(n)
		case k == "lock-stripes" && n >= 1 && n <= 1<<16:
			m.stripes = int(n)
		case k == "max-idle-seconds" && n >= 1 && n <= int64(math.MaxInt64/time.Second):
			m.maxIdle = time.Duration(n) * time.Second
		case k == "shard-depth", k == "lock-stripes", k == "max-idle-seconds":
			return m, fmt.Errorf("marker line %d: %s %d out of range", i+1, k, n)
		default:
			// Unknown keys from a newer minor revision are ignored.
		}
	}
	if !seen["sessfs-store"] || !seen["shard-depth"] || !seen["lock-stripes"] || !seen["max-idle-seconds"] {
		return m, errors.New("marker is missing a field")
	}
	return m, nil
}

func readMarker(dir string) (marker, error) {
	b, err := os.ReadFile(filepath.Join(dir, MarkerFile))
	if err != nil {
		return marker{}, err
	}
	m, err := parseMarker(b)
	if err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrNotStore, filepath.Join(dir, MarkerFile), err)
	}
	return m, nil
}

// ReadLayout reports the layout recorded in an existing store directory:
// shard depth, lock stripes and the largest idle timeout in use. Tools use
// it to walk a store without opening it.
func ReadLayout(dir string) (shardDepth, lockStripes int, maxIdle time.Duration, err error) {
	m, err := readMarker(dir)
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w: %s has no %s", ErrNotStore, dir, MarkerFile)
	}
	return m.shardDepth, m.stripes, m.maxIdle, err
}

// initStore creates the layout of a new store, or returns the marker of one
// that another process created first. The marker is written to a temp file
// and published with link(2), which fails if the name exists: of several
// processes creating the store at once exactly one wins and the others read
// its marker.
func initStore(dir string, c *config) (marker, error) {
	for _, d := range []string{DataDir, LockDir} {
		if err := os.Mkdir(filepath.Join(dir, d), c.dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return marker{}, err
		}
	}
	m := marker{shardDepth: c.shardDepth, stripes: c.lockStripes, maxIdle: c.idle}
	tmp := filepath.Join(dir, tempPrefix+"marker-"+randHex(8))
	if err := os.WriteFile(tmp, m.encode(), c.fileMode|0o044&c.dirMode); err != nil {
		return m, err
	}
	defer os.Remove(tmp)
	err := os.Link(tmp, filepath.Join(dir, MarkerFile))
	if errors.Is(err, fs.ErrExist) {
		return readMarker(dir)
	}
	if err != nil {
		return m, err
	}
	return m, syncDir(dir)
}

// raiseMaxIdle records a larger idle timeout in the marker, so that sweeps
// (which read it) never remove a session this process still considers live.
// Lowering it is never done: other processes may still use the larger one.
func raiseMaxIdle(dir string, m marker, idle time.Duration, perm fs.FileMode) (marker, error) {
	for attempt := 0; attempt < 5; attempt++ {
		if idle <= m.maxIdle {
			return m, nil
		}
		next := m
		next.maxIdle = idle
		if err := writeAtomic(dir, MarkerFile, next.encode(), perm, 0o700, DurabilityFull, false); err != nil {
			return m, err
		}
		// Re-read: a concurrent raise may have replaced ours with a
		// smaller value; loop until the recorded value covers ours.
		cur, err := readMarker(dir)
		if err != nil {
			return m, err
		}
		if bytes.Equal(cur.encode(), next.encode()) || cur.maxIdle >= idle {
			return cur, nil
		}
		m = cur
	}
	return m, fmt.Errorf("fsstore: could not record idle timeout %v in %s", idle, filepath.Join(dir, MarkerFile))
}

// shardPath returns the directory holding the record with the given name:
// one level of two hex digits per depth.
func shardPath(dataDir, name string, depth int) string {
	if depth == 0 {
		return dataDir
	}
	parts := make([]string, 0, depth+1)
	parts = append(parts, dataDir)
	for i := 0; i < depth; i++ {
		parts = append(parts, name[2*i:2*i+2])
	}
	return filepath.Join(parts...)
}

// stripeName names the lock file of a stripe.
func stripeName(stripe uint32, stripes int) string {
	return fmt.Sprintf("%04x", stripe%uint32(stripes))
}
