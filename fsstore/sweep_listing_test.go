//go:build unix

package fsstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// TestSweepShardLargerThanListingBuffer: the sweep lists a shard into a
// buffer it refills and reuses (on Linux getdents64's, 32 KiB, about 580
// record names), and judges each name as bytes of that buffer. Here one
// shard holds several fills of records whose names differ only in their
// last eight characters, live and expired interleaved, with more expired
// ones than a removal batch holds: a name kept from the buffer instead of
// copied (a candidate waiting for its batch, a removal's path) would, once
// the buffer is refilled, read as another record's name. Exactly the
// expired records go, each reported once under its own path, and every
// live one stays.
func TestSweepShardLargerThanListingBuffer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithIdleTimeout(testIdle))
	seed := newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: seed, Data: []byte("seed")}); err != nil {
		t.Fatal(err)
	}
	seedPath := s.RecordPathForTest(seed)
	shard, base := filepath.Dir(seedPath), filepath.Base(seedPath)
	const n = 3000 // about five fills of a 32 KiB buffer
	var expired, live []string
	for i := range n {
		p := filepath.Join(shard, fmt.Sprintf("%s%08x", base[:24], i))
		// Empty: what a power loss leaves of a record, which the sweep
		// removes once expired like any other.
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			live = append(live, p)
			continue
		}
		age(t, p)
		expired = append(expired, p)
	}
	live = append(live, seedPath)

	var mu sync.Mutex
	var removed []string
	opts := sweepOpts
	opts.OnRemove = func(r fsstore.Removal) {
		mu.Lock()
		defer mu.Unlock()
		removed = append(removed, r.Path)
	}
	st, err := s.Sweep(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sessions != int64(len(expired)) || st.Live != int64(len(live)) || st.Errors != 0 || st.SkippedRenewed != 0 {
		t.Errorf("sweep stats %+v: want Sessions %d, Live %d, no errors, none put back", st, len(expired), len(live))
	}
	slices.Sort(removed)
	slices.Sort(expired)
	if !slices.Equal(removed, expired) {
		t.Errorf("OnRemove reported %d paths, want the %d expired records'; first differing: %s",
			len(removed), len(expired), firstDiffPath(removed, expired))
	}
	for _, p := range expired {
		if exists(t, p) {
			t.Errorf("expired record %s not removed", filepath.Base(p))
		}
	}
	for _, p := range live {
		if !exists(t, p) {
			t.Errorf("live record %s removed", filepath.Base(p))
		}
	}
	ents, err := os.ReadDir(shard)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(live) {
		t.Errorf("shard holds %d entries after the sweep, want the %d live records (a name aside left over?)", len(ents), len(live))
	}
	mustLoad(t, s, seed, "seed")
	// Within the live set's deadline: nothing to do the second time.
	if st, err = s.Sweep(ctx, opts); err != nil || st.Sessions != 0 || st.Live != int64(len(live)) {
		t.Errorf("second sweep: %+v, %v; want nothing removed, %d live", st, err, len(live))
	}
}

func firstDiffPath(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + " / " + b[i]
		}
	}
	return "(one is a prefix of the other)"
}
