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
