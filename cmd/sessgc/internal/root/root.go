// Package root assembles the sessgc command tree and maps its errors to
// exit codes.
package root

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/sessgc/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/installcron"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/keygen"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/rekey"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/run"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/stats"
)

// NewCmdRoot returns the sessgc command with its subcommands.
func NewCmdRoot(io *cmdutil.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sessgc",
		Short: "Garbage-collect a sessfs session store",
		Long: `sessgc removes expired sessions, abandoned temp files and stale lease files
from a sessfs store shared by many hosts over NFS or EFS. Run it from cron or a
systemd timer on every host: a fleet-wide lock lets one host sweep at a time.

Without a command, sessgc runs "sessgc run". "sessgc rekey" rewrites the
records under the newest encryption key after a key rotation; "sessgc keygen"
makes a key.

Every flag can also be set with an environment variable SESSGC_<FLAG>, dashes
as underscores: SESSGC_DIR, SESSGC_RATE, SESSGC_MAX_DURATION,
SESSGC_NO_FLEET_LOCK=true. Flags win over the environment. Encryption keys
are never given as a flag: --keys-file (SESSGC_KEYS_FILE) names a file, or
SESSGC_KEYS holds the keys.

Exit codes:
  0  done, or nothing to do (another host holds the fleet lock, or
     --max-duration stopped the sweep early: see stopped_early)
  1  partial failure: some files could not be examined or removed, or the
     sweep was interrupted by a signal, or --textfile could not be written
  2  usage error: bad flags, arguments or SESSGC_* values; no keys, or a
     key file that is unreadable, readable by others or malformed
  3  store unusable: missing, not a store, unreadable or read-only, or
     a key that does not match the store ("wrong key"); nothing was
     deleted or rewritten`,
		Example: `  sessgc --dir /srv/sessions                  # one sweep (same as: sessgc run --dir ...)
  sessgc run --dir /srv/sessions --dry-run -v  # list what would go
  sessgc stats --dir /srv/sessions --json
  sessgc install-cron --dir /srv/sessions --write /etc/cron.d
  sessgc rekey --dir /srv/sessions --keys-file /etc/sessfs/keys
  source <(sessgc completion bash)`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return cmdutil.UsageErrorf("%w", err)
	})
	cmd.AddCommand(
		run.NewCmdRun(io, nil),
		stats.NewCmdStats(io, nil),
		installcron.NewCmdInstallCron(io, nil),
		rekey.NewCmdRekey(io, nil),
		keygen.NewCmdKeygen(io, nil),
	)
	return cmd
}

// Main runs sessgc with the process's arguments and streams and returns the
// exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Execute(ctx, cmdutil.System(), os.Args[1:])
}

// Execute runs sessgc with args and returns the exit code. Errors are
// printed here, once.
func Execute(ctx context.Context, io *cmdutil.IOStreams, args []string) int {
	cmd := NewCmdRoot(io)
	cmd.InitDefaultHelpCmd()
	cmd.InitDefaultCompletionCmd()
	// "run" is the default command: "sessgc --dir X" and a bare "sessgc"
	// (with SESSGC_DIR set) sweep. Only a leading flag selects it: cobra
	// cannot tell which flags of run take a value before it knows the
	// command, so a leading word is always a command name.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		args = append([]string{"run"}, args...)
	}
	cmd.SetArgs(args)
	c, err := cmd.ExecuteContextC(ctx)
	code := cmdutil.ExitCode(err)
	if err != nil {
		fmt.Fprintf(io.ErrOut, "sessgc: %v\n", err)
		if code == cmdutil.ExitUsage {
			fmt.Fprintf(io.ErrOut, "Run '%s --help' for usage.\n", c.CommandPath())
		}
	}
	return code
}
