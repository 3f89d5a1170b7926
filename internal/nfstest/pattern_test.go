package nfstest

import (
	"flag"
	"slices"
	"testing"
)

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

// Start boots the guests of the top-level tests that -test.run and
// -test.skip let run, as the testing package judges them.
func TestSelected(t *testing.T) {
	for _, c := range []struct {
		run, skip string
		want      bool
	}{
		{"", "", true},
		{"NFS", "", true},
		{"NFSStore/delegations=false/LoadStorm", "", true},
		{"TestHealth", "", false},
		{"TestHealth|NFSStore", "", true},
		{"", "NFSStore", false},
		{"", "NFSStore/LeaseLoss", true},
		{"NFS", "Outage", true},
		{"^$", "", false},
	} {
		setFlag(t, "test.run", c.run)
		setFlag(t, "test.skip", c.skip)
		if got := selected("TestNFSStore"); got != c.want {
			t.Errorf("-run %q -skip %q: selected(TestNFSStore) = %v, want %v", c.run, c.skip, got, c.want)
		}
	}
}

// setFlag sets the test binary's flag name for the rest of the test.
func setFlag(t *testing.T, name, value string) {
	f := flag.Lookup(name)
	if f == nil {
		t.Fatalf("no flag %s", name)
	}
	old := f.Value.String()
	if err := flag.Set(name, value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flag.Set(name, old) })
}

// The hosts' commands, the test binary again, inherit the harness's
// environment: Start's job must not reach them, or each host boots the
// guests again, inside the guest, and overwrites their results.
func TestHarnessEnv(t *testing.T) {
	env := harnessEnv([]string{"PATH=/bin", envStart + `={"Runs":[]}`, envStart + "X=kept"}, Config{MountOptions: "vers=4.1"})
	want := []string{"PATH=/bin", envStart + "X=kept", "NFS_HARNESS_LOCKED=1", "NFS_MOUNT_OPTS=vers=4.1"}
	if !slices.Equal(env, want) {
		t.Errorf("harnessEnv = %q, want %q", env, want)
	}
}
