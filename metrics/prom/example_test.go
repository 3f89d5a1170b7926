// The example serves a store's metrics, and Windows has no store: not
// built there.

//go:build !windows

package prom_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/metrics/prom"
)

// One Observer per process, registered once and given to every store the
// process opens, with the empty namespace that the shipped alerting rules
// and dashboard expect (sessfs_*). /metrics is served on a listener of its
// own (here a test server), not on the port the load balancer forwards.
// With the default registry, prometheus.MustRegister(obs) and
// promhttp.Handler() do the same.
func Example() {
	obs := prom.New("")
	reg := prometheus.NewRegistry()
	reg.MustRegister(obs)
	metrics := http.NewServeMux()
	metrics.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(metrics)
	defer srv.Close()

	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := fsstore.Open(dir, fsstore.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	id, err := fsstore.NewID()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Save(ctx, &fsstore.Session{ID: id, Data: []byte(`{"user":"ada"}`)}); err != nil {
		log.Fatal(err)
	}
	unknown, err := fsstore.NewID()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.Load(ctx, unknown); !errors.Is(err, fsstore.ErrNotFound) {
		log.Fatalf("load of a session never saved: %v", err)
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, `sessfs_operations_total{op="save",outcome="ok"}`) ||
			strings.HasPrefix(l, `sessfs_operations_total{op="load",outcome="not_found"}`) {
			fmt.Println(l)
		}
	}
	// Output:
	// sessfs_operations_total{op="load",outcome="not_found"} 1
	// sessfs_operations_total{op="save",outcome="ok"} 1
}
