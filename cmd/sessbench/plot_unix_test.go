//go:build unix

package main_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/testenv"
)

// TestPlotStickyRefusedUpFront: --plot naming another user's file in a
// directory with the sticky bit (a shared /tmp) is refused before the
// run, exit 2: the directory takes the new file, but the rename over the
// old one is refused (EPERM), and that came at the end, after the whole
// measurement, its report printed and its chart lost. The check leaves
// no file behind.
func TestPlotStickyRefusedUpFront(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Skip(t, testenv.Root, "needs root to own the chart and run sessbench as another user")
	}
	top := t.TempDir()
	if err := os.Chmod(filepath.Dir(top), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	// The binary where uid 65534 may run it.
	bin := filepath.Join(top, "sessbench")
	copyFile(t, binary, bin, 0o755)
	shared := filepath.Join(top, "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	plot := filepath.Join(shared, "latency.svg")
	if err := os.WriteFile(plot, []byte("root's chart"), 0o644); err != nil {
		t.Fatal(err)
	}
	bench := filepath.Join(shared, "bench")
	if err := os.Mkdir(bench, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(bench, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"run", "--dir", bench, "--plot", plot}, tiny...)...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	want := "--plot " + plot + " belongs to uid 0"
	if code != 2 || !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "sticky bit") || stdout.String() != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 before any measurement, saying %q and why", code, stdout.String(), stderr.String(), want)
	}
	if b, err := os.ReadFile(plot); err != nil || string(b) != "root's chart" {
		t.Errorf("the chart: %q (%v), want root's, unchanged", b, err)
	}
	var names []string
	ents, _ := os.ReadDir(shared)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"bench", "latency.svg"}) {
		t.Errorf("the directory holds %q, want only bench and latency.svg", names)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
