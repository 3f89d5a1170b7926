// Package root assembles the sessgc command tree and maps its errors to
// exit codes.
package root

import (
	"context"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/installcron"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/keygen"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
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
SESSGC_NO_FLEET_LOCK=true. A flag on the command line wins over its
variable, and over the variable of a flag it excludes: with SESSGC_QUIET=true
set, "sessgc run --dry-run" lists what it would remove. Two flags that
exclude each other, both flags or both variables, are a usage error, and so
is SESSGC_DRY_RUN=true with --quiet (dropping it would remove files). A
usage error about a setting that a variable made names the variable too.
Encryption keys are never given as a flag: --keys-file (SESSGC_KEYS_FILE)
names a file, or SESSGC_KEYS holds the keys. A SESSGC_* variable that sets
nothing (a misspelt name) is ignored with a warning on stderr.

The store's own log records of level warn and above (a file server that
stopped answering, a store directory that is not setgid, ...) go to stderr
as text lines; --log-level (SESSGC_LOG_LEVEL) of run, stats and rekey sets
the level.

Exit codes:
  0    done, or nothing to do (another sessgc, on this host or
       another, holds the fleet lock, --max-duration stopped the
       sweep early: see stopped_early, or run --missing-ok found no
       store yet)
  1    partial failure: some files could not be examined or removed, the
       fleet lock was lost mid-pass (stop_reason fleet-lock-lost), or
       --textfile or standard output could not be written (output
       redirected to a full disk: what sessgc printed is lost)
  2    usage error: bad flags, arguments or SESSGC_* values (--quiet with
       -v, --dry-run or --json; a --textfile that is a directory or that
       this user could not replace, or whose directory is missing or not
       writable; an install-cron --write that is not a directory this
       user can create files in); no keys, or a key file that is
       unreadable, readable by others or malformed
  3    store unusable: missing (unless run --missing-ok, and even then
       below a mount point /etc/fstab lists that is not mounted), not a
       store, unreadable, or for run and rekey read-only or owned by another
       user while sessgc runs as root (stats counts such a store
       read-only, exit 0), a key that does not match the store ("wrong
       key"), or for rekey a store not encrypted yet or on a full file
       system (run sweeps a full one: that frees space); nothing was
       deleted or rewritten. Also a pass stopped by a file system that
       turned read-only (stop_reason read-only: at the first refused
       removal or rewrite), by a run of I/O errors (io-errors), or by
       the store removed or unmounted (store-gone); what it did before
       stays done
  4    the store's file server did not answer within --max-duration plus
       a tenth of it (at least 1 s, at most 30 s), or the store gave up
       on a call to it first: a hung or unreachable NFS/EFS server. The
       pass was abandoned in a call to it and the process exited then,
       or with --textfile up to 5 s later (its write waits that long
       for a textfile on the hung mount); every removal or rewrite is
       atomic, so nothing is half-done, and the fleet lock goes with
       the process (see docs/operations.md). Without --max-duration,
       sessgc waits for the server as long as the mount does
  5    sessgc crashed (a bug): its worker process died of a panic or
       a Go runtime fatal error without reporting how the run went;
       stderr ends with "sessgc: the worker process crashed". No
       textfile or summary; every removal is atomic
  130  interrupted by Ctrl-C (SIGINT); 143 for SIGTERM, 129 for SIGHUP
       (a closed terminal or ssh session), 141 for SIGPIPE (a closed
       standard output, as in sessgc run -v | head): the pass stopped
       cleanly and printed its summary (stopped_early); the error
       names the signal ("interrupted by SIGTERM after 2m3s"). 141
       also when the reader went away after the work was done
       (sessgc stats | head -1). After a second Ctrl-C or SIGTERM
       (a repeated SIGHUP or SIGPIPE is ignored), or when the worker
       process alone was killed (137: SIGKILL, as from the
       out-of-memory killer), 128 plus the signal's number with no
       summary or textfile, and a line on stderr saying so

sessgc runs on Linux, macOS and FreeBSD. On Windows it builds, but the
store does not run there: commands that open a store exit 3; keygen works.
install-cron writes cron and systemd files for Unix hosts.`,
		Example: `  sessgc --dir /mnt/efs/sessions                  # one sweep (same as: sessgc run --dir ...)
  sessgc run --dir /mnt/efs/sessions --dry-run -v  # list what would go
  sessgc stats --dir /mnt/efs/sessions --json
  sessgc install-cron --dir /mnt/efs/sessions --user app --write /etc/cron.d
  sessgc rekey --dir /mnt/efs/sessions --keys-file /etc/sessfs/keys
  source <(sessgc completion bash)`,
	}
	cmd.AddCommand(
		run.NewCmdRun(io, nil),
		stats.NewCmdStats(io, nil),
		installcron.NewCmdInstallCron(io, nil),
		rekey.NewCmdRekey(io, nil),
		keygen.NewCmdKeygen(io, nil),
	)
	// Every command so far reads the SESSGC_* variables (pass.RunE); help
	// and completion, added later, read none.
	for _, c := range cmd.Commands() {
		pass.WarnUnknownEnvOnUsageError(io, c)
	}
	// Help topics ("sessgc help run-passes"), after the loop: they run nothing.
	cmd.AddCommand(run.PassesTopic(), rekey.KeysTopic())
	return cmd
}

// Main runs sessgc with the process's arguments and streams and returns the
// exit code.
func Main() int {
	if os.Getenv(envWorker) == "" {
		if code, ok := supervise(); ok {
			return code
		}
	}
	fd := worker()
	ctx, stop := cmdutil.InterruptContext(context.Background(), syscall.SIGPIPE) // see signals
	code := Execute(ctx, cmdutil.System(), os.Args[1:])
	stop()
	report(fd, code)
	return code
}

// Execute runs sessgc with args and returns the exit code.
func Execute(ctx context.Context, io *cmdutil.IOStreams, args []string) int {
	cmd := NewCmdRoot(io)
	// Before the completion command is made: it keeps the writer it finds
	// then, and would otherwise write its script to the process's stdout.
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	cmd.InitDefaultHelpCmd()
	cmd.InitDefaultCompletionCmd()
	// "run" is the default command: "sessgc --dir X" and a bare "sessgc"
	// (with SESSGC_DIR set) sweep. Only a leading flag selects it: cobra
	// cannot tell which flags of run take a value before it knows the
	// command, so a leading word is always a command name.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !slices.Contains([]string{"-h", "--help", "--version"}, args[0]) {
		args = append([]string{"run"}, args...)
	}
	return cmdutil.Execute(ctx, io, cmd, args)
}
