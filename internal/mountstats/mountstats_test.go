package mountstats

import (
	"strings"
	"testing"
)

const sample = `device rootfs mounted on / with fstype rootfs
device proc mounted on /proc with fstype proc
device fs-0123.efs.us-east-1.amazonaws.com:/ mounted on /mnt/efs with fstype nfs4 statvers=1.1
	opts:	rw,vers=4.1,rsize=1048576,wsize=1048576,namlen=255,acregmin=3,hard,proto=tcp,timeo=600,retrans=2,sec=sys
	age:	4242
	RPC iostats version: 1.1  p/v: 100003/4 (nfs)
	xprt:	tcp 0 0 1 0 11 1000 1000 0 1000 0 2 0 0
	per-op statistics
	        NULL: 1 1 0 44 24 0 0 0 0
	        READ: 100 100 0 20000 1048576 2 300 310 0
	       WRITE: 50 50 0 1048576 8000 1 200 210 0
	      COMMIT: 5 5 0 1 1 0 0 0 0
	        OPEN: 40 40 0 1 1 0 0 0 0
	       CLOSE: 40 40 0 1 1 0 0 0 0
	     GETATTR: 300 300 0 1 1 0 0 0 0
	      LOOKUP: 25 25 0 1 1 0 0 0 0
	        LOCK: 7 7 0 1 1 0 0 0 0
	       LOCKU: 7 7 0 1 1 0 0 0 0
	      RENAME: 20 20 0 1 1 0 0 0 0
	     SETATTR: 3 3 0 1 1 0 0 0 0
	FREE_STATEID: 2 2 0 1 1 0 0 0 0
	    SEQUENCE: 11 11 0 1 1 0 0 0 0
	       RENEW: 0 0 0 1 1 0 0 0 0
	 DELEGRETURN: 4 4 0 1 1 0 0 0 0

device other:/ mounted on /mnt/other with fstype nfs4 statvers=1.1
	per-op statistics
	        READ: 999 999 0 1 1 0 0 0 0
`

func TestParse(t *testing.T) {
	c, err := Parse(strings.NewReader(sample), "/mnt/efs")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		label string
		want  uint64
	}{
		{"reads", 100}, {"writes", 55}, {"getattrs", 300}, {"lookups", 25}, {"opens", 80}, {"locks", 14},
		// NULL, RENAME, SETATTR, FREE_STATEID; not SEQUENCE or DELEGRETURN.
		{Other, 1 + 20 + 3 + 2},
	}
	for _, tt := range tests {
		if got := c.Group(tt.label); got != tt.want {
			t.Errorf("%s = %d, want %d", tt.label, got, tt.want)
		}
	}
	if c["SEQUENCE"] != 11 || c["DELEGRETURN"] != 4 {
		t.Errorf("excluded operations not parsed: %v", c)
	}
	// Everything but SEQUENCE, RENEW and DELEGRETURN.
	if c.Total() != 600 {
		t.Errorf("total = %d, want 600", c.Total())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, point string }{
		{"missing mount", "/mnt/nowhere"},
		{"not nfs", "/proc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(strings.NewReader(sample), tt.point); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSubAdd(t *testing.T) {
	a := Counts{"READ": 10, "WRITE": 4}
	b := Counts{"READ": 3, "WRITE": 4, "LOCK": 1}
	d := a.Sub(b)
	if d["READ"] != 7 || d["WRITE"] != 0 {
		t.Fatalf("sub = %v", d)
	}
	d.Add(Counts{"READ": 1})
	if d["READ"] != 8 {
		t.Fatalf("add = %v", d)
	}
}

// TestGroupsSumToTotal checks that every counted operation falls in exactly
// one group, so the groups printed side by side add up to the total.
func TestGroupsSumToTotal(t *testing.T) {
	tests := []struct {
		name  string
		c     Counts
		total uint64
		other uint64
	}{
		{"empty", Counts{}, 0, 0},
		{"only renewals", Counts{"SEQUENCE": 5, "RENEW": 2, "DELEGRETURN": 1}, 0, 0},
		{"cycle", Counts{"OPEN": 3, "CLOSE": 3, "LOCK": 1, "LOCKU": 1, "WRITE": 1, "COMMIT": 1, "RENAME": 1, "FREE_STATEID": 1, "SEQUENCE": 9}, 12, 2},
		{"unknown op", Counts{"READ_PLUS": 4, "ACCESS": 1}, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sum uint64
			for _, g := range Groups {
				sum += tt.c.Group(g.Label)
			}
			if tt.c.Total() != tt.total || sum != tt.total || tt.c.Group(Other) != tt.other {
				t.Errorf("total %d, groups sum %d, other %d; want %d, %d, %d", tt.c.Total(), sum, tt.c.Group(Other), tt.total, tt.total, tt.other)
			}
		})
	}
}

// TestParseMountPoint: the mount point is matched as the kernel escapes
// it, whatever the caller's spelling of the path.
func TestParseMountPoint(t *testing.T) {
	const stats = `device proc mounted on /proc with fstype proc
device 10.99.1.1:/ mounted on /run/nfs/hostA with fstype nfs4 statvers=1.1
	opts:	rw,vers=4.1,rsize=131072
	per-op statistics
	        NULL: 1 1 0 44 24 0 0 0 0
	        OPEN: 12 12 0 4000 3000 1 2 3 0
	       CLOSE: 11 11 0 2000 1000 1 2 3 0

device 10.99.1.1:/ mounted on /run/my\040mnt\134x with fstype nfs4 statvers=1.1
	per-op statistics
	        OPEN: 7 7 0 0 0 0 0 0 0
`
	tests := []struct {
		point   string
		want    string // Counts.String; "": an error
		wantErr string
	}{
		{"/run/nfs/hostA", "CLOSE=11 NULL=1 OPEN=12", ""},
		{"/run/nfs/hostA/", "CLOSE=11 NULL=1 OPEN=12", ""},
		{`/run/my mnt\x`, "OPEN=7", ""},
		{"/run/my", "", "no mountstats entry"},
		{"/proc", "", "no per-op statistics"},
	}
	for _, tt := range tests {
		c, err := Parse(strings.NewReader(stats), tt.point)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err %v, want %q", tt.point, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || c.String() != tt.want):
			t.Errorf("%s: %v, %v; want %s", tt.point, c, err, tt.want)
		}
	}
}

func TestSub(t *testing.T) {
	d := Counts{"OPEN": 3, "CLOSE": 1, "READ": 4, "LOCK": 1, "SEQUENCE": 2}.Sub(Counts{"OPEN": 1, "CLOSE": 1, "READ": 3, "SEQUENCE": 1})
	if got := d.String(); got != "LOCK=1 OPEN=2 READ=1 SEQUENCE=1" || d.Total() != 4 {
		t.Errorf("Sub = %s (total %d), want the grown counts, total without the lease renewal", got, d.Total())
	}
	if got := (Counts{}).String(); got != "(none)" {
		t.Errorf("empty = %q", got)
	}
}
