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

// Two stores in one process, told apart: each has an Observer of its own,
// registered through a registerer that adds a store label to its series.
// The same Observer goes to its store every time it is opened, after a
// Close too: a second one under the same label has the first one's series,
// and its registration fails with prometheus.AlreadyRegisteredError, as
// does a second Observer registered without a label. One without a label
// beside labelled ones is refused too (other label names). The shipped
// rules and dashboard sum over the label.
func Example_twoStores() {
	reg := prometheus.NewRegistry()
	observers := map[string]*prom.Observer{}
	for _, name := range []string{"carts", "users"} {
		obs := prom.New("")
		prometheus.WrapRegistererWith(prometheus.Labels{"store": name}, reg).MustRegister(obs)
		observers[name] = obs
	}
	carts := prometheus.WrapRegistererWith(prometheus.Labels{"store": "carts"}, reg)
	if err := carts.Register(prom.New("")); errors.As(err, &prometheus.AlreadyRegisteredError{}) {
		fmt.Println("a second Observer for carts: already registered")
	}
	if err := reg.Register(prom.New("")); err != nil {
		fmt.Println("an Observer without a store label beside them: refused")
	}

	ctx := context.Background()
	for _, name := range []string{"carts", "users"} {
		dir, err := os.MkdirTemp("", name+"-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		st, err := fsstore.Open(dir, fsstore.WithObserver(observers[name]))
		if err != nil {
			log.Fatal(err)
		}
		defer st.Close()
		id, err := fsstore.NewID()
		if err != nil {
			log.Fatal(err)
		}
		if name == "carts" {
			err = st.Save(ctx, &fsstore.Session{ID: id, Data: []byte(`{"items":3}`)})
		} else {
			_, err = st.Load(ctx, id)
		}
		if err != nil && !errors.Is(err, fsstore.ErrNotFound) {
			log.Fatal(err)
		}
	}

	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "sessfs_operations_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetCounter().GetValue() == 0 {
				continue
			}
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			fmt.Printf("%s{%s} %v\n", f.GetName(), strings.Join(labels, ","), m.GetCounter().GetValue())
		}
	}
	// Output:
	// a second Observer for carts: already registered
	// an Observer without a store label beside them: refused
	// sessfs_operations_total{op="load",outcome="not_found",store="users"} 1
	// sessfs_operations_total{op="save",outcome="ok",store="carts"} 1
}
