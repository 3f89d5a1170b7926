package httppeers

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// quick is the shortest run of sessbench http a test needs: one peer in
// process memory unless the case names others, one session, milliseconds.
var quick = []string{"--size", "16", "--duration", "2ms", "--rounds", "1", "--concurrency", "1", "--sessions", "1"}

// runCmd runs sessbench http with args and returns what it printed, the
// exit code its error gives, and the error.
func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &cmdutil.IOStreams{Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }}
	cmd := NewCmdHTTP(io)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), cmdutil.ExitCode(err), err
}

// TestHTTPRefusesFlagsForNoPeer: a flag that configures only peers not
// measured is refused as a usage error (exit 2), as --title without
// --plot is, before anything is opened or written. --dir with only the
// scs peers was ignored silently: the operator who pointed it at the
// shared mount got a report measured in process memory and Redis alone.
func TestHTTPRefusesFlagsForNoPeer(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"--dir, scs only", []string{"--peers", "scs-mem", "--dir", dir}, "--dir"},
		{"--durability, no sessfs", []string{"--peers", "scs-mem,gorilla-fs", "--durability", "full"}, "--durability"},
		{"--redis, no scs-redis", []string{"--peers", "scs-mem", "--redis", "127.0.0.1:1"}, "--redis"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, code, err := runCmd(t, append(tt.args, quick...)...)
			if code != cmdutil.ExitUsage || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("exit %d (%v), want %d naming %s", code, err, cmdutil.ExitUsage, tt.want)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a refused run wrote in --dir: %v", ents)
	}
}

// TestHTTPHotBothOrNeither: --hot 0x5 or 5x0 asked for a lost-update test
// and skipped it without a word; 0x0 is the way to ask for none.
func TestHTTPHotBothOrNeither(t *testing.T) {
	for _, hot := range []string{"0x5", "5x0"} {
		_, _, code, err := runCmd(t, append([]string{"--peers", "scs-mem", "--hot", hot}, quick...)...)
		if code != cmdutil.ExitUsage || err == nil || !strings.Contains(err.Error(), "--hot "+hot) {
			t.Errorf("--hot %s: exit %d (%v), want %d naming it", hot, code, err, cmdutil.ExitUsage)
		}
	}
	if _, _, _, err := runCmd(t, append([]string{"--peers", "scs-mem", "--hot", "0x0"}, quick...)...); err != nil {
		t.Errorf("--hot 0x0: %v", err)
	}
}

// TestHTTPCPUProfileCheckedFirst: a --cpuprofile that cannot be written
// is refused as a usage error (exit 2) before any peer is opened, as a
// --plot file that cannot be written is: it failed only once the peers
// were open and their sessions written, with exit 1.
func TestHTTPCPUProfileCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "missing", "cpu.prof")
	_, _, code, err := runCmd(t, append([]string{"--peers", "sessfs", "--dir", dir, "--cpuprofile", prof}, quick...)...)
	if code != cmdutil.ExitUsage || err == nil || !strings.Contains(err.Error(), "--cpuprofile") {
		t.Fatalf("exit %d (%v), want %d naming --cpuprofile", code, err, cmdutil.ExitUsage)
	}
}

// TestHTTPUnwritableDir: a --dir that cannot be written is named as such
// by each peer that writes there, as sessbench run names it. The peers
// gave the bare mkdir's error ("sessfs peer: mkdir ...: read-only file
// system"). /proc stands for a read-only mount: sessbench http's room
// check, which a read-only mount with free space passes, refuses /proc
// for its 0 bytes free, so the peers are opened here directly.
func TestHTTPUnwritableDir(t *testing.T) {
	for _, peer := range []string{PeerSessfs, PeerGorillaFS} {
		p, err := OpenPeer(context.Background(), peer, PeerOptions{Dir: "/proc"})
		if err == nil {
			p.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "--dir /proc: not writable") {
			t.Errorf("%s: %v, want --dir /proc: not writable", peer, err)
		}
	}
}

// TestHTTPPlotSaysWrote: sessbench http says where it wrote the chart,
// as sessbench run does.
func TestHTTPPlotSaysWrote(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "http.svg")
	_, stderr, _, err := runCmd(t, append([]string{"--peers", "scs-mem", "--plot", plot}, quick...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "wrote "+plot+"\n") {
		t.Errorf("stderr lacks wrote %s:\n%s", plot, stderr)
	}
}

// TestHTTPNoDirPeerNoTempDir: a run whose peers keep nothing in a
// directory (scs-mem, scs-redis) makes no temporary directory. It made one
// all the same, and failed where $TMPDIR could not be written (a
// read-only container), though it would have written nothing there.
func TestHTTPNoDirPeerNoTempDir(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	if _, _, code, err := runCmd(t, append([]string{"--peers", "scs-mem"}, quick...)...); err != nil {
		t.Errorf("exit %d: %v", code, err)
	}
}
