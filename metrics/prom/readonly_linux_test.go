//go:build linux

package prom_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
	"github.com/sessfs/sessfs/metrics/prom"
)

// TestReadOnlyFSGaugeOnMount: the alert on a read-only mount watched the
// count of refused writes, and resolved five minutes after the readiness
// probe drained the host, though the mount was still read-only. The gauge
// of a store on a mount that turns read-only is 1 from the first refused
// write, stays 1 while only health checks reach the host, and is 0 once a
// health check after the remount passes, or once the store is closed: a
// process that replaced a store closed while read-only (a reload) kept
// the gauge at 1 for good, though its new store, sharing the Observer,
// was writable.
func TestReadOnlyFSGaugeOnMount(t *testing.T) {
	ends := []struct {
		name string
		end  func(t *testing.T, st *fsstore.Store, dir string, opts []fsstore.Option)
	}{
		{"health check after the remount", func(t *testing.T, st *fsstore.Store, dir string, _ []fsstore.Option) {
			ctx := context.Background()
			testenv.RemountTmpfs(t, dir, false)
			for deadline := time.Now().Add(time.Minute); st.Health(ctx) != nil; {
				if time.Now().After(deadline) {
					t.Fatal("Health still failing a minute after the remount read-write")
				}
				time.Sleep(time.Millisecond) // polling for a check to pass, bounded above
			}
		}},
		{"store closed and replaced", func(t *testing.T, st *fsstore.Store, _ string, opts []fsstore.Option) {
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			next, err := fsstore.Open(t.TempDir(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer next.Close()
			id, _ := fsstore.NewID()
			if err := next.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, bounded := range []bool{false, true} {
		for _, e := range ends {
			name := "local/" + e.name
			if bounded {
				name = "bounded/" + e.name
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				dir := testenv.MountTmpfs(t, "1m")
				obs := prom.New("")
				reg := prometheus.NewPedanticRegistry()
				if err := reg.Register(obs); err != nil {
					t.Fatal(err)
				}
				opts := []fsstore.Option{fsstore.WithObserver(obs)}
				if bounded {
					opts = append(opts, fsstore.WithMaxInFlight(4))
				}
				st, err := fsstore.Open(dir, opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				id, _ := fsstore.NewID()
				if err := st.Save(ctx, &fsstore.Session{ID: id, Data: []byte("kept")}); err != nil {
					t.Fatal(err)
				}
				want := func(when string, v float64) {
					t.Helper()
					if got := gauge(t, reg, "sessfs_read_only_fs"); got != v {
						t.Fatalf("%s: sessfs_read_only_fs = %v, want %v", when, got, v)
					}
				}
				want("before the remount", 0)

				testenv.RemountTmpfs(t, dir, true)
				t.Cleanup(func() { testenv.RemountTmpfs(t, dir, false) })
				if err := st.Save(ctx, &fsstore.Session{ID: id, Data: []byte("new"), Version: 1}); !errors.Is(err, syscall.EROFS) {
					t.Fatalf("Save on a read-only mount: %v, want an error matching EROFS", err)
				}
				want("after the refused save", 1)
				for range 3 { // drained: health checks only, no writes
					if err := st.Health(ctx); err == nil {
						t.Fatal("Health passed on a read-only mount")
					}
				}
				want("after health checks with no write", 1)

				e.end(t, st, dir, opts)
				want("after the "+e.name, 0)
			})
		}
	}
}
