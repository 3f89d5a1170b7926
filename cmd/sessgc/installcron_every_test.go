//go:build unix

package main_test

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallCronEvery runs what install-cron generates for an --every
// as cron and systemd would run it: the cron entry's command and the
// unit's ExecStart each sweep the store (exit 0, the expired sessions
// gone, the live ones kept), at the schedule the interval asks. An
// interval cron cannot run is refused, and so is a budget that does not
// fit it, naming the --max-duration that does ("sessgc install-cron
// --every 5m" was refused for the default 8m with no word of what would
// fit). With --textfile, the warnings say which alert times to change: a
// sweep of 20m, longer than the 15m windows of SessgcStoppedEarly and of
// the live sessions' rules, went without one. (Every interval's timer,
// read by systemd: installcron's TestEverySchedules.)
func TestInstallCronEvery(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	const tf = "TEXTFILE"
	for _, tc := range []struct {
		args     string
		code     int
		sched    string   // the cron entry's schedule
		calendar string   // the timer's OnCalendar
		timeout  string   // the unit's TimeoutStartSec
		stderr   []string // in stderr
		notErr   string   // not in stderr
	}{
		{"--every 5m --max-duration 3m", 0, "*/5 * * * *", "*:0/5", "4m", nil, "Prometheus"},
		{"--every 1h --textfile " + tf, 0, "0 */1 * * *", "0/1:00", "9m",
			[]string{"with --every 1h, raise SessgcNotRunning's threshold to 2h or more", "SessgcFailing's for: to 2h5m"}, "windows"},
		{"--every 24h", 0, "0 0 * * *", "0:00", "9m", nil, "Prometheus"},
		{"--every 30m --max-duration 20m --textfile " + tf, 0, "*/30 * * * *", "*:0/30", "21m",
			[]string{"SessgcFailing's for: to 1h5m", "with --max-duration 20m, raise the [15m] windows of SessgcStoppedEarly", "to [22m]"}, "SessgcNotRunning"},
		// With --jitter 0s, as here: 3m with the default 1m.
		{"--every 5m", 2, "", "", "", []string{"must stay below --every 5m, or runs pile up: give --max-duration 4m or less"}, ""},
		{"--every 90s", 2, "", "", "", []string{"--every 1m30s: want whole minutes dividing an hour"}, ""},
		{"--every 0", 2, "", "", "", []string{"--every 0s: want whole minutes"}, ""},
		{"--every -5m", 2, "", "", "", []string{"--every -5m0s: want whole minutes"}, ""},
	} {
		t.Run(tc.args, func(t *testing.T) {
			st := newStore(t)
			live := st.save(2)
			expired := st.save(3)
			st.expire(expired...)
			prom := filepath.Join(t.TempDir(), "sessgc.prom")
			args := strings.Fields(strings.ReplaceAll(tc.args, tf, prom))
			// The cron entry, for this store and binary, with no jitter to
			// wait for.
			r := runGC(t, append([]string{"install-cron", "--dir", st.dir, "--binary", sessgcBin, "--user", u.Username, "--jitter", "0s"}, args...))
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q; want it to hold %q", r.stderr, w)
				}
			}
			if tc.notErr != "" && strings.Contains(r.stderr, tc.notErr) {
				t.Errorf("stderr %q; want no %q", r.stderr, tc.notErr)
			}
			if tc.code != 0 {
				if r.stdout != "" {
					t.Errorf("refused, but printed %q", r.stdout)
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			f := strings.Fields(lines[len(lines)-1])
			if len(f) < 8 || strings.Join(f[:5], " ") != tc.sched || f[5] != u.Username || f[6] != sessgcBin {
				t.Fatalf("cron entry %q; want schedule %q, user %s and %s", lines[len(lines)-1], tc.sched, u.Username, sessgcBin)
			}
			sweeps(t, st, f[7:], prom, strings.Contains(tc.args, tf), live, expired)

			// The unit, for a store and binary outside /tmp (PrivateTmp):
			// its ExecStart run here on the store.
			other := fmt.Sprintf("/srv/sessgc-test-%d/sessions", os.Getpid())
			r = runGC(t, append([]string{"install-cron", "--systemd", "--dir", other, "--user", u.Username}, strings.Fields(strings.ReplaceAll(tc.args, tf, "/var/lib/node_exporter/textfile/sessgc.prom"))...))
			if r.code != 0 {
				t.Fatalf("--systemd: exit %d; stderr %s", r.code, r.stderr)
			}
			for _, w := range []string{"\nOnCalendar=" + tc.calendar + "\n", "\nTimeoutStartSec=" + tc.timeout + "\n", "\nRandomizedDelaySec=1m\n"} {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("--systemd: files lack %q:\n%s", w, r.stdout)
				}
			}
			_, exec, _ := strings.Cut(r.stdout, "\nExecStart=")
			exec, _, _ = strings.Cut(exec, "\n")
			f = strings.Fields(exec)
			for i := range f {
				switch f[i] {
				case other:
					f[i] = st.dir
				case "/var/lib/node_exporter/textfile/sessgc.prom":
					f[i] = prom
				}
			}
			st.expire(st.save(1)...)
			sweeps(t, st, f[1:], prom, strings.Contains(tc.args, tf), live, nil)
		})
	}
}

// sweeps runs sessgc with args, the command of a generated file, and
// checks that it swept st: exit 0, no expired session left, the live ones
// kept, and with textfile the metrics of a run that went well in prom.
func sweeps(t *testing.T, st *store, args []string, prom string, textfile bool, live, expired []string) {
	t.Helper()
	r := runGC(t, args)
	if r.code != 0 {
		t.Fatalf("%v: exit %d, stderr %s", args, r.code, r.stderr)
	}
	for _, id := range expired {
		if st.exists(id) {
			t.Errorf("%v left an expired session", args)
		}
	}
	for _, id := range live {
		if !st.exists(id) {
			t.Errorf("%v removed a live session", args)
		}
	}
	if n := runGC(t, []string{"stats", "--dir", st.dir, "--json"}); !strings.Contains(n.stdout, `"expired": 0,`) {
		t.Errorf("%v: stats after it: %s", args, n.stdout)
	}
	if textfile {
		if m := promFile(t, prom, st.dir); m["sessgc_last_run_exit_code"] != 0 || m["sessgc_last_run_success"] != 1 {
			t.Errorf("%v: textfile says exit %v, success %v", args, m["sessgc_last_run_exit_code"], m["sessgc_last_run_success"])
		}
	}
}
