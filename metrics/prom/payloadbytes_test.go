package prom_test

import (
	"context"
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
	want := `
# HELP sessfs_payload_bytes_total Session payload bytes loaded and saved.
# TYPE sessfs_payload_bytes_total counter
sessfs_payload_bytes_total{op="compare_and_swap"} 5
sessfs_payload_bytes_total{op="load"} 3
sessfs_payload_bytes_total{op="save"} 10
`
	if err := testutil.CollectAndCompare(obs, strings.NewReader(want), "sessfs_payload_bytes_total"); err != nil {
		t.Fatal(err)
	}
}
