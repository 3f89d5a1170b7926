package lock

import (
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestExtendedPath: the package's own CreateFile and DeleteFile calls
// get a path too long for the classic form with the \\?\ prefix (\\?\UNC\
// for a share), made absolute and cleaned, as os's calls do; a short path,
// one with the prefix already and a device path as they are.
func TestExtendedPath(t *testing.T) {
	long := strings.Repeat(`d\`, 150) + "x.lease"
	for _, tc := range []struct{ in, want string }{
		{`C:\locks\0001.lease`, `C:\locks\0001.lease`},
		{`C:\` + long, `\\?\C:\` + long},
		{`C:/` + strings.ReplaceAll(long, `\`, "/"), `\\?\C:\` + long},
		{`C:\locks\..\` + long, `\\?\C:\` + long},
		{`\\server\share\` + long, `\\?\UNC\server\share\` + long},
		{`\\?\C:\` + long, `\\?\C:\` + long},
		{`\\.\pipe\` + long, `\\.\pipe\` + long},
	} {
		p, err := extendedPath(tc.in)
		if err != nil {
			t.Errorf("extendedPath(%.40q...): %v", tc.in, err)
			continue
		}
		if got := windows.UTF16PtrToString(p); got != tc.want {
			t.Errorf("extendedPath(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
