// Command cluster shows sessfs doing what it is for: several app servers,
// each a separate process, behind a round-robin reverse proxy with no
// sticky sessions, sharing one session directory. Run
//
//	go run ./examples/cluster -n 3
//
// and open the printed proxy URL, then log in: every reload is answered by
// the next server, and your visit counter stays exact whichever server
// answers. Anonymous visits write nothing to the session directory.
// GET /_restart?server=2 on the proxy (or SIGHUP to this process, which
// restarts every server in turn) kills a server process and starts a new
// one; no session is lost, because no server holds any.
//
// Each app server serves its store's Prometheus metrics at /metrics, and
// GET /_targets on the proxy lists the servers for Prometheus's
// http_sd_configs (deploy/ has alerts and a dashboard for them).
//
// On a real fleet, -dir is the NFS or EFS mount every host shares.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0) // asked for the usage, which the flag package printed
	case errors.Is(err, errUsage):
		os.Exit(2) // the flag package printed the error and the usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	n     int
	dir   string
	addr  string
	serve int // >0: run as app server number serve (internal)
}

// errUsage marks a command line the flag package refused: exit 2, as
// for any Go command, where a failure to run exits 1.
var errUsage = errors.New("usage error")

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 3, "number of app server processes")
	fs.StringVar(&o.dir, "dir", "", "shared session directory (default: a new temporary directory, removed on exit)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address of the round-robin proxy")
	fs.IntVar(&o.serve, "serve", 0, "internal: run as app server `number` (started by the supervisor)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if o.serve > 0 {
		return serveApp(ctx, o, os.Stdin, out)
	}
	if o.n < 1 || o.n > 64 {
		return fmt.Errorf("-n %d outside 1..64", o.n)
	}
	return supervise(ctx, o, out)
}
