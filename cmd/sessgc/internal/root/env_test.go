package root_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/root"
)

// A misspelt SESSGC_* variable is ignored, and so is the limit it was
// meant to set: sessgc says so rather than run without it in silence.
func TestMisspeltEnvironmentVariable(t *testing.T) {
	dir := smallStore(t, 1)
	tests := []struct {
		name string
		env  []string
		want []string // lines of the warning, or none
	}{
		{"misspelt", []string{"SESSGC_MAX_DURATON=1m"},
			[]string{"sessgc: warning: SESSGC_MAX_DURATON is set but is not a sessgc setting; it is ignored (did you mean SESSGC_MAX_DURATION?)"}},
		{"nothing near", []string{"SESSGC_SOMETHING_ELSE=1"},
			[]string{"sessgc: warning: SESSGC_SOMETHING_ELSE is set but is not a sessgc setting; it is ignored"}},
		// A flag of another command (rekey's --keys-file-trusted, stats'
		// --json), the keys and other programs' variables are no typo.
		{"known", []string{"SESSGC_KEYS_FILE_TRUSTED=true", "SESSGC_KEYS=", "SESSGC_RATE=100", "SESSGC_JSON=true", "PATH=/bin", "SESSFS_X=1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			env := map[string]string{}
			for _, kv := range tt.env {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			io := &cmdutil.IOStreams{Out: &out, ErrOut: &errOut,
				Getenv: func(k string) string { return env[k] }, Environ: func() []string { return tt.env }}
			if code := root.Execute(context.Background(), io, []string{"stats", "--dir", dir}); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut.String())
			}
			var got []string
			for _, l := range strings.Split(errOut.String(), "\n") {
				if strings.Contains(l, "warning") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("warnings %q, want %q", got, tt.want)
			}
		})
	}
}
