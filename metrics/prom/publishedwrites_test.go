package prom_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/storetest"
	"github.com/sessfs/sessfs/metrics/prom"
)

// TestPublishedWrites: sessfs_published_writes_total counts the writes
// whose payloads payload_bytes_total adds (fsstore.Event.Published), an
// empty payload's included, a write refused or in conflict not, so that
// the dashboard's mean saved record (bytes over writes) is exact: over
// the writes that succeeded it read high while saves in doubt, which
// published their record and add its bytes, lasted. A store's events, then
// the late and in-doubt ones, which only an outage makes.
func TestPublishedWrites(t *testing.T) {
	storetest.Skip(t)
	obs := prom.New("")
	st, id := observedStore(t, obs) // a save of 3 bytes
	ctx := context.Background()
	if err := st.Save(ctx, &fsstore.Session{ID: id}); err != nil { // an empty payload
		t.Fatal(err)
	}
	if err := st.Save(ctx, &fsstore.Session{ID: id, Data: make([]byte, 2<<20)}); !errors.Is(err, fsstore.ErrTooLarge) {
		t.Fatalf("save of 2 MiB: %v, want ErrTooLarge", err)
	}
	sess, err := st.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	stale := *sess
	sess.Data = []byte("abcde")
	if err := st.CompareAndSwap(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := st.CompareAndSwap(ctx, &stale); !errors.Is(err, fsstore.ErrConflict) {
		t.Fatalf("compare-and-swap of a stale version: %v, want ErrConflict", err)
	}
	for _, e := range []fsstore.Event{
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeUnavailable},
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeLate, Late: true, Bytes: 7, Published: true},
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeError, Bytes: 7, Published: true}, // in doubt
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeLockLost, Late: true},
	} {
		obs.Observe(e)
	}
	want := `
# HELP sessfs_published_writes_total Writes (save, compare_and_swap) that published their record, whose payloads payload_bytes_total adds: those that succeeded, in time or late, and those in doubt after it; payload_bytes_total over this is the mean record payload written.
# TYPE sessfs_published_writes_total counter
sessfs_published_writes_total{op="compare_and_swap"} 1
sessfs_published_writes_total{op="save"} 4
`
	if err := testutil.CollectAndCompare(obs, strings.NewReader(want), "sessfs_published_writes_total"); err != nil {
		t.Fatal(err)
	}
}
