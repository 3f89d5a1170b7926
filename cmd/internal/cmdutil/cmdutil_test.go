package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/keyline"
	"github.com/spf13/cobra"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{FailureErrorf("x"), ExitFailure},
		{UsageErrorf("x"), ExitUsage},
		{StoreErrorf("x"), ExitStore},
		{fmt.Errorf("wrapped: %w", StoreErrorf("x")), ExitStore},
		{fmt.Errorf("%w after 1s", &ExitError{Code: 143, Err: ErrInterrupted}), 143},
		{errors.New("plain"), ExitFailure},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// newTestRoot is a command tree whose leaf returns what the test says.
func newTestRoot(leafErr error) *cobra.Command {
	root := &cobra.Command{Use: "tool"}
	root.AddCommand(&cobra.Command{
		Use:  "leaf",
		Args: NoArgs("input comes from flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			if leafErr == ErrInterrupted {
				return Interrupted(c.Context(), errors.New("context canceled"))
			}
			return leafErr
		},
	})
	root.Flags().Bool("flag", false, "")
	root.PersistentFlags().String("dir", "", "")
	return root
}

func TestExecute(t *testing.T) {
	signalled := func() context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(&ExitError{Code: ExitInterrupted, Err: ErrInterrupted})
		return ctx
	}
	tests := []struct {
		name    string
		ctx     func() context.Context
		leafErr error
		args    []string
		code    int
		stderr  string // "": nothing printed
	}{
		{"ok", context.Background, nil, []string{"leaf"}, ExitOK, ""},
		{"unknown command", context.Background, nil, []string{"nope"}, ExitUsage, "tool: unknown command \"nope\" for \"tool\"\nRun 'tool --help' for usage.\n"},
		{"unknown flag", context.Background, nil, []string{"leaf", "--nope"}, ExitUsage, "tool: unknown flag: --nope\nRun 'tool leaf --help' for usage.\n"},
		{"argument", context.Background, nil, []string{"leaf", "x"}, ExitUsage, "(input comes from flags)"},
		{"failure", context.Background, errors.New("disk on fire"), []string{"leaf"}, ExitFailure, "tool: disk on fire\n"},
		{"help", context.Background, nil, []string{"help"}, ExitOK, ""},
		{"help on a command", context.Background, nil, []string{"help", "leaf"}, ExitOK, ""},
		// cobra's own help prints "Unknown help topic" and exits 0.
		{"help on no command", context.Background, nil, []string{"help", "nope"}, ExitUsage, "tool: unknown help topic \"nope\"\nRun 'tool --help' for usage.\n"},
		{"help past a command", context.Background, nil, []string{"help", "leaf", "nope"}, ExitUsage, "tool: unknown help topic \"leaf nope\"\n"},
		{"store", context.Background, StoreErrorf("not a store"), []string{"leaf"}, ExitStore, "tool: not a store\n"},
		{"interrupted", signalled, ErrInterrupted, []string{"leaf"}, ExitInterrupted, "tool: interrupted\n"},
		{"cancelled without a signal", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, ErrInterrupted, []string{"leaf"}, ExitFailure, "tool: context canceled\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			io := &IOStreams{Out: &out, ErrOut: &errOut}
			code := Execute(tt.ctx(), io, newTestRoot(tt.leafErr), tt.args)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, errOut.String())
			}
			if got := errOut.String(); tt.stderr == "" && got != "" || !strings.Contains(got, tt.stderr) {
				t.Errorf("stderr %q, want %q", got, tt.stderr)
			}
		})
	}
}

// TestErrorShowsNoGivenSecret: the error printed leaves out a key's
// secret that the user gave where it does not belong (an argument, a
// variable's value), and nothing else. Every word of 43 URL-safe base64
// characters decodes as a secret, and a store's own file names can be
// such words: the temp file of the writability probe that fails on a
// read-only store was printed as "create temp .tmp-.(a key's secret, not
// shown): read-only file system".
func TestErrorShowsNoGivenSecret(t *testing.T) {
	const secret = "BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v-4"
	const padded = "BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v+4=" // as keys files hold it
	const probe = "/srv/s/data/.tmp-.tmp-probe-07b7385762d0b0bb-5d67d888755b3c04"
	for _, tc := range []struct {
		name    string
		leafErr error
		args    []string
		env     []string
		want    string // in stderr
		notWant string // not in stderr
	}{
		{"store's temp file", StoreErrorf("create temp %s: read-only file system", probe), []string{"leaf"}, nil, probe + ": read-only", "not shown"},
		{"the same word given", StoreErrorf("create temp %s: read-only file system", probe), []string{"leaf"}, []string{"X=" + probe[len("/srv/s/data/.tmp-."):]}, "(a key's secret, not shown)", probe},
		{"secret in a variable", StoreErrorf("store directory /srv/1 %s does not exist", secret), []string{"leaf"}, []string{"SESSGC_DIR=/srv/1 " + secret}, "(a key's secret, not shown)", secret},
		{"secret as a command", nil, []string{secret}, nil, "(a key's secret, not shown)", secret},
		{"secret as a flag's value after =", StoreErrorf("store directory %s does not exist", secret), []string{"leaf", "--dir=" + secret}, nil, "(a key's secret, not shown)", secret},
		{"secret in a variable's path", StoreErrorf("store directory /srv/%s does not exist", padded), []string{"leaf"}, []string{"SESSGC_DIR=/srv/" + padded}, "(a key's secret, not shown)", padded},
		// A path's component of 43 URL-safe characters is a name, as a
		// Go test's temporary directory's is: only a keys file's form of
		// a secret counts there.
		{"a name in a path", StoreErrorf("store directory /tmp/%s/001 does not exist", secret), []string{"leaf", "--dir", "/tmp/" + secret + "/001"}, nil, "/tmp/" + secret + "/001", "not shown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			io := &IOStreams{Out: &out, ErrOut: &errOut, Environ: func() []string { return tc.env }}
			Execute(context.Background(), io, newTestRoot(tc.leafErr), tc.args)
			if got := errOut.String(); !strings.Contains(got, tc.want) || strings.Contains(got, tc.notWant) {
				t.Errorf("stderr %q; want it to hold %q and not %q", got, tc.want, tc.notWant)
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	var out bytes.Buffer
	io := &IOStreams{Out: &out, ErrOut: &out}
	if code := Execute(context.Background(), io, newTestRoot(nil), []string{"--version"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	// A test binary has build information without a module version.
	if got, want := out.String(), "tool devel"; !strings.HasPrefix(got, want) || !strings.HasSuffix(got, ", "+runtime.Version()+"\n") {
		t.Errorf("--version printed %q, want %q... ending in the Go version", got, want)
	}
}

func TestVersionOf(t *testing.T) {
	vcs := func(rev, at, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: at}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"go install @tag", "v1.2.3", nil, "v1.2.3, go1.x"},
		{"go install @commit", "v0.0.0-20261130170000-0123456789ab", nil, "v0.0.0-20261130170000-0123456789ab, go1.x"},
		{"source build, clean", "(devel)", vcs(rev, "2026-11-30T17:00:00Z", "false"),
			"devel (commit 0123456789ab, 2026-11-30T17:00:00Z), go1.x"},
		{"source build, modified", "", vcs(rev, "2026-11-30T17:00:00Z", "true"),
			"devel (commit 0123456789ab, 2026-11-30T17:00:00Z, modified), go1.x"},
		{"source build, version from tags", "v1.2.4-0.20261130170000-0123456789ab+dirty", vcs(rev, "2026-11-30T17:00:00Z", "true"),
			"v1.2.4-0.20261130170000-0123456789ab+dirty (2026-11-30T17:00:00Z), go1.x"},
		{"no vcs", "(devel)", nil, "devel, go1.x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := &debug.BuildInfo{GoVersion: "go1.x", Main: debug.Module{Path: "github.com/sessfs/sessfs", Version: tt.version}, Settings: tt.settings}
			if got := versionOf(info); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestIsTerminal: nothing a cron job or a test sends output to is a
// terminal, /dev/null included (it is a character device, as a terminal
// is).
func TestIsTerminal(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, f := range []*os.File{file, w, null} {
		if IsTerminal(f) {
			t.Errorf("%s counts as a terminal", f.Name())
		}
	}
}

func TestRedactedWriter(t *testing.T) {
	const secret = "BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v+4="
	var b strings.Builder
	w := RedactedWriter(&b, keyline.GivenSecrets("--dir=/srv/x-"+secret))
	line := "warning: /srv/x-" + secret + " is not empty\n"
	if n, err := io.WriteString(w, line); n != len(line) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(line))
	}
	io.WriteString(w, "other /srv/y\n")
	if want := "warning: /srv/x-" + keyline.Redacted + " is not empty\nother /srv/y\n"; b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
}
