package nfstest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockPath(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"", DefaultLockPath},
		{"off", ""},
		{"/var/tmp/x.lock", "/var/tmp/x.lock"},
	} {
		t.Setenv(EnvLock, tc.env)
		if got := lockPath(); got != tc.want {
			t.Errorf("%s=%q: lockPath() = %q, want %q", EnvLock, tc.env, got, tc.want)
		}
	}
}

func TestGuestTestTimeout(t *testing.T) {
	for _, tc := range []struct{ guest, want time.Duration }{
		{5 * time.Minute, 4*time.Minute + 20*time.Second},
		{80 * time.Second, 40 * time.Second},
		{30 * time.Second, 15 * time.Second},
	} {
		if got := guestTestTimeout(tc.guest); got != tc.want {
			t.Errorf("guestTestTimeout(%v) = %v, want %v", tc.guest, got, tc.want)
		}
	}
}

func TestTrimMountstats(t *testing.T) {
	in := `device rootfs mounted on / with fstype rootfs
	opts: rw
device nfsd mounted on /proc/fs/nfsd with fstype nfsd
device 10.99.1.1:/ mounted on /run/nfs/hostA with fstype nfs4 statvers=1.1
	opts:	rw,vers=4.1
	events:	1 2 3
	per-op statistics
	        NULL: 1 1 0 44 24 0 0 0 0
	        READ: 0 0 0 0 0 0 0 0 0
	        OPEN: 3 3 0 900 800 1 2 3 0
`
	got := trimMountstats(in)
	for _, want := range []string{"mounted on /run/nfs/hostA", "events:\t1 2 3", "NULL: 1", "OPEN: 3"} {
		if !strings.Contains(got, want) {
			t.Errorf("trimmed mountstats lacks %q:\n%s", want, got)
		}
	}
	for _, gone := range []string{"rootfs", "/proc/fs/nfsd", "READ:"} {
		if strings.Contains(got, gone) {
			t.Errorf("trimmed mountstats keeps %q:\n%s", gone, got)
		}
	}
}

func TestAfterBoot(t *testing.T) {
	in := `[    0.000000] Linux version 6.1
[    1.160000] Run /tmp/x/init.sh as init process
[    1.160000]   with arguments:
[    1.160000]     /tmp/x/init.sh
[    1.690000] RPC: Registered tcp transport module.
[   20.000000] nfs: server 10.99.1.1 not responding, still trying`
	got := strings.Join(afterBoot(in), "\n")
	if want := "[    1.690000] RPC: Registered tcp transport module.\n[   20.000000] nfs: server 10.99.1.1 not responding, still trying"; got != want {
		t.Errorf("afterBoot:\n%s\nwant\n%s", got, want)
	}
}

// Every guest run appends its line to the report file, beside the lines
// of other runs (and other test binaries).
func TestReportGuest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guests")
	t.Setenv(EnvGuestReport, path)
	began := time.UnixMilli(1764912512345)
	reportGuest(guestReport{name: t.Name(), ran: 12340 * time.Millisecond, waited: 3 * time.Second, began: began, setup: 20 * time.Second, ahead: 18 * time.Second}, t.Logf)
	reportGuest(guestReport{name: t.Name(), ran: 1500 * time.Millisecond, code: 1, began: began.Add(20 * time.Second)}, t.Logf)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "   12.3 s  TestReportGuest (exit 0; waited 3.0 s for the guest lock; booted and mounted in 20.0 s, 18.0 s of it ahead of its go; began 1764912512.3)\n" +
		"    1.5 s  TestReportGuest (exit 1; waited 0.0 s for the guest lock; booted and mounted in 0.0 s, 0.0 s of it ahead of its go; began 1764912532.3)\n"
	if string(b) != want {
		t.Fatalf("report:\n%s\nwant:\n%s", b, want)
	}
}

// TestReportSubtests: the subtests without subtests of their own, with
// the longest of the hosts' times, one line each, appended.
func TestReportSubtests(t *testing.T) {
	state := t.TempDir()
	hostA := `=== RUN   TestX
--- PASS: TestX (10.50s)
    --- PASS: TestX/half (9.00s)
        --- PASS: TestX/half/Slow (7.25s)
        --- FAIL: TestX/half/Fast (0.10s)
        --- PASS: TestX/half/Nested (1.00s)
            --- PASS: TestX/half/Nested/Inner (0.90s)
    --- SKIP: TestX/other (0.00s)
PASS
`
	hostB := "    --- PASS: TestX/half/Slow (8.00s)\n    not a result: --- PASS: TestX/half/Fast (99.00s)\n"
	for h, out := range map[string]string{"hostA": hostA, "hostB": hostB} {
		if err := os.WriteFile(filepath.Join(state, h+".out"), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report := filepath.Join(t.TempDir(), "subtests")
	t.Setenv(EnvSubtestReport, report)
	reportSubtests(state, []string{"hostA", "hostB"}, t.Logf)
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	want := "    0.1 s  TestX/half/Fast (hostA)\n" +
		"    0.9 s  TestX/half/Nested/Inner (hostA)\n" +
		"    8.0 s  TestX/half/Slow (hostB)\n" +
		"    0.0 s  TestX/other (hostA)\n"
	if string(b) != want {
		t.Errorf("report:\n%s\nwant:\n%s", b, want)
	}
}

func TestExportPath(t *testing.T) {
	for _, tc := range []struct {
		export, mnt, p string
		want           string // "" for an error
	}{
		{"/run/export", "/run/nfs/hostA", "/run/nfs/hostA/t/store/data", "/run/export/t/store/data"},
		{"/run/export", "/run/nfs/hostA", "/run/nfs/hostA", "/run/export"},
		{"/run/export", "/run/nfs/hostA", "/run/nfs/hostB/t", ""},
		{"/run/export", "/run/nfs/hostA", "/run/nfs/hostA/../hostB", ""},
		{"/run/export", "/run/nfs/hostA", "t/store", ""},
		{"", "/run/nfs/hostA", "/run/nfs/hostA/t", ""},
		{"/run/export", "", "/run/nfs/hostA/t", ""},
	} {
		// ExportPath takes and gives this system's paths: backslashes on
		// Windows, where a "..\\" that escapes the mount must be refused too.
		tc.export, tc.mnt, tc.p, tc.want = filepath.FromSlash(tc.export), filepath.FromSlash(tc.mnt), filepath.FromSlash(tc.p), filepath.FromSlash(tc.want)
		t.Setenv("NFS_EXPORT", tc.export)
		t.Setenv("NFS_MNT", tc.mnt)
		got, err := ExportPath(tc.p)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ExportPath(%q) with export %q, mount %q = %q, want an error", tc.p, tc.export, tc.mnt, got)
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("ExportPath(%q) with export %q, mount %q = %q, %v; want %q", tc.p, tc.export, tc.mnt, got, err, tc.want)
		}
	}
}
