package nfstest

import "testing"

func TestRunPattern(t *testing.T) {
	if got, want := RunPattern("TestX/delegations=true"), `^TestX$/^delegations=true$`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
	if hostIndex("hostB") != 2 || hostIndex("hostb") != 0 || HostName(3) != "hostC" {
		t.Error("host naming")
	}
}

func TestGuestRunPattern(t *testing.T) {
	for _, c := range []struct{ name, run, want string }{
		{"TestNFSStore", "", `^TestNFSStore$`},
		{"TestNFSStore", "NFS", `^TestNFSStore$`},
		{"TestNFSStore", "TestNFSStore/delegations=false/LoadStorm", `^TestNFSStore$/delegations=false/LoadStorm`},
		{"TestNFSStore", "NFSStore/(a/b|c)/[/]x", `^TestNFSStore$/(a/b|c)/[/]x`},
		{"TestNFSStore", `NFS\/x/y`, `^TestNFSStore$/y`},
		{"TestX/sub", "X/sub/deeper", `^TestX$/^sub$/deeper`},
		{"TestX/sub", "X/sub", `^TestX$/^sub$`},
	} {
		if got := guestRunPattern(c.name, c.run); got != c.want {
			t.Errorf("guestRunPattern(%q, %q) = %q, want %q", c.name, c.run, got, c.want)
		}
	}
}
