package installcron

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// TestSystemdDropIns: install-cron --systemd --write read only the unit
// file it replaces, while systemd also applies the unit's drop-ins
// (sessgc.service.d/*.conf, service.d/*.conf, in any of its unit
// directories; systemctl edit writes one) over whatever is written, and
// the manager's DefaultEnvironment= to every unit. A drop-in's ExecStart=
// ran another store's sweep, or none, in place of the written command, a
// User= another user's; the files were written and said otherwise. Now
// those are refused (a drop-in that sets the written command again, which
// changes nothing, is not), naming the drop-in, and nothing is written; SESSGC_*
// variables set there for flags the command does not give
// (SESSGC_DRY_RUN=true sweeps nothing) are warned of. A --write directory
// that is not one of systemd's has only its own drop-ins looked at.
func TestSystemdDropIns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string // below the root
		write   string            // --write below the root; "" for a directory of the test's
		user    string
		refused string // "": written
		warned  []string
		quiet   []string // not in the warnings
	}{
		{name: "none", write: "/etc/systemd/system"},
		{name: "ExecStart replaced", write: "/etc/systemd/system",
			files:   map[string]string{"/etc/systemd/system/sessgc.service.d/override.conf": "[Service]\nExecStart=\nExecStart=/usr/local/bin/sessgc run --dir /mnt/old\n"},
			refused: "override.conf sets sessgc.service's ExecStart= and runs /usr/local/bin/sessgc run --dir /mnt/old"},
		// The written command set again, as an override kept from an
		// earlier install has it: it changes nothing.
		// systemd runs no shell: a redirection is an argument of the
		// command's, which sessgc refuses, so the service fails.
		{name: "ExecStart as written with a redirection", write: "/etc/systemd/system",
			files:   map[string]string{"/etc/systemd/system/sessgc.service.d/override.conf": "[Service]\nExecStart=\nExecStart=/usr/local/bin/sessgc run --dir /mnt/efs/sessions --max-duration 8m --rate 200 2>/dev/null\n"},
			refused: "runs /usr/local/bin/sessgc run --dir /mnt/efs/sessions --max-duration 8m --rate 200 2>/dev/null"},
		{name: "ExecStart as written with a substitution", write: "/etc/systemd/system",
			files:   map[string]string{"/etc/systemd/system/sessgc.service.d/override.conf": "[Service]\nExecStart=\nExecStart=/usr/local/bin/sessgc run --dir /mnt/efs/sessions --max-duration 8m --rate 200 \"$(true)\"\n"},
			refused: "so systemd would run that command"},
		{name: "ExecStart as written with a quote left open", write: "/etc/systemd/system",
			files:   map[string]string{"/etc/systemd/system/sessgc.service.d/override.conf": "[Service]\nExecStart=\nExecStart=/usr/local/bin/sessgc run --dir /mnt/efs/sessions --max-duration 8m --rate 200 '\n"},
			refused: "so systemd would run that command"},
		{name: "ExecStart as written", write: "/etc/systemd/system",
			files: map[string]string{"/etc/systemd/system/sessgc.service.d/override.conf": "[Service]\nExecStart=\nExecStart=/usr/local/bin/sessgc  run --dir '/mnt/efs/sessions' --max-duration 8m --rate 200\n"}},
		{name: "ExecStart as written, reset later", write: "/etc/systemd/system",
			files: map[string]string{
				"/etc/systemd/system/sessgc.service.d/10-same.conf": "[Service]\nExecStart=\nExecStart=/usr/local/bin/sessgc run --dir /mnt/efs/sessions --max-duration 8m --rate 200\n",
				"/etc/systemd/system/sessgc.service.d/20-none.conf": "[Service]\nExecStart=\n",
			},
			refused: "20-none.conf sets sessgc.service's ExecStart= and resets it"},
		// Without the reset, a oneshot service runs both commands.
		{name: "ExecStart as written, added", write: "/etc/systemd/system",
			files:   map[string]string{"/etc/systemd/system/sessgc.service.d/override.conf": "[Service]\nExecStart=/usr/local/bin/sessgc run --dir /mnt/efs/sessions --max-duration 8m --rate 200\n"},
			refused: "run it 2 times in a row"},
		{name: "ExecStart reset", write: "/usr/lib/systemd/system",
			files:   map[string]string{"/run/systemd/system/sessgc.service.d/10-reset.conf": "[Service]\nExecStart=\n"},
			refused: "resets it, so the service would not start"},
		{name: "every service", write: "/etc/systemd/system",
			files:   map[string]string{"/usr/lib/systemd/system/service.d/all.conf": "[Service]\nUser=nobody\n"},
			refused: "sets sessgc.service's User=nobody"},
		{name: "User as written", write: "/etc/systemd/system", user: "app",
			files: map[string]string{"/etc/systemd/system/sessgc.service.d/user.conf": "[Service]\nUser=app\n"}},
		// An empty User= resets it to systemd's default: root.
		{name: "User reset", write: "/etc/systemd/system",
			files:   map[string]string{"/etc/systemd/system/sessgc.service.d/user.conf": "[Service]\nUser=\n"},
			refused: "resets sessgc.service's User=, so every run would be root's"},
		// systemd reads drop-ins in the order of their names, whatever
		// their directories: the last User= is the one that runs.
		{name: "User set again later", write: "/etc/systemd/system",
			files: map[string]string{
				"/etc/systemd/system/sessgc.service.d/10-other.conf": "[Service]\nUser=nobody\n",
				"/usr/lib/systemd/system/service.d/20-back.conf":     "[Service]\nUser=www-data\n",
			}},
		{name: "User set again earlier", write: "/etc/systemd/system",
			files: map[string]string{
				"/etc/systemd/system/sessgc.service.d/10-back.conf": "[Service]\nUser=www-data\n",
				"/usr/lib/systemd/system/service.d/20-other.conf":   "[Service]\nUser=nobody\n",
			},
			refused: "20-other.conf sets sessgc.service's User=nobody"},
		// A drop-in of the same name in a directory systemd reads first
		// replaces it: a link to /dev/null (or an empty file) masks it.
		{name: "masked by /dev/null", write: "/etc/systemd/system",
			files: map[string]string{
				"/usr/lib/systemd/system/sessgc.service.d/50-vendor.conf": "[Service]\nExecStart=\nExecStart=/bin/true\nUser=nobody\n",
				"/etc/systemd/system/sessgc.service.d/50-vendor.conf":     "->/dev/null",
			}},
		{name: "masked by an empty file", write: "/usr/lib/systemd/system",
			files: map[string]string{
				"/usr/lib/systemd/system/sessgc.service.d/50-vendor.conf": "[Service]\nEnvironment=SESSGC_DIR=/mnt/a\n",
				"/run/systemd/system/sessgc.service.d/50-vendor.conf":     "",
			}},
		{name: "environment", write: "/etc/systemd/system",
			files: map[string]string{
				"/etc/systemd/system/sessgc.service.d/env.conf": "[Service]\nEnvironment=SESSGC_DRY_RUN=true SESSGC_DIR=/mnt/efs/sessions \"SESSGC_RATE=5\"\nEnvironmentFile=-/etc/default/sessgc\n",
				"/etc/default/sessgc":                           "export SESSGC_NO_FLEET_LOCK=true\nSESSGC_MAX_DURATION=1h\n",
				"/etc/systemd/system.conf.d/env.conf":           "[Manager]\nDefaultEnvironment=SESSGC_CONCURRENCY=64 LANG=C\n",
			},
			warned: []string{"env.conf sets SESSGC_DRY_RUN=true for every run", "/etc/default/sessgc sets SESSGC_NO_FLEET_LOCK=true for", "DefaultEnvironment= sets SESSGC_CONCURRENCY=64 for"},
			quiet:  []string{"SESSGC_DIR", "SESSGC_RATE", "SESSGC_MAX_DURATION", "LANG"}},
		// systemd reads system.conf.d in /run and /usr/lib as in /etc.
		{name: "vendor's DefaultEnvironment", write: "/etc/systemd/system",
			files:  map[string]string{"/usr/lib/systemd/system.conf.d/50-env.conf": "[Manager]\nDefaultEnvironment=SESSGC_DRY_RUN=true\n"},
			warned: []string{"50-env.conf's DefaultEnvironment= sets SESSGC_DRY_RUN=true for"}},
		{name: "another store's SESSGC_DIR", write: "/etc/systemd/system",
			files:   map[string]string{"/etc/systemd/system/sessgc.service.d/dir.conf": "[Service]\nEnvironment=SESSGC_DIR=/mnt/a\n"},
			refused: "dir.conf sets SESSGC_DIR=/mnt/a for sessgc.service, the store it sweeps where its command gives no --dir: writing it for /mnt/efs/sessions would stop the sweeps of /mnt/a"},
		{name: "this store's SESSGC_DIR", write: "/etc/systemd/system",
			files: map[string]string{"/etc/systemd/system/sessgc.service.d/dir.conf": "[Service]\nEnvironment=SESSGC_DIR=/mnt/efs/sessions/\n"}},
		{name: "timer's drop-in", write: "/etc/systemd/system",
			files: map[string]string{"/etc/systemd/system/sessgc.timer.d/when.conf": "[Timer]\nOnCalendar=\nOnCalendar=hourly\n"}},
		{name: "other directory, host's drop-in", write: "",
			files: map[string]string{"/etc/systemd/system/sessgc.service.d/override.conf": "[Service]\nExecStart=\nExecStart=/bin/true\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, text := range tc.files {
				p = filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if target, ok := strings.CutPrefix(text, "->"); ok {
					if runtime.GOOS == "windows" {
						t.Skip("a link to /dev/null masks a drop-in on the Linux host the files are for; Windows has no /dev/null to link to")
					}
					if err := os.Symlink(target, p); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write := t.TempDir()
			if tc.write != "" {
				write = filepath.Join(root, tc.write)
				if err := os.MkdirAll(write, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			user := tc.user
			if user == "" {
				user = "www-data"
			}
			r := cmdtest.Run(t, NewCmdInstallCron, func(o *InstallOptions) error {
				o.sysRoot = root
				return installRun(context.Background(), o)
			}, []string{"--systemd", "--dir", "/mnt/efs/sessions", "--user", user, "--write", write}, nil)
			_, statErr := os.Stat(filepath.Join(write, "sessgc.service"))
			if tc.refused != "" {
				if cmdutil.ExitCode(r.Err) != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), tc.refused) || statErr == nil {
					t.Errorf("%v, sessgc.service written: %v; want a usage error with %q, nothing written", r.Err, statErr == nil, tc.refused)
				}
				return
			}
			if r.Err != nil || statErr != nil {
				t.Fatalf("%v, %v; want the units written", r.Err, statErr)
			}
			var warnings []string
			for _, l := range strings.Split(r.ErrOut, "\n") {
				if strings.HasPrefix(l, "sessgc: warning: ") && (strings.Contains(l, "drop-in") || strings.Contains(l, "DefaultEnvironment")) {
					warnings = append(warnings, l)
				}
			}
			got := strings.Join(warnings, "\n")
			for _, w := range tc.warned {
				if !strings.Contains(got, w) {
					t.Errorf("warnings %q; want %q", got, w)
				}
			}
			for _, q := range tc.quiet {
				if strings.Contains(got, q) {
					t.Errorf("warnings %q name %s, which the command overrides", got, q)
				}
			}
			if len(tc.warned) == 0 && got != "" {
				t.Errorf("warnings %q; want none", got)
			}
		})
	}
}

func TestSameExecStart(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"/bin/sessgc run --dir /a", "/bin/sessgc  run --dir '/a'", true},
		{"/bin/sessgc run --dir '/a'\\''b'", "/bin/sessgc run --dir \"/a'b\"", true},
		{"/bin/sessgc run --dir /a", "/bin/sessgc run --dir /a 2>/dev/null", false},
		{"/bin/sessgc run --dir /a", "-/bin/sessgc run --dir /a", false},
		{"/bin/sessgc run --dir /a", "/bin/sessgc run --dir /\\x61", false},
		{"/bin/sessgc run --dir /a", "/bin/sessgc run --dir '/a", false},
	} {
		if got := sameExecStart(c.a, c.b); got != c.same {
			t.Errorf("sameExecStart(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}
