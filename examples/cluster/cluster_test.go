package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/internal/testenv"
)

// mainEnv makes the test binary act as the cluster command: the test
// starts it as the supervisor, and the supervisor re-executes it (with the
// variable inherited) as each app server.
const mainEnv = "SESSFS_CLUSTER_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startCluster runs the cluster command with n servers and returns the
// proxy URL and the session directory. The cluster is stopped (SIGTERM)
// when the test ends.
func startCluster(t *testing.T, n int) (string, string) {
	t.Helper()
	proxy, dir, _ := startClusterOutput(t, n)
	return proxy, dir
}

// startClusterOutput is startCluster that also hands over the lines the
// cluster prints after the proxy URL (a buffer's worth: the rest are
// dropped, not waited for).
func startClusterOutput(t *testing.T, n int) (proxy, dir string, lines <-chan string) {
	t.Helper()
	dir = t.TempDir()
	later := make(chan string, 100)
	cmd := exec.Command(os.Args[0], "-n", strconv.Itoa(n), "-addr", "127.0.0.1:0", "-dir", dir)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found, done := make(chan string, 1), make(chan struct{})
	go func() {
		defer close(done)
		defer close(found)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			t.Logf("cluster: %s", sc.Text())
			if u, ok := strings.CutPrefix(sc.Text(), "proxy: "); ok {
				found <- u
				continue
			}
			select {
			case later <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		// Wait for the reader before cmd.Wait closes the pipe, and before
		// the test ends (it logs).
		<-done
		cmd.Wait()
	})
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatal("cluster exited without printing the proxy URL")
		}
		return u, dir, later
	case <-time.After(60 * time.Second):
		t.Fatal("cluster did not print the proxy URL within 60s")
	}
	return "", "", nil
}

var (
	serverRe = regexp.MustCompile(`id="server">(\d+)<`)
	pidRe    = regexp.MustCompile(`id="pid">(\d+)<`)
	countRe  = regexp.MustCompile(`id="count">(\d+)<`)
)

type visit struct {
	server, pid string
	count       int
}

func parsePage(t *testing.T, page string) visit {
	t.Helper()
	s, p, c := serverRe.FindStringSubmatch(page), pidRe.FindStringSubmatch(page), countRe.FindStringSubmatch(page)
	if s == nil || p == nil || c == nil {
		t.Fatalf("unexpected page:\n%s", page)
	}
	n, _ := strconv.Atoi(c[1])
	return visit{s[1], p[1], n}
}

func get(t *testing.T, client *http.Client, u string) string {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return readOK(t, resp, "GET "+u)
}

// post sends an empty form (the demo's log in and log out buttons).
func post(t *testing.T, client *http.Client, u string) string {
	t.Helper()
	resp, err := client.PostForm(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return readOK(t, resp, "POST "+u)
}

func readOK(t *testing.T, resp *http.Response, what string) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", what, resp.StatusCode, b)
	}
	return string(b)
}

// sessionFiles counts the files under the store's data directory.
func sessionFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}

func TestClusterEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	proxy, _ := startCluster(t, 3)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	// Log in; the redirect to the page is the first counted visit.
	want := 1
	if v := parsePage(t, post(t, client, proxy+"login")); v.count != want {
		t.Fatalf("after log in: counter %d, want %d", v.count, want)
	}
	pids := map[string]map[string]bool{} // server -> pids seen
	drive := func(requests int) {
		t.Helper()
		for range requests {
			want++
			v := parsePage(t, get(t, client, proxy))
			if v.count != want {
				t.Fatalf("request %d answered by server %s: counter %d, want %d", want, v.server, v.count, want)
			}
			if pids[v.server] == nil {
				pids[v.server] = map[string]bool{}
			}
			pids[v.server][v.pid] = true
		}
	}
	drive(9)
	if len(pids) != 3 {
		t.Fatalf("answered by servers %v, want all 3", pids)
	}
	// Kill server 2 (SIGKILL) and start a new process in its place.
	if msg := get(t, client, proxy+"_restart?server=2"); !strings.Contains(msg, "restarted") {
		t.Fatalf("restart: %s", msg)
	}
	drive(9)
	if len(pids["2"]) != 2 {
		t.Errorf("server 2 answered from pids %v, want the old and the new process", pids["2"])
	}
	// A new user starts anonymous: the counter is per session, not global.
	other := &http.Client{Timeout: 30 * time.Second}
	if v := parsePage(t, get(t, other, proxy)); v.count != 0 {
		t.Errorf("a client without cookies got counter %d", v.count)
	}
	// Log out ends the count.
	if v := parsePage(t, post(t, client, proxy+"logout")); v.count != 0 {
		t.Errorf("after log out: counter %d, want 0", v.count)
	}
}

// TestAnonymousVisitsWriteNothing: what people copy from the demo must not
// write a session file per anonymous request, and must not log in or out
// on a GET (a link, a prefetch, a crawler).
func TestAnonymousVisitsWriteNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	proxy, dir := startCluster(t, 3)
	anonymous := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 30 {
		resp, err := anonymous.Get(proxy)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /: status %d", resp.StatusCode)
		}
		if c := resp.Header.Values("Set-Cookie"); len(c) != 0 {
			t.Fatalf("anonymous visit got cookies %q", c)
		}
	}
	for _, path := range []string{"login", "logout"} {
		resp, err := anonymous.Get(proxy + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /%s: status %d, want 405", path, resp.StatusCode)
		}
	}
	if n := sessionFiles(t, dir); n != 0 {
		t.Errorf("%d session files after anonymous visits, want 0", n)
	}
	jar, _ := cookiejar.New(nil)
	user := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	post(t, user, proxy+"login")
	if n := sessionFiles(t, dir); n != 1 {
		t.Errorf("%d session files after one log in, want 1", n)
	}
}

// chromium finds a Chromium binary: $SESSFS_CHROMIUM, else chromium or
// chromium-browser on PATH.
func chromium() string {
	if p := os.Getenv("SESSFS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser logs in with headless Chromium (a local page that submits
// the demo's log in form, as a click would), then loads the demo page again
// with the same profile, so the cookie persists from one run to the next.
func TestBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		testenv.Skip(t, testenv.Chromium, "no Chromium: apt-get install -y chromium (or set SESSFS_CHROMIUM to a Chromium binary)")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	proxy, _ := startCluster(t, 3)
	profile := t.TempDir()
	login := filepath.Join(profile, "login.html")
	form := `<!doctype html><form method="post" action="` + proxy + `login"></form><script>document.forms[0].submit()</script>`
	if err := os.WriteFile(login, []byte(form), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(u string) visit {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin,
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			// Virtual time lets the form's navigation finish before the
			// DOM is dumped.
			"--virtual-time-budget=10000",
			"--user-data-dir="+profile, "--dump-dom", u)
		cmd.Env = append(os.Environ(), "HOME="+filepath.Join(profile, "home"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		return parsePage(t, string(out))
	}
	first, second := load("file://"+login), load(proxy)
	if first.count != 1 || second.count != 2 {
		t.Errorf("browser saw counters %d then %d, want 1 then 2", first.count, second.count)
	}
	if first.server == second.server {
		t.Errorf("both loads answered by server %s; round robin should alternate", first.server)
	}
	t.Logf("browser: server %s (count %d), then server %s (count %d)", first.server, first.count, second.server, second.count)
}

// TestRestartSaysSo: a restart, by SIGHUP (every server in turn) or by
// GET /_restart, prints which server it restarted and its processes, as
// the startup lines promise. A SIGHUP restarted them in silence: whoever
// sent it could not tell that anything had happened, or when it was done.
func TestRestartSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	proxy, _, lines := startClusterOutput(t, 2)
	// The supervisor's pid, from the startup line that names it.
	sighupTo := regexp.MustCompile(`send SIGHUP to pid (\d+)`)
	pid := 0
	for pid == 0 {
		select {
		case l := <-lines:
			if m := sighupTo.FindStringSubmatch(l); m != nil {
				pid, _ = strconv.Atoi(m[1])
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the cluster did not print its pid for SIGHUP within 60s")
		}
	}
	sup, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"server 1 restarted": true, "server 2 restarted": true}
	deadline := time.After(60 * time.Second)
	for len(want) > 0 {
		select {
		case l := <-lines:
			for w := range want {
				if strings.HasPrefix(l, w+" (SIGHUP): pid ") {
					delete(want, w)
				}
			}
		case <-deadline:
			t.Fatalf("after SIGHUP, the cluster did not print %v within 60s", want)
		}
	}
	get(t, http.DefaultClient, proxy+"_restart?server=2")
	select {
	case l := <-lines:
		if !strings.HasPrefix(l, "server 2 restarted (GET /_restart): pid ") {
			t.Errorf("after GET /_restart?server=2 the cluster printed %q", l)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("after GET /_restart?server=2, the cluster printed nothing within 60s")
	}
}

// TestHelpExitsZero: -h prints the usage and exits 0, as Go's flag package
// does for a command line that asks for help (ExitOnError); the command
// exited 2, the code of a usage error, so a script or a container check
// running it with -h saw a failure.
func TestHelpExitsZero(t *testing.T) {
	for _, arg := range []string{"-h", "-help"} {
		cmd := exec.Command(os.Args[0], arg)
		cmd.Env = append(os.Environ(), mainEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Usage of cluster") {
			t.Errorf("cluster %s: %v, output %q; want exit 0 and the usage", arg, err, out)
		}
	}
	cmd := exec.Command(os.Args[0], "-no-such-flag")
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("cluster -no-such-flag: %v; want exit 2", err)
	}
}
