package nfstest

import (
	"strings"
	"testing"
)

const sampleMountStats = `device proc mounted on /proc with fstype proc
device 10.99.1.1:/ mounted on /run/nfs/hostA with fstype nfs4 statvers=1.1
	opts:	rw,vers=4.1,rsize=131072
	age:	5
	per-op statistics
	        NULL: 1 1 0 44 24 0 0 0 0
	        READ: 0 0 0 0 0 0 0 0 0
	        OPEN: 12 12 0 4000 3000 1 2 3 0
	       CLOSE: 11 11 0 2000 1000 1 2 3 0

device 10.99.1.1:/ mounted on /run/my\040mnt with fstype nfs4 statvers=1.1
	per-op statistics
	        OPEN: 7 7 0 0 0 0 0 0 0
`

func TestParseMountStats(t *testing.T) {
	st, err := parseMountStats(strings.NewReader(sampleMountStats), "/run/nfs/hostA/")
	if err != nil {
		t.Fatal(err)
	}
	if st["OPEN"] != 12 || st["CLOSE"] != 11 || st["NULL"] != 1 || len(st) != 4 {
		t.Errorf("got %v", st)
	}
	st, err = parseMountStats(strings.NewReader(sampleMountStats), "/run/my mnt")
	if err != nil || st["OPEN"] != 7 || len(st) != 1 {
		t.Errorf("escaped mount point: %v, %v", st, err)
	}
	if _, err := parseMountStats(strings.NewReader(sampleMountStats), "/nope"); err == nil {
		t.Error("no error for a missing mount")
	}
}

func TestDiff(t *testing.T) {
	d := Diff(Stats{"OPEN": 1, "CLOSE": 1, "READ": 3}, Stats{"OPEN": 3, "CLOSE": 1, "READ": 4, "LOCK": 1})
	if got := d.String(); got != "LOCK=1 OPEN=2 READ=1" || d.Total() != 4 {
		t.Errorf("Diff = %s (total %d)", got, d.Total())
	}
}

func TestRunPattern(t *testing.T) {
	if got, want := RunPattern("TestX/delegations=true"), `^TestX$/^delegations=true$`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
	if hostIndex("hostB") != 2 || hostIndex("hostb") != 0 || HostName(3) != "hostC" {
		t.Error("host naming")
	}
}
