package prom_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/storetest"
	"github.com/sessfs/sessfs/metrics/prom"
)

// TestPayloadBytesOfEveryWrite: sessfs_payload_bytes_total counts the
// payload of every operation that reads or writes one, by its op, as its
// help and the operator guide say ("session payload bytes read and
// written"): a compare_and_swap's too, httpsession's Optimistic commits,
// which went uncounted, so that a store written in that mode showed
// nothing saved and its sessions' growth could not be watched.
func TestPayloadBytesOfEveryWrite(t *testing.T) {
	storetest.Skip(t)
	obs := prom.New("")
	st, id := observedStore(t, obs) // a save of 3 bytes
	ctx := context.Background()
	sess, err := st.Load(ctx, id) // 3 bytes loaded
	if err != nil {
		t.Fatal(err)
	}
	sess.Data = []byte("abcde")
	if err := st.CompareAndSwap(ctx, sess); err != nil { // 5 bytes written
		t.Fatal(err)
	}
	l, err := st.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	sess.Data = []byte("abcdefg")
	err = l.Save(ctx, sess) // 7 bytes written under the lock
	l.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	wantPayloadBytes(t, obs, 5, 3, 10)
}

// TestPayloadBytesOfLateWrites: a write given up on in an outage and
// applied later (late_writes_total's applied) wrote its payload: its bytes
// count then, once, under its op, as the store reports them only there
// (fsstore.Event.Bytes); its caller's unavailable report, and a late end
// that did not apply it, have none.
func TestPayloadBytesOfLateWrites(t *testing.T) {
	obs := prom.New("")
	for _, e := range []fsstore.Event{
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeUnavailable},
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeLate, Late: true, Bytes: 7},
		{Op: fsstore.OpCompareAndSwap, Outcome: fsstore.OutcomeUnavailable},
		{Op: fsstore.OpCompareAndSwap, Outcome: fsstore.OutcomeLate, Late: true, Bytes: 5},
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeUnavailable},
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeLockLost, Late: true},
	} {
		obs.Observe(e)
	}
	wantPayloadBytes(t, obs, 5, 0, 7)
}

// TestPayloadBytesOfWritesInDoubt: a save that published its record and
// then failed, in time (the fsync of its directory, a lock found lost
// right after the rename: ErrInDoubt), wrote its payload, which its event
// carries (fsstore.Event.Bytes): it counts, as it does when the same save
// ends late. Only OK events counted, so a save in doubt counted its
// payload when it ended late and none when it ended in time.
func TestPayloadBytesOfWritesInDoubt(t *testing.T) {
	obs := prom.New("")
	for _, e := range []fsstore.Event{
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeError, Bytes: 7},
		{Op: fsstore.OpCompareAndSwap, Outcome: fsstore.OutcomeLockLost, Bytes: 5},
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeLockLost, Late: true, Bytes: 11},
		{Op: fsstore.OpSave, Outcome: fsstore.OutcomeNoSpace},
	} {
		obs.Observe(e)
	}
	wantPayloadBytes(t, obs, 5, 0, 18)
}

// wantPayloadBytes fails t unless obs's sessfs_payload_bytes_total holds
// these counts, and no other op's series.
func wantPayloadBytes(t *testing.T, obs *prom.Observer, cas, load, save int) {
	t.Helper()
	want := fmt.Sprintf(`
# HELP sessfs_payload_bytes_total Session payload bytes loaded and saved.
# TYPE sessfs_payload_bytes_total counter
sessfs_payload_bytes_total{op="compare_and_swap"} %d
sessfs_payload_bytes_total{op="load"} %d
sessfs_payload_bytes_total{op="save"} %d
`, cas, load, save)
	if err := testutil.CollectAndCompare(obs, strings.NewReader(want), "sessfs_payload_bytes_total"); err != nil {
		t.Fatal(err)
	}
}
