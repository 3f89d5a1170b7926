package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/storetest"
)

// mainEnv, set to 1, makes the test binary run main instead of the tests,
// so that a test can run the command and read its exit code.
const mainEnv = "SESSFS_APP_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		os.Exit(0)
	}
	storetest.ExitIfUnsupported("examples/app") // the app opens a store
	os.Exit(m.Run())
}

// TestHelpExitsZero: -h prints the usage and exits 0, as Go's flag package
// does for a command line that asks for help (ExitOnError); the app exited
// 2, the code of a usage error, so a script or a container check running
// it with -h saw a failure.
func TestHelpExitsZero(t *testing.T) {
	for _, arg := range []string{"-h", "-help"} {
		cmd := exec.Command(os.Args[0], arg)
		cmd.Env = append(os.Environ(), mainEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Usage of app") {
			t.Errorf("app %s: %v, output %q; want exit 0 and the usage", arg, err, out)
		}
	}
	cmd := exec.Command(os.Args[0], "-no-such-flag")
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("app -no-such-flag: %v; want exit 2", err)
	}
}

// TestServes runs the app as its container does and checks the endpoints
// the Kubernetes manifests point at.
func TestServes(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-dir", filepath.Join(t.TempDir(), "store"), "-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0", "-insecure-cookie", "-drain", "0"}, pw)
		pw.Close()
	}()
	br := bufio.NewReader(pr)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v (run: %v)", err, <-done)
	}
	mline, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(mline, "metrics on ") {
		t.Fatalf("no metrics line: %q, %v", mline, err)
	}
	go io.Copy(io.Discard, br)
	base := "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	metrics := "http://" + strings.TrimSpace(strings.TrimPrefix(mline, "metrics on "))
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: time.Minute}
	call := func(method, url string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		method, url string
		code        int
		body        string
	}{
		{"GET", base + "/healthz", 200, "ok"},
		{"POST", base + "/visit", 200, "1\n"},
		{"POST", base + "/visit", 200, "2\n"},
		{"GET", base + "/", 200, "visits: 2\n"},
		{"GET", metrics + "/metrics", 200, "sessfs_operations_total"},
		// Not on the users' listener: the load balancer would publish it.
		{"GET", base + "/metrics", 404, ""},
	}
	for _, tt := range tests {
		code, body := call(tt.method, tt.url)
		if code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tt.method, tt.url, code, body, tt.code, tt.body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after SIGTERM: %v", err)
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), []string{"-version"}, &out); err != nil || !strings.HasPrefix(out.String(), "app ") {
		t.Errorf("-version: %q %v", out.String(), err)
	}
	if err := run(t.Context(), nil, io.Discard); err == nil {
		t.Error("no -dir accepted")
	}
}
