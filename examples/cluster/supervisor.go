package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// backend is one app server process.
type backend struct {
	num int
	up  atomic.Bool

	mu  sync.Mutex // guards the fields below and serializes restarts
	url *url.URL
	cmd *exec.Cmd
	in  io.WriteCloser // the child's stdin: closing it stops the child
}

type supervisor struct {
	o        options
	outMu    sync.Mutex // serializes the lines written to out
	out      io.Writer
	self     string
	backends []*backend
	next     atomic.Uint64
}

func supervise(ctx context.Context, o options, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if o.dir == "" {
		tmp, err := os.MkdirTemp("", "sessfs-cluster-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		o.dir = tmp
	}
	s := &supervisor{o: o, out: out, self: self}
	defer s.stopAll()
	for i := 1; i <= o.n; i++ {
		b := &backend{num: i}
		s.backends = append(s.backends, b)
		if err := s.start(ctx, b); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/_restart", s.handleRestart)
	mux.HandleFunc("/_status", s.handleStatus)
	mux.HandleFunc("GET /_targets", s.handleTargets)
	// Proxied, a scrape would reach a different server each time and mix
	// their counters into one series that goes up and down.
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the proxy has no metrics: scrape each app server's /metrics, listed at /_targets", http.StatusNotFound)
	})
	mux.Handle("/", &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			b := s.pick()
			if b == nil {
				return // no backend up: the transport fails, ErrorHandler answers
			}
			b.mu.Lock()
			pr.SetURL(b.url)
			b.mu.Unlock()
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "no app server answered: "+err.Error(), http.StatusBadGateway)
		},
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// SIGHUP is caught before the line that invites it is printed: its
	// default action ends the process, and a script that sent it as soon
	// as it read the line killed the cluster (seen in CI).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	fmt.Fprintf(out, "sessfs cluster: %d app server processes sharing session directory %s\n", o.n, o.dir)
	fmt.Fprintf(out, "proxy: http://%s/\n", ln.Addr())
	fmt.Fprintf(out, "metrics: each server's /metrics, listed for Prometheus at http://%s/_targets (http_sd_configs)\n", ln.Addr())
	fmt.Fprintf(out, "restart one server: GET http://%s/_restart?server=2 (or send SIGHUP to pid %d to restart all in turn)\n", ln.Addr(), os.Getpid())

	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				for _, b := range s.backends {
					old := b.pid()
					if err := s.restart(ctx, b); err != nil {
						fmt.Fprintf(os.Stderr, "cluster: restart server %d: %v\n", b.num, err)
						continue
					}
					s.printf("server %d restarted (SIGHUP): pid %d killed, pid %d started\n", b.num, old, b.pid())
				}
			}
		}
	}()
	// Serve returns as soon as Shutdown starts; the requests in flight
	// end within Shutdown, and the store must stay open until they have.
	shut := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		shut <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-shut
}

// pick returns the next backend that is up, round robin.
func (s *supervisor) pick() *backend {
	n := uint64(len(s.backends))
	start := s.next.Add(1) - 1
	for i := range n {
		if b := s.backends[(start+i)%n]; b.up.Load() {
			return b
		}
	}
	return nil
}

// start launches b's process (b.mu held or b not yet shared) and waits
// for it to listen.
func (s *supervisor) start(ctx context.Context, b *backend) error {
	cmd := exec.Command(s.self, "-serve", strconv.Itoa(b.num), "-dir", s.o.dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server %d: %w", b.num, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				addr <- a
				continue
			}
			s.printf("[server %d] %s\n", b.num, sc.Text())
		}
		close(addr)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case a, ok := <-addr:
		if !ok {
			cmd.Wait()
			return fmt.Errorf("server %d exited before listening", b.num)
		}
		b.url = &url.URL{Scheme: "http", Host: a}
		b.cmd, b.in = cmd, in
		b.up.Store(true)
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	cmd.Process.Kill()
	cmd.Wait()
	return fmt.Errorf("server %d did not start listening", b.num)
}

// restart kills b's process the hard way (SIGKILL, as a crash would) and
// starts a new one. The proxy sends no request to b meanwhile.
func (s *supervisor) restart(ctx context.Context, b *backend) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.up.Store(false)
	if b.cmd != nil {
		b.cmd.Process.Kill()
		b.cmd.Wait()
		b.in.Close()
	}
	return s.start(ctx, b)
}

func (s *supervisor) handleRestart(w http.ResponseWriter, r *http.Request) {
	num, err := strconv.Atoi(r.URL.Query().Get("server"))
	if err != nil || num < 1 || num > len(s.backends) {
		http.Error(w, fmt.Sprintf("want ?server=1..%d", len(s.backends)), http.StatusBadRequest)
		return
	}
	b := s.backends[num-1]
	old := b.pid()
	if err := s.restart(r.Context(), b); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "server %d restarted: pid %d killed, pid %d started\n", num, old, b.pid())
	s.printf("server %d restarted (GET /_restart): pid %d killed, pid %d started\n", num, old, b.pid())
}

// printf writes a line to the supervisor's output, where whoever started
// the cluster watches. The servers' output, restarts by SIGHUP and by
// request come from goroutines of their own, at any time.
func (s *supervisor) printf(format string, args ...any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintf(s.out, format, args...)
}

func (s *supervisor) handleStatus(w http.ResponseWriter, r *http.Request) {
	for _, b := range s.backends {
		b.mu.Lock()
		pid := 0
		if b.cmd != nil {
			pid = b.cmd.Process.Pid
		}
		fmt.Fprintf(w, "server %d pid %d %s up=%v\n", b.num, pid, b.url, b.up.Load())
		b.mu.Unlock()
	}
}

// handleTargets lists every app server's address in Prometheus's HTTP
// service discovery format, so that Prometheus scrapes each server's
// /metrics directly (through the proxy, a scrape would reach a different
// server each time) and follows restarts, which change the ports.
func (s *supervisor) handleTargets(w http.ResponseWriter, r *http.Request) {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	groups := []group{}
	for _, b := range s.backends {
		b.mu.Lock()
		if b.up.Load() && b.url != nil {
			groups = append(groups, group{Targets: []string{b.url.Host}, Labels: map[string]string{"server": strconv.Itoa(b.num)}})
		}
		b.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(groups)
}

func (b *backend) pid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return 0
	}
	return b.cmd.Process.Pid
}

// stopAll closes every server's stdin, which makes it shut down, and waits
// for them, killing one that has not stopped within killTimeout: all
// shut down at once, each finishing its requests in flight.
func (s *supervisor) stopAll() {
	for _, b := range s.backends {
		b.mu.Lock()
		b.up.Store(false)
		if b.cmd != nil {
			b.in.Close()
		}
	}
	kill, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	for _, b := range s.backends {
		if b.cmd != nil {
			done := make(chan struct{})
			go func() { b.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-kill.Done():
				b.cmd.Process.Kill()
				<-done
			}
			b.cmd = nil
		}
		b.mu.Unlock()
	}
}
