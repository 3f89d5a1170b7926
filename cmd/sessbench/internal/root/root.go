// Package root assembles the sessbench command tree.
package root

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/httppeers"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/run"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/redistarget"
)

// NewCmdRoot returns the sessbench command.
func NewCmdRoot(io *cmdutil.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sessbench <command> [flags]",
		Short: "Measure what a shared session directory costs per request",
		Long: `sessbench measures how much latency a session store on a shared NFS or
AWS EFS mount adds to each request, compared with local disk and Redis.

It runs on Linux, macOS and FreeBSD; NFS round trips per operation are
counted on Linux only (from /proc/self/mountstats). On Windows it builds
and measures --redis only: the store does not run there, so a --dir
target fails to open.

Exit codes:
  0    done
  1    the benchmark failed: a target could not be opened or has no
       room for the run's sessions, every operation of a measurement
       of a target failed, a Redis server stopped answering, a peer of
       sessbench http failed (the other targets' or peers' results are
       printed), the report or
       --plot file could not be written, or what the run created could
       not all be removed (after the report; the error names what is
       left) (a run in which only some operations failed exits 0 and
       reports them)
  2    usage error: bad flags or arguments
  130  interrupted (Ctrl-C; 143 for SIGTERM, 129 for SIGHUP, as when the
       terminal or SSH session it runs in closes, unless started under
       nohup): the run stopped and removed what it created; the error
       names the signal ("interrupted by SIGTERM")`,
		Example: `  sessbench run
  sessbench run --dir /mnt/efs/bench --dir /var/tmp/bench --redis 127.0.0.1:6379
  sessbench http --dir /var/tmp/bench --redis 127.0.0.1:6379`,
	}
	cmd.AddCommand(run.NewCmdRun(io, nil), httppeers.NewCmdHTTP(io), run.TargetsTopic(), run.ReportTopic())
	return cmd
}

// Main runs sessbench with the process's arguments and returns its exit
// code. SIGHUP stops a run as Ctrl-C does (cmdutil.InterruptSignals): an
// operator's SSH connection that drops during an hour's run on the mount
// would otherwise kill it there and then, with its sessions left in the
// directory and in Redis; under nohup it is left ignored.
func Main() int {
	redistarget.SilenceLibraryLog()
	return cmdutil.Main(NewCmdRoot, os.Args[1:])
}
