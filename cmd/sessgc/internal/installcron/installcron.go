// Package installcron implements `sessgc install-cron`, which prints (or
// writes) the cron entry or the systemd service and timer that run sessgc
// on every host.
package installcron

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/shellquote"
)

// InstallOptions are the settings of `sessgc install-cron`.
type InstallOptions struct {
	IO *cmdutil.IOStreams

	Dir         string
	Systemd     bool
	Write       string // directory to write the files into; "" prints them
	Binary      string
	User        string
	Group       string // the store's group, that User is in, as the operator vouches; "" for none
	Every       time.Duration
	Jitter      time.Duration
	MaxDuration time.Duration
	Rate        float64
	Textfile    string // --textfile of the generated run; "" for none
	MissingOK   bool   // --missing-ok of the generated run

	// rootFilesAre reports whether the files root creates in a directory
	// are uid's (pass.RootFilesAre: the file server maps root to uid, as
	// an EFS access point does); nil where this process is not root and
	// cannot tell. Tests set it, as no local file system maps root; a
	// pointer, so that options stay comparable.
	//lint:ignore U1000 read by the Unix owner check only: Windows has no uid to compare.
	rootFilesAre *func(dir string, uid uint32) bool
	// sysRoot is the directory systemd's paths are below (checkDropIns):
	// "" for /; tests give one of their own.
	sysRoot string
}

// Defaults of the generated files; scripts/sessgc.{cron,service,timer} are
// exactly what they produce (a test checks it).
const (
	DefaultDir    = "/srv/sessions"
	DefaultBinary = "/usr/local/bin/sessgc"
	DefaultUser   = "www-data"

	DefaultEvery       = 10 * time.Minute
	DefaultJitter      = time.Minute
	DefaultMaxDuration = 8 * time.Minute
	DefaultRate        = 200
)

// NewCmdInstallCron returns the install-cron command.
func NewCmdInstallCron(io *cmdutil.IOStreams, runF func(*InstallOptions) error) *cobra.Command {
	opts := &InstallOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "install-cron [--systemd] [--write DIR]",
		Short: "Print or write the cron entry, or a systemd service and timer, that run sessgc",
		Long: `Print the cron entry (default) or the systemd service and timer that run
sessgc on a schedule, or write them into a directory with --write.

Install the same file on every host: the fleet lock makes exactly one host
sweep each time, and the random start delay spreads the attempts.
--max-duration, plus --jitter, plus the tenth of --max-duration (at most
30 s) that a run on a hung mount may take to give up after it, and with
--textfile the 5 s its write may wait then, must stay below --every, so
that runs never pile up; anything longer is refused. The durations are
written as given (13m59s, 1h30m), as sessgc and systemd both read them.

With --missing-ok, the runs do nothing and exit 0 while --dir is missing
or empty (a fresh volume, the store not yet created by any application;
see "sessgc run --help"): without it, each such run is refused (exit 3).

Where this host has the store at --dir, --user must be its owner (or, in a
group-shared store, a member of its group): sessgc run as root refuses a
store another user owns, and another user cannot sweep it, so every run
would fail; such files are refused, naming the owner. A static sessgc (the
release builds) reads users and groups from /etc/passwd and /etc/group only:
where they do not list --user in the store's group, install-cron asks
"id -G USER", which sees LDAP and sssd groups through the C library (for
at most 10 s; Ctrl-C stops it, and install-cron, at once). Where
neither lists it and the user is in the group all the same, pass --group
with that group (its numeric gid, or a name this host resolves) to vouch
for it; it must be the store's group, and the store shared with it, or
the files are refused still. A --dir, or a --binary kept on a share,
that does not answer within 5 s (a file server that does not respond)
is not checked: the files are written, with a warning.`,
		Example: `  sessgc install-cron --dir /mnt/efs/sessions --user app --write /etc/cron.d
  sessgc install-cron --systemd --dir /mnt/efs/sessions --user app \
    --write /etc/systemd/system &&
    systemctl daemon-reload && systemctl enable --now sessgc.timer`,
		Args: cmdutil.NoArgs("the store is given with --dir"),
		RunE: pass.RunE(io, opts, opts.validate, runF, installRun),
	}
	f := cmd.Flags()
	pass.PathVarP(f, &opts.Dir, "dir", "d", DefaultDir, "store directory")
	f.BoolVar(&opts.Systemd, "systemd", false, "generate a systemd service and timer instead of a cron entry")
	pass.RepeatablePathVar(f, &opts.Write, "write", "", "write the files into this directory (e.g. /etc/cron.d) instead of printing them; refused where a file there of the same name runs sessgc for another --dir, or for a store it cannot tell")
	pass.RepeatablePathVar(f, &opts.Binary, "binary", DefaultBinary, "absolute path of sessgc on the hosts")
	f.StringVar(&opts.User, "user", DefaultUser, "user that owns the store's files")
	f.StringVar(&opts.Group, "group", "", "the group of a group-shared store that --user is in, where this host's group lookup cannot tell (LDAP, sssd): numeric gid or name")
	f.DurationVar(&opts.Every, "every", DefaultEvery, "interval between runs: whole minutes dividing an hour, or whole hours dividing a day")
	f.DurationVar(&opts.Jitter, "jitter", DefaultJitter, "random delay before each run, whole seconds")
	f.DurationVar(&opts.MaxDuration, "max-duration", DefaultMaxDuration, "time budget of each run, whole seconds")
	f.Float64Var(&opts.Rate, "rate", DefaultRate, "removals per second (see docs/operations.md to size it for EFS)")
	pass.PathVarP(f, &opts.Textfile, "textfile", "", "", "have each run write its metrics to this node-exporter textfile (absolute, ending in .prom); the systemd unit may then write its directory")
	f.BoolVar(&opts.MissingOK, "missing-ok", false, "have each run do nothing and exit 0 while --dir is missing or empty, until the applications create the store (see sessgc run --help)")
	cmd.MarkFlagDirname("write")
	return cmd
}

// validate checks the options. --dir, --binary and --textfile name files
// on the Unix hosts the generated files are for, whatever the OS
// install-cron runs on, so they are slash paths, read with package path:
// path/filepath follows this host (on Windows it finds the default
// /usr/local/bin/sessgc not absolute, and its Dir gives backslashes), and
// is only for --write, a directory on this host.
func (o *InstallOptions) validate() error {
	switch {
	case !path.IsAbs(o.Dir) || !path.IsAbs(o.Binary):
		return cmdutil.UsageErrorf("--dir and --binary must be absolute paths")
	case o.User == "":
		return cmdutil.UsageErrorf("--user is empty")
	case o.Group != "" && !shellWord.MatchString(o.Group):
		return cmdutil.UsageErrorf("--group %q: want a numeric gid or a group name, of letters, digits and _ . / : @ + , = -", o.Group)
	case !shellWord.MatchString(o.Dir) || !shellWord.MatchString(o.Binary) || !shellWord.MatchString(o.User):
		// cron hands the line to /bin/sh: only characters that mean
		// nothing to it (no spaces, quotes, '%', '$', ';', '&', '|',
		// '<', '>', '`', '(', ')', globs, '~', backslashes).
		return cmdutil.UsageErrorf("--dir, --binary and --user may only contain letters, digits and _ . / : @ + , = -")
	case o.MaxDuration <= 0:
		return cmdutil.UsageErrorf("--max-duration %v: want a positive time budget for each run", o.MaxDuration)
	case o.Jitter%time.Second != 0 || o.MaxDuration%time.Second != 0:
		// The files give them in whole seconds (systemd's spans, and a
		// cron line both sessgc and systemd read the same way): a
		// fraction rounded up there would make the runs longer than the
		// budget checked against --every below, and their sum could pass
		// it.
		return cmdutil.UsageErrorf("--jitter %s and --max-duration %s must be whole seconds", o.Jitter, o.MaxDuration)
	case o.Textfile != "" && (!path.IsAbs(o.Textfile) || !shellWord.MatchString(o.Textfile) || !strings.HasSuffix(o.Textfile, ".prom")):
		return cmdutil.UsageErrorf("--textfile %s: want an absolute path ending in .prom, of letters, digits and _ . / : @ + , = -", o.Textfile)
	case dotDot(o.Dir) || dotDot(o.Binary) || dotDot(o.Textfile):
		// A ".." after a symbolic link leaves the directory the path
		// reads as being in, and the unit would grant a different one.
		return cmdutil.UsageErrorf("--dir, --binary and --textfile must not contain a .. component: give the path itself")
	case path.Clean(o.Dir) == "/" || o.Textfile != "" && path.Dir(o.Textfile) == "/":
		// The systemd unit may write only --dir and the textfile's
		// directory (ReadWritePaths); "/" would make it all writable.
		return cmdutil.UsageErrorf("--dir and the directory of --textfile must not be /: use the store's own directory and the node exporter's textfile directory (such as /var/lib/node_exporter/textfile)")
	case o.Systemd && privateTmp(o.Textfile):
		// The unit keeps PrivateTmp=yes rather than dropping it for such
		// a path: node-exporter reading /tmp would take metrics from any
		// local user's *.prom there.
		return cmdutil.UsageErrorf("--textfile %s: the systemd unit runs with PrivateTmp=yes, which gives each run a /tmp and /var/tmp of its own, removed when it ends, so node-exporter would never see the file; use node-exporter's textfile directory (its --collector.textfile.directory, such as /var/lib/node_exporter/textfile)", o.Textfile)
	case o.Systemd && (privateTmp(o.Dir) || privateTmp(o.Binary)):
		// Only the flags whose path is there: naming the other too
		// sent the reader to fix a path that was fine.
		var in []string
		for _, f := range []struct{ flag, path string }{{"--dir", o.Dir}, {"--binary", o.Binary}} {
			if privateTmp(f.path) {
				in = append(in, f.flag+" "+f.path)
			}
		}
		return cmdutil.UsageErrorf("%s: the systemd unit runs with PrivateTmp=yes, which gives each run an empty /tmp and /var/tmp of its own, so the run would find nothing there; use a path outside /tmp and /var/tmp", strings.Join(in, ", "))
	}
	// As sessgc run checks them: the files must not hold what every run
	// would refuse, nor a rate (+Inf) no run means.
	if err := pass.CheckRate(o.Rate, o.MaxDuration); err != nil {
		return err
	}
	if math.IsInf(o.Rate, 1) {
		// No cap to sessgc run, but no number to write into the files
		// that sessgc alone reads as one.
		return cmdutil.UsageErrorf("--rate %v: want 0 (no cap) or a positive number per second", o.Rate)
	}
	if err := pass.CheckJitter(o.Jitter); err != nil {
		return err
	}
	// The schedule before the budget is compared with it: a budget that
	// does not fit an interval cron cannot run is beside the point.
	if _, err := cronSchedule(o.Every); err != nil {
		return err
	}
	textfile := o.Textfile != ""
	if !fits(o.Every, o.Jitter, o.MaxDuration, textfile) {
		var writing string
		if textfile {
			writing = fmt.Sprintf(" (with %s to write --textfile)", dur(pass.FSCheckTimeout))
		}
		return cmdutil.UsageErrorf("--max-duration %s, plus the %s sessgc may take to stop after it%s, plus --jitter %s must stay below --every %s, or runs pile up: %s",
			dur(o.MaxDuration), dur(pass.Overrun(o.MaxDuration, textfile)), writing, dur(o.Jitter), dur(o.Every), fitting(o.Every, o.Jitter, textfile))
	}
	return nil
}

// fits reports whether runs of budget maxDuration, started every apart
// with a random delay up to jitter, end before the next one starts, on a
// hung mount too: a pass there is abandoned (exit 4) only StopGrace after
// its budget, and a textfile written after it may wait FSCheckTimeout
// more (pass.Overrun). Compared by subtraction, so that a huge
// --max-duration cannot wrap a sum below every.
func fits(every, jitter, maxDuration time.Duration, textfile bool) bool {
	return maxDuration < every && jitter < every-maxDuration-pass.Overrun(maxDuration, textfile)
}

// fitting says what makes runs fit every with jitter: the longest
// --max-duration that does, in whole minutes from a minute on, or, when
// none does, a shorter --jitter. Said, since "sessgc install-cron
// --every 5m" is refused for the default --max-duration 8m, and the
// refusal left the operator to work out the budget, its grace included.
func fitting(every, jitter time.Duration, textfile bool) string {
	fits := func(m time.Duration) bool { return fits(every, jitter, m, textfile) }
	// m plus its grace grows with m: the first that fits, from the top,
	// is the longest.
	for m := every - time.Second; m >= time.Second; m -= time.Second {
		if !fits(m) {
			continue
		}
		if m >= time.Minute {
			m = m.Truncate(time.Minute)
		}
		return fmt.Sprintf("give --max-duration %s or less", dur(m))
	}
	return fmt.Sprintf("--jitter %s leaves no time for a run; give a shorter --jitter", dur(jitter))
}

// dotDot reports whether the slash path p has a ".." component.
func dotDot(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return true
		}
	}
	return false
}

// privateTmp reports whether the slash path p is in /tmp or /var/tmp,
// which the unit's PrivateTmp=yes replaces with empty directories of its
// own: the run would find neither store nor binary there, and what it
// writes there is gone when it ends.
func privateTmp(p string) bool {
	p = path.Clean(p)
	return strings.HasPrefix(p, "/tmp/") || strings.HasPrefix(p, "/var/tmp/")
}

// shellWord matches a word that /bin/sh and systemd take literally.
var shellWord = regexp.MustCompile(`^[A-Za-z0-9_./:@+,=-]+$`)

// cronSchedule turns an interval into the first five cron fields.
func cronSchedule(d time.Duration) (string, error) {
	switch {
	case d >= time.Minute && d < time.Hour && d%time.Minute == 0 && time.Hour%d == 0:
		return fmt.Sprintf("*/%d * * * *", d/time.Minute), nil
	case d == 24*time.Hour:
		return "0 0 * * *", nil
	case d >= time.Hour && d < 24*time.Hour && d%time.Hour == 0 && (24*time.Hour)%d == 0:
		return fmt.Sprintf("0 */%d * * *", d/time.Hour), nil
	}
	return "", cmdutil.UsageErrorf("--every %s: want whole minutes dividing an hour or whole hours dividing a day", d)
}

// calendar turns an interval into a systemd OnCalendar expression.
func calendar(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("*:0/%d", d/time.Minute)
	case d == 24*time.Hour:
		// systemd refuses "0/24:00" (a repetition must fall within the
		// hours of a day): the timer of --every 24h did not load, and
		// no run came.
		return "0:00"
	}
	return fmt.Sprintf("0/%d:00", d/time.Hour)
}

// dur prints a duration as an operator gives it, in its largest units
// ("13m59s", "1h30m", "10m"), which Go's flags, systemd and Prometheus
// all read; a fraction of a second is rounded up, but validate refuses
// the durations it would round. Where it gave one unit only, a budget of
// 13m59s came back as "839s", and 1h30m as "90m".
func dur(d time.Duration) string {
	d = (d + time.Second - 1).Truncate(time.Second)
	var b strings.Builder
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// The templates are parsed on first use, not as the package initializes:
// every sessgc process initializes it, two per run (the supervising parent
// and its worker, see package root), and in a User-Mode Linux guest the
// three parses took 26 ms of each start (GODEBUG=inittrace=1).
var cronTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("cron").Parse(`# /etc/cron.d/sessgc: sweep the sessfs store {{.Dir}}.
# Install the same file on every host that mounts the store: the fleet lock
# ({{.Dir}}/locks/.sessgc) lets one host sweep per run; the others print
# nothing and exit 0. --quiet keeps cron mail for real problems; exit codes
# (sessgc --help says more): 0 ok (also when --max-duration stopped the sweep
# early), 1 partial failure (some files could not be removed, the fleet lock was
# lost mid-pass, or --textfile could not be written), 2 usage error (flags, keys),
# 3 store unusable, 4 file server unresponsive (the sweep gave up on time),
# 5 sessgc crashed (a bug), 143 stopped by SIGTERM (a shutdown), 130 by SIGINT,
# 129 by SIGHUP, 141 by SIGPIPE.
{{if .MissingOK}}# --missing-ok: until an application creates the store (--dir missing or empty),
# each run does nothing and exits 0.
{{end}}# Generated by: sessgc install-cron{{.Args}}
SHELL=/bin/sh
PATH=/usr/local/bin:/usr/bin:/bin
{{.Schedule}} {{.User}} {{.Binary}} run --dir {{.Dir}}{{if .MissingOK}} --missing-ok{{end}} --quiet --jitter {{.Jitter}} --max-duration {{.MaxDuration}} --rate {{.Rate}}{{if .Textfile}} --textfile {{.Textfile}}{{end}}
`))
})

var serviceTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("service").Parse(`# /etc/systemd/system/sessgc.service: one sweep of the sessfs store {{.Dir}}.
# Started by sessgc.timer. Exit codes (sessgc --help says more): 0 ok (also
# when another host holds the fleet lock or --max-duration stopped the sweep
# early), 1 partial failure (some files could not be removed, the fleet lock was
# lost mid-pass, or --textfile could not be written), 2 usage error (flags, keys),
# 3 store unusable, 4 file server unresponsive (the sweep gave up on time),
# 5 sessgc crashed (a bug), 143 stopped by SIGTERM (systemctl stop, a shutdown,
# TimeoutStartSec below), 130 by SIGINT, 129 by SIGHUP, 141 by SIGPIPE.
{{if .MissingOK}}# --missing-ok: until an application creates the store (--dir missing or empty),
# each run does nothing and exits 0.
{{end}}# Generated by: sessgc install-cron --systemd{{.Args}}
[Unit]
Description=Sweep expired sessions from the sessfs store {{.Dir}}
Documentation=https://github.com/sessfs/sessfs/blob/main/docs/operations.md
RequiresMountsFor={{.Dir}}
After=network-online.target remote-fs.target

[Service]
Type=oneshot
User={{.User}}
ExecStart={{.Binary}} run --dir {{.Dir}}{{if .MissingOK}} --missing-ok{{end}} --max-duration {{.MaxDuration}} --rate {{.Rate}}{{if .Textfile}} --textfile {{.Textfile}}{{end}}
# Backstop: sessgc itself gives up on a hung NFS call shortly after
# --max-duration (exit 4); this catches anything that still hangs.
TimeoutStartSec={{.Timeout}}
Nice=10
IOSchedulingClass=idle
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ReadWritePaths={{.Dir}}{{if .Textfile}} {{.TextfileDir}}{{end}}
`))
})

var timerTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("timer").Parse(`# /etc/systemd/system/sessgc.timer: run sessgc.service every {{.Every}} on every
# host; RandomizedDelaySec spreads the hosts and the fleet lock lets one sweep.
# Generated by: sessgc install-cron --systemd{{.Args}}
[Unit]
Description=Sweep expired sessions from the sessfs store {{.Dir}} every {{.Every}}

[Timer]
OnCalendar={{.Calendar}}
RandomizedDelaySec={{.Jitter}}
AccuracySec=1s
Persistent=false

[Install]
WantedBy=timers.target
`))
})

// File is one generated file.
type File struct {
	Name    string
	Content []byte
}

// Generate returns the files for opts: sessgc (a cron.d entry) or
// sessgc.service and sessgc.timer.
func Generate(opts *InstallOptions) ([]File, error) {
	sched, err := cronSchedule(opts.Every)
	if err != nil {
		return nil, err
	}
	var args strings.Builder
	if opts.Dir != DefaultDir {
		fmt.Fprintf(&args, " --dir %s", opts.Dir)
	}
	if opts.User != DefaultUser {
		fmt.Fprintf(&args, " --user %s", opts.User)
	}
	if opts.Group != "" {
		fmt.Fprintf(&args, " --group %s", opts.Group)
	}
	if opts.Binary != DefaultBinary {
		fmt.Fprintf(&args, " --binary %s", opts.Binary)
	}
	if opts.Every != DefaultEvery {
		fmt.Fprintf(&args, " --every %s", dur(opts.Every))
	}
	if opts.Jitter != DefaultJitter {
		fmt.Fprintf(&args, " --jitter %s", dur(opts.Jitter))
	}
	if opts.MaxDuration != DefaultMaxDuration {
		fmt.Fprintf(&args, " --max-duration %s", dur(opts.MaxDuration))
	}
	if opts.Rate != DefaultRate {
		fmt.Fprintf(&args, " --rate %v", opts.Rate)
	}
	if opts.Textfile != "" {
		fmt.Fprintf(&args, " --textfile %s", opts.Textfile)
	}
	if opts.MissingOK {
		args.WriteString(" --missing-ok")
	}
	data := map[string]any{
		"Dir": opts.Dir, "User": opts.User, "Binary": opts.Binary, "Schedule": sched,
		"Calendar": calendar(opts.Every), "Every": dur(opts.Every), "Jitter": dur(opts.Jitter),
		"MaxDuration": dur(opts.MaxDuration), "Timeout": dur(opts.MaxDuration + time.Minute),
		"Rate": fmt.Sprint(opts.Rate), "Args": args.String(),
		// The unit's file system is read-only but for these (ProtectSystem).
		"Textfile": opts.Textfile, "TextfileDir": path.Dir(opts.Textfile),
		"MissingOK": opts.MissingOK,
	}
	gen := func(name string, t *template.Template) (File, error) {
		var b bytes.Buffer
		err := t.Execute(&b, data)
		return File{Name: name, Content: b.Bytes()}, err
	}
	var files []File
	if opts.Systemd {
		for _, x := range []struct {
			name string
			t    *template.Template
		}{{"sessgc.service", serviceTmpl()}, {"sessgc.timer", timerTmpl()}} {
			f, err := gen(x.name, x.t)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		return files, nil
	}
	f, err := gen("sessgc", cronTmpl())
	return []File{f}, err
}

func installRun(ctx context.Context, opts *InstallOptions) error {
	files, err := Generate(opts)
	if err != nil {
		return cmdutil.UsageErrorf("%w", err)
	}
	look, bin, err := lookDir(ctx, opts.Dir, opts.Binary, pass.FSCheckTimeout)
	if err != nil {
		return err
	}
	// Refused rather than warned about, unlike a missing binary or user:
	// the store is here at --dir, so this host is one the files are for,
	// and on it every run would fail.
	if look.answered {
		if err := checkStoreUser(ctx, opts, look.marker); err != nil {
			return err
		}
	}
	var dropIns []string
	if opts.Write != "" {
		if err := checkWrite(opts.Write, opts.Dir, files); err != nil {
			return err
		}
		if opts.Systemd {
			// The variables of the flags the unit's command gives, which
			// it overrides.
			given := []string{pass.EnvName("dir"), pass.EnvName("max-duration"), pass.EnvName("rate")}
			if opts.Textfile != "" {
				given = append(given, pass.EnvName("textfile"))
			}
			if opts.MissingOK {
				given = append(given, pass.EnvName("missing-ok"))
			}
			if dropIns, err = checkDropIns(opts.Write, opts.sysRoot, opts.Dir, opts.User, files, given); err != nil {
				return err
			}
		}
	}
	for _, w := range dropIns {
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: warning: %s\n", w)
	}
	warnMissing(opts, runtime.GOOS, look, bin)
	if look.answered {
		warnNoStoreYet(opts, look)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: warning: --dir %s did not answer within %s (a file server that does not respond?): --user %s was not checked against the store's owner; the runs wait for it, and exit 4 if it still does not answer\n", opts.Dir, dur(pass.FSCheckTimeout), opts.User)
	}
	warnAlerts(opts)
	if opts.Write == "" {
		for i, f := range files {
			if i > 0 {
				fmt.Fprintln(opts.IO.Out)
			}
			opts.IO.Out.Write(f.Content)
		}
		return nil
	}
	for _, f := range files {
		p := filepath.Join(opts.Write, f.Name)
		// cron ignores files in /etc/cron.d that are group- or
		// world-writable, so 0644 exactly; and cron or systemd may read
		// the file at any moment, so it is replaced atomically.
		err := cmdutil.WriteFile(p, 0o644, func(w io.Writer) error {
			_, err := w.Write(f.Content)
			return err
		})
		if err != nil {
			return cmdutil.FailureErrorf("%w", err)
		}
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: wrote %s\n", p)
	}
	return nil
}

// dirLook is what install-cron sees of --dir on this host, all of it
// looked at by lookDir, so that the checks and warnings that use it make
// no call into --dir of their own.
type dirLook struct {
	// answered is false where --dir did not answer in time; the other
	// fields are then unset.
	answered bool
	// marker is the store's marker (followed where it is a symbolic
	// link), nil where it cannot be stat'ed; markerGone is true where
	// there is no file or link by its name.
	marker     fs.FileInfo
	markerGone bool
	// dir is --dir itself (followed), nil where it cannot be stat'ed.
	dir fs.FileInfo
	// created is true where a store was found at dir after its marker
	// was not (made since).
	created bool
	// inside is pass.OpenStore's refusal of --dir as part of a store (its
	// data directory), or nil.
	inside error
	// listErr is the error opening or listing --dir returned, part-way
	// through included; empty, where it was listed and held nothing (NFS
	// leftovers aside, see pass.IsEmpty).
	listErr error
	empty   bool
}

// binaryLook is what install-cron sees of --binary on this host.
type binaryLook struct {
	// answered is false where --binary did not answer in time (kept on
	// the share, for every host, and the share hung).
	answered bool
	fi       fs.FileInfo // nil where it cannot be stat'ed
}

// lookDir makes every look install-cron makes at dir, and the one at
// binary, and returns what it saw of each that answered within wait: a
// hard NFS mount whose server does not respond holds every call into it
// without end, at the first look or at any later one, and install-cron,
// which only looks at --dir and --binary to check and warn, must still
// write its files. One goroutine makes the looks at dir, another the one
// at binary (which may be on another mount), under the one deadline; a
// look that did not answer is left blocked in its goroutine. Its error is
// ctx's end, an interruption while it waits.
func lookDir(ctx context.Context, dir, binary string, wait time.Duration) (dirLook, binaryLook, error) {
	dirDone, binDone := make(chan dirLook, 1), make(chan binaryLook, 1)
	go func() { dirDone <- dirLooks(dir) }()
	go func() { binDone <- binaryLooks(binary) }()
	t := time.NewTimer(wait)
	defer t.Stop()
	var look dirLook
	var bin binaryLook
	for dirOut, binOut := dirDone, binDone; dirOut != nil || binOut != nil; {
		select {
		case look = <-dirOut:
			look.answered, dirOut = true, nil
		case bin = <-binOut:
			binOut = nil
		case <-t.C:
			return look, bin, nil
		case <-ctx.Done():
			what := "--dir " + dir
			if dirOut == nil {
				what = "--binary " + binary
			}
			return dirLook{}, binaryLook{}, pass.Interrupted(ctx, fmt.Sprintf("while %s did not answer; nothing was written", what))
		}
	}
	return look, bin, nil
}

// binaryLooks makes lookDir's look at binary.
func binaryLooks(binary string) binaryLook {
	fi, err := os.Stat(binary)
	if err != nil {
		fi = nil
	}
	return binaryLook{answered: true, fi: fi}
}

// dirLooks makes lookDir's looks, in the order of the checks that use
// them; --dir is opened once, to list it.
func dirLooks(dir string) dirLook {
	var look dirLook
	marker := path.Join(dir, fsstore.MarkerFile)
	fi, err := os.Lstat(marker)
	look.markerGone = errors.Is(err, fs.ErrNotExist)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		fi, err = os.Stat(marker)
	}
	if err == nil {
		look.marker = fi
	}
	if fi, err := os.Stat(dir); err == nil {
		look.dir = fi
	}
	if look.dir == nil || !look.dir.IsDir() || !look.markerGone {
		return look // what warnNoStoreYet looks no further at
	}
	// A directory of a store (its data directory, empty while the store
	// holds no session) holds no marker either, but every run refuses it,
	// as pass.OpenStore does. It creates no store.
	if s, err := pass.OpenStore(dir, slog.New(slog.DiscardHandler)); err == nil {
		s.Close() // made since the look-up above: checked no further
		look.created = true
		return look
	} else if errors.Is(err, fsstore.ErrInsideStore) {
		look.inside = err
		return look
	}
	look.empty, look.listErr = pass.ReadEmpty(dir)
	return look
}

// checkWrite refuses, before any file is written, a --write dir that is
// missing, not a directory, or one this user cannot create a file in, and
// a file to write there whose name is a directory, which the rename could
// not replace: found while writing, the error named a temp file, and with
// --systemd the service could be written without its timer.
//
// A file there that runs sessgc for another store is refused too: the
// names are fixed, so writing over it would end that store's sweeps
// without a word, and its sessions would pile up until its disk filled.
// So is one whose store cannot be read (sweptDirs).
func checkWrite(dir, storeDir string, files []File) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return cmdutil.UsageErrorf("--write %s: no such directory: give the directory to write the files into (such as /etc/cron.d or /etc/systemd/system)", dir)
	case err != nil:
		return cmdutil.UsageErrorf("--write %s: %w", dir, err)
	case !fi.IsDir():
		return cmdutil.UsageErrorf("--write %s is not a directory: give the directory to write the files into (such as /etc/cron.d or /etc/systemd/system), where install-cron writes %s", dir, names(files))
	}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			return cmdutil.UsageErrorf("--write %s: %s is a directory, which the file cannot replace: move it elsewhere, or remove it", dir, p)
		}
		others, err := sweptDirs(p)
		if err != nil {
			return cmdutil.UsageErrorf("--write %s: %s is there already, and install-cron %w; nothing was written. If it is this store's, or runs no sessgc, remove %s first; for a second store on this host, print the files (without --write) and install them under other names", dir, p, err, p)
		}
		for _, other := range others {
			if path.Clean(other) == path.Clean(storeDir) {
				continue
			}
			// A timer starts the service of its own name, so a renamed
			// pair keeps working.
			var alt []File
			for _, g := range files {
				alt = append(alt, File{Name: strings.Replace(g.Name, "sessgc", "sessgc-2", 1)})
			}
			return cmdutil.UsageErrorf("--write %s: %s already runs sessgc for the store %s: writing it for %s would stop the sweeps of %s; nothing was written. For a second store on this host, print the files (without --write) and install them under other names (such as %s); if %s is gone, remove %s first", dir, p, other, storeDir, other, names(alt), other, p)
		}
	}
	// Named as WriteFile's temp files are, so that one a killed run left
	// goes as theirs do.
	t, err := os.CreateTemp(dir, "."+files[0].Name)
	if err != nil {
		return cmdutil.UsageErrorf("--write %s: cannot create a file there as this user (uid %d): %w", dir, os.Getuid(), err)
	}
	t.Close()
	if err := os.Remove(t.Name()); err != nil {
		return cmdutil.UsageErrorf("--write %s: cannot remove a file created there: %w", dir, err)
	}
	return nil
}

// names lists the files' names.
func names(files []File) string {
	var n []string
	for _, f := range files {
		n = append(n, f.Name)
	}
	return strings.Join(n, " and ")
}

// warnMissing warns when the binary or the user the files name does not
// exist on this host: the files may well be for other hosts, but on this
// one cron would fail every run quietly (go install puts sessgc in
// $GOPATH/bin, not --binary's default). goos is this host's GOOS: on
// Windows, where neither cron nor systemd runs, the files can only be for
// other hosts, and a Windows file never has the execute bits checked here.
// The owner of a store at --dir is taken from look, where --dir answered,
// and the binary from bin (see lookDir).
func warnMissing(opts *InstallOptions, goos string, look dirLook, bin binaryLook) {
	if goos == "windows" {
		return
	}
	switch fi := bin.fi; {
	case !bin.answered:
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: warning: --binary %s did not answer within %s (on a file server that does not respond?): not checked; the runs wait for it\n", opts.Binary, dur(pass.FSCheckTimeout))
	case fi == nil || fi.IsDir() || fi.Mode()&0o111 == 0:
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: warning: %s is not an executable on this host: install sessgc there on every host, or pass --binary\n", opts.Binary)
	}
	_, err := user.Lookup(opts.User)
	var unknown user.UnknownUserError
	switch {
	case errors.As(err, &unknown):
		// os/user's own words ("user: unknown user app") named the user
		// twice more and said nothing of what to do.
		fix := "pass --user with the user that owns the store's files"
		var owner string
		if look.answered {
			owner = storeOwner(look.marker)
		}
		if owner != "" {
			fix = fmt.Sprintf("pass --user %s (the owner of %s)", shellquote.Quote(owner), opts.Dir)
		}
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: warning: there is no user %s on this host, so cron would fail every run here: %s, or create user %s, unless these files are for other hosts\n", opts.User, fix, opts.User)
	case err != nil:
		// A directory service that did not answer: the user may exist.
		fmt.Fprintf(opts.IO.ErrOut, "sessgc: warning: could not look up user %s on this host (%v): check that it exists on every host the files are for\n", opts.User, err)
	}
}

// The times of the shipped sessgc alerts (deploy/prometheus), which
// assume a run every DefaultEvery: SessgcNotRunning fires when the
// textfile is older than shippedNotRunning, which must be twice the
// interval or more, and SessgcFailing when runs fail for
// shippedFailingFor, twice the interval and 5 minutes for the scrapes: a
// failed run's 0 holds until the next run ends, up to two intervals later
// (a run ends before the next one starts: fits).
// SessgcStoppedEarly and the recording rules of the live sessions and
// their bytes look back shippedSweepWindow, which must be longer than a
// sweep (--max-duration) plus a minute: a sweep's value comes at its end.
const (
	shippedNotRunning  = time.Hour
	shippedFailingFor  = 25 * time.Minute
	shippedSweepWindow = 15 * time.Minute
)

// warnAlerts warns when runs that write a textfile come less often, or
// last longer, than the shipped alerts assume: with --every 1h,
// SessgcNotRunning fired between every two healthy runs, and SessgcFailing
// at one failed run followed by a long one; with --max-duration 20m, the 15-minute windows of
// SessgcStoppedEarly and of the live sessions' rules could miss the value
// a sweep writes at its end; and nothing said the alerts' times were to
// be tuned.
func warnAlerts(opts *InstallOptions) {
	if opts.Textfile == "" {
		return
	}
	const head = "sessgc: warning: the shipped Prometheus alerts (deploy/prometheus/sessfs-rules.yml) assume "
	var tune []string
	if notRunning := 2 * opts.Every; notRunning > shippedNotRunning {
		tune = append(tune, fmt.Sprintf("SessgcNotRunning's threshold to %s or more (it is %s: it would fire between healthy runs)", dur(notRunning), dur(shippedNotRunning)))
	}
	if failing := 2*opts.Every + 5*time.Minute; failing > shippedFailingFor {
		tune = append(tune, fmt.Sprintf("SessgcFailing's for: to %s (it is %s: it would fire at one failed run followed by a long one)", dur(failing), dur(shippedFailingFor)))
	}
	if len(tune) > 0 {
		fmt.Fprintf(opts.IO.ErrOut, head+"a run every %s: with --every %s, raise %s\n", dur(DefaultEvery), dur(opts.Every), strings.Join(tune, ", and "))
	}
	if need := opts.MaxDuration + time.Minute; need >= shippedSweepWindow {
		w := need.Truncate(time.Minute) + time.Minute // longer than need
		fmt.Fprintf(opts.IO.ErrOut, head+"a sweep that ends in less than %s: with --max-duration %s, raise the [%s] windows of SessgcStoppedEarly and of the sessfs:live_sessions:max and sessfs:live_session_bytes:max rules to [%s] (a sweep writes its values at its end: a shorter window misses a sweep that stopped early, and the live sessions drop to 0 while a sweep runs)\n",
			dur(shippedSweepWindow-time.Minute), dur(opts.MaxDuration), dur(shippedSweepWindow), dur(w))
	}
}
