// Command app is a minimal sessfs web application for containers and
// Kubernetes: one HTTP server (no supervisor, unlike examples/cluster) on
// the shared session directory, with the readiness and metrics endpoints
// a Deployment points at.
//
//	app -dir /mnt/efs/sessions -addr :8080 -metrics-addr :2112
//
// To try it on a developer's machine, over plain HTTP:
//
//	go run ./examples/app -dir /tmp/sessions -insecure-cookie
//	curl -c jar -b jar -X POST localhost:8080/visit; curl -b jar localhost:8080/
//
// POST /visit adds one to the session's visit counter and GET / shows it;
// GET /healthz is the readiness check (503 while the session store does
// not answer, see httpsession.HealthHandler). GET /metrics serves the
// store's Prometheus metrics on a listener of its own, -metrics-addr, so
// that the operation counts and latencies are not published to the users
// the load balancer lets in on -addr. Every request has a deadline (10 s),
// which ends its session's lock wait and save, and it stops gracefully on
// SIGTERM, as Kubernetes asks: it answers readiness 503 and goes on
// serving for -drain (5 s), while load balancers take it out, then the
// requests in flight finish, within their deadline, before the store
// closes. The session cookie is Secure: serve it behind TLS (an
// ALB or an ingress terminating HTTPS), or pass -insecure-cookie for plain
// HTTP on a developer's machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/metrics/prom"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts the graceful stop (drain, Shutdown); the
	// default action is back for a second one, so a second Ctrl-C ends
	// the process at once, as in any program.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0) // asked for the usage, which the flag package printed
	case errors.Is(err, errUsage):
		os.Exit(2) // the flag package printed the error and the usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

// version describes the build, for -version.
func version() string {
	v := "devel"
	info, ok := debug.ReadBuildInfo()
	if ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	goVersion := "unknown"
	if ok {
		goVersion = info.GoVersion
	}
	return fmt.Sprintf("app %s, %s", v, goVersion)
}

// errUsage marks a command line the flag package refused: exit 2, as
// for any Go command, where a failure to run exits 1.
var errUsage = errors.New("usage error")

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	dir := fs.String("dir", os.Getenv("SESSFS_DIR"), "shared session `directory`, created if missing (default $SESSFS_DIR)")
	addr := fs.String("addr", ":8080", "listen `address`")
	// 2112, as in the Prometheus Go client's guide: clear of Prometheus's
	// own 9090 on a machine that runs both.
	metricsAddr := fs.String("metrics-addr", ":2112", "listen `address` for GET /metrics, apart from the users' traffic; empty: none")
	insecure := fs.Bool("insecure-cookie", false, "send the session cookie over plain HTTP too (development only)")
	drain := fs.Duration("drain", 5*time.Second, "after SIGTERM, go on serving this long with /healthz answering 503, so that load balancers stop sending requests before the listener closes; 0: none. It and the 20 s the requests in flight then have must fit in the supervisor's grace period (Kubernetes: terminationGracePeriodSeconds)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if *showVersion {
		fmt.Fprintln(out, version())
		return nil
	}
	if *dir == "" {
		return errors.New("-dir (or SESSFS_DIR) is required")
	}
	if *drain < 0 {
		return fmt.Errorf("-drain %v: negative", *drain)
	}
	reg := prometheus.NewRegistry()
	obs := prom.New("")
	reg.MustRegister(obs)
	st, err := openStore(ctx, *dir, fsstore.WithObserver(obs), fsstore.WithLogger(slog.Default()))
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var draining atomic.Bool
	srv := &http.Server{
		Handler: routes(st, *insecure, &draining),
		// Bound slow clients; each request's deadline (requestTimeout)
		// bounds its session work.
		ReadHeaderTimeout: 10 * time.Second,
		// Close keep-alive connections left idle, which would otherwise
		// stay open for good; longer than a load balancer's own idle
		// timeout (AWS ALB: 60 s), so that the balancer closes first and
		// never sends a request on a connection the app is closing.
		IdleTimeout: 75 * time.Second,
	}
	fmt.Fprintf(out, "listening on %s\n", ln.Addr())
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-metrics-addr: %w", err)
		}
		msrv := &http.Server{Handler: metricsRoutes(reg), ReadHeaderTimeout: 10 * time.Second}
		fmt.Fprintf(out, "metrics on %s\n", mln.Addr())
		go msrv.Serve(mln)
		// Scraped until the store closes: the last requests' saves are
		// in the last scrape that reaches it.
		defer msrv.Close()
	}
	// Serve returns as soon as Shutdown starts; the requests in flight
	// end within Shutdown, and the store must stay open until they have.
	shut := make(chan error, 1)
	go func() {
		<-ctx.Done()
		// Kubernetes sends SIGTERM as it takes the pod out of the
		// Service's endpoints, and load balancers act on that a moment
		// later: until they do, new requests still come, and a closed
		// listener would refuse them. Fail readiness (for those that probe
		// it) and go on serving meanwhile.
		draining.Store(true)
		// Said, so that the pod's log shows why it stopped answering
		// readiness and when it stopped taking requests.
		fmt.Fprintf(out, "stopping: draining for %v (readiness answers 503), then finishing the requests in flight\n", *drain)
		if *drain > 0 {
			t := time.NewTimer(*drain)
			<-t.C
		}
		// Then finish the requests in flight (and their session saves)
		// within terminationGracePeriodSeconds.
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		shut <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := <-shut; err != nil {
		return err
	}
	fmt.Fprintln(out, "stopped: every request answered")
	return nil
}

// openStore creates the store's directory if missing and opens the store,
// giving up after 30 s: a pod started while the file server does not
// answer would otherwise hang here as long as the mount does, where
// exiting lets Kubernetes restart it (with back-off) and says why.
func openStore(ctx context.Context, dir string, opts ...fsstore.Option) (*fsstore.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// On a fresh volume (a new EFS access point) the directory does not
	// exist yet; every pod may race to create it, which MkdirAll allows.
	// That is for a container, which Kubernetes starts only once its
	// volume is mounted. Do not copy it into an app server that mounts the
	// share itself: there a mount that failed at boot would have MkdirAll
	// make the directory on the local disk below the mount point, and only
	// where /etc/fstab lists the share does fsstore.Open then refuse to
	// make a store there (ErrShareNotMounted) rather than split the
	// fleet's sessions. Create the directory once by hand (install -d) and
	// let fsstore.Open fail while it is missing.
	// MkdirAll has no deadline of its own: it runs aside, and is waited
	// for only as long as the context allows.
	mkdir := make(chan error, 1)
	go func() { mkdir <- os.MkdirAll(dir, 0o700) }()
	select {
	case err := <-mkdir:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("creating %s: the file server did not answer: %w", dir, ctx.Err())
	}
	return fsstore.OpenContext(ctx, dir, opts...)
}

// The bounds a SIGTERM has to fit in. Every request's session work (its
// lock wait, loads and the commit) ends by its deadline, requestTimeout;
// Shutdown waits that long plus a margin for the response; and the
// Deployment's terminationGracePeriodSeconds (30 s in
// deploy/kubernetes/app.yaml) is longer than -drain (5 s) and Shutdown's
// wait together. Without the deadline a lock wait lasts httpsession's
// lock timeout, 30 s: Shutdown gave up on it and the store closed under
// the request. Keep the order if you change them.
const (
	requestTimeout  = 10 * time.Second
	shutdownTimeout = 20 * time.Second
)

// withDeadline gives each request a deadline, as the operator guide asks:
// the session middleware's lock wait and commit end with it, and a request
// whose client stopped waiting does not hold the user's lock longer. It
// covers the handler and the commit after it: give a route that streams or
// long-polls a longer deadline of its own, or its session's save fails.
func withDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// routes returns the app's handler; readiness fails once draining is set.
func routes(st *fsstore.Store, insecure bool, draining *atomic.Bool) http.Handler {
	c := httpsession.DefaultCookie()
	c.Insecure = insecure
	sessions := httpsession.New(st, httpsession.WithCookie(c))
	app := http.NewServeMux()
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "visits: %d\n", httpsession.FromContext(r.Context()).GetInt("visits"))
	})
	app.HandleFunc("POST /visit", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		n := s.GetInt("visits") + 1
		if err := s.Put("visits", n); err != nil {
			http.Error(w, "session unavailable", httpsession.StatusCode(err))
			return
		}
		io.WriteString(w, strconv.Itoa(n)+"\n")
	})
	mux := http.NewServeMux()
	// Probes carry no session: they stay outside the middleware.
	health := httpsession.HealthHandler(st, 0)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		health.ServeHTTP(w, r)
	})
	mux.Handle("/", withDeadline(requestTimeout, sessions.Handler(app)))
	return mux
}

func metricsRoutes(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
