package shellquote_test

import (
	"os/exec"
	"runtime"
	"testing"

	"github.com/sessfs/sessfs/internal/shellquote"
)

// TestQuote: a quoted word is the word itself to /bin/sh, whatever it
// holds, and a plain path stays as it is.
func TestQuote(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/mnt/efs/sessions", "/mnt/efs/sessions"},
		{"/mnt/my sessions", "'/mnt/my sessions'"},
		{"/mnt/it's", `'/mnt/it'\''s'`},
		{"/mnt/$HOME", "'/mnt/$HOME'"},
		{"/mnt/a\nb", "'/mnt/a\nb'"},
		{"/mnt/*", "'/mnt/*'"},
		{"", "''"},
	} {
		got := shellquote.Quote(tt.in)
		if got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if runtime.GOOS == "windows" {
			continue
		}
		sh, err := exec.LookPath("sh")
		if err != nil {
			continue
		}
		out, err := exec.Command(sh, "-c", "printf %s "+got).Output()
		if err != nil || string(out) != tt.in {
			t.Errorf("sh -c 'printf %%s %s' printed %q (%v), want %q", got, out, err, tt.in)
		}
	}
}
