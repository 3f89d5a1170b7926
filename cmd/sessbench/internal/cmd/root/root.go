// Package root assembles the sessbench command tree and maps errors to exit
// codes.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/cmd/run"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/redistarget"
)

// ExitCode is the process exit status.
type ExitCode int

// Exit codes. They are decided in one place, Main.
const (
	ExitOK          ExitCode = 0
	ExitError       ExitCode = 1   // the benchmark failed
	ExitUsage       ExitCode = 2   // bad flags or arguments
	ExitInterrupted ExitCode = 130 // stopped by Ctrl-C (128 + SIGINT)
)

// NewCmdRoot returns the sessbench command.
func NewCmdRoot(io *cmdutil.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sessbench <command> [flags]",
		Short: "Measure what a shared session directory costs per request",
		Long: `sessbench measures how much latency a session store on a shared NFS or
AWS EFS mount adds to each request, compared with local disk and Redis.`,
		Example: `  sessbench run
  sessbench run --dir /mnt/efs/bench --dir /var/tmp/bench --redis 127.0.0.1:6379`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &cmdutil.FlagError{Err: err} })
	cmd.AddCommand(run.NewCmdRun(io, nil))
	return cmd
}

// Main runs sessbench with the process's arguments and returns its exit
// code.
func Main() ExitCode {
	io := cmdutil.System()
	redistarget.SilenceLibraryLog()
	ctx, stop := interruptContext()
	defer stop()
	return execute(ctx, io, NewCmdRoot(io), os.Args[1:])
}

// execute runs cmd and maps its error to an exit code.
func execute(ctx context.Context, io *cmdutil.IOStreams, cmd *cobra.Command, args []string) ExitCode {
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	var flagErr *cmdutil.FlagError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, cmdutil.ErrInterrupted):
		fmt.Fprintln(io.ErrOut, "sessbench: interrupted; cleaned up")
		return ExitInterrupted
	case errors.As(err, &flagErr):
		fmt.Fprintf(io.ErrOut, "sessbench: %v\nRun 'sessbench run --help' for usage.\n", err)
		return ExitUsage
	default:
		fmt.Fprintf(io.ErrOut, "sessbench: %v\n", err)
		return ExitError
	}
}

// interruptContext returns a context cancelled with cause ErrInterrupted on
// the first SIGINT or SIGTERM. After the first signal the default handling
// returns, so a second Ctrl-C quits at once if cleanup hangs.
func interruptContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			signal.Stop(sig)
			cancel(cmdutil.ErrInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(sig)
		cancel(nil)
	}
}
