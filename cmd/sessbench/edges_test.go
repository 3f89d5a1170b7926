package main_test

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tiny is the smallest useful measurement.
var tiny = []string{"--ops", "4", "--rounds", "1", "--warmup", "0", "--concurrency", "1", "--sessions", "2", "--workload", "cycle"}

// TestPlotFailureKeepsResults: a --plot path that passes the up-front
// check but cannot be written at the end (here: a directory named x.svg)
// must not throw away the run's results: the report is printed first.
func TestPlotFailureKeepsResults(t *testing.T) {
	d := benchDir(t)
	plot := filepath.Join(t.TempDir(), "x.svg")
	if err := os.Mkdir(plot, 0o755); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, append([]string{"run", "--dir", d, "--size", "1KiB", "--plot", plot}, tiny...)...)
	refusedEarly := r.code == 2
	printed := strings.Contains(r.stdout, "TARGET")
	if !refusedEarly && !printed {
		t.Errorf("exit %d, stdout %q, stderr %q: the run was measured and its results thrown away", r.code, r.stdout, r.stderr)
	}
}

// TestSizeAboveStoreLimit: --size accepts up to 64MiB, beyond fsstore's
// default 1 MiB limit, which the --dir targets raise to the largest size.
func TestSizeAboveStoreLimit(t *testing.T) {
	d := benchDir(t)
	r := run(t, nil, append([]string{"run", "--dir", d, "--size", "2MiB"}, tiny...)...)
	if r.code != 0 {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
}

// TestHTTPSize1MiB: "sessbench http --size 1MiB" works at the sessfs
// peer, whose encoded session is larger than the store's 1 MiB default
// limit.
func TestHTTPSize1MiB(t *testing.T) {
	d := benchDir(t)
	r := run(t, nil, "http", "--dir", d, "--peers", "sessfs,scs-mem", "--size", "1MiB", "--duration", "20ms", "--rounds", "1", "--sessions", "1", "--concurrency", "1", "--hot", "0x0")
	if r.code != 0 {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
}

// TestHTTPPlotFailureKeepsResults: as for "sessbench run", a --plot file
// that passes the up-front check but cannot be written at the end must
// not throw away the measured results of "sessbench http".
func TestHTTPPlotFailureKeepsResults(t *testing.T) {
	d := benchDir(t)
	plot := filepath.Join(t.TempDir(), "x.svg")
	if err := os.Mkdir(plot, 0o755); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "http", "--dir", d, "--peers", "sessfs,scs-mem", "--size", "1KiB", "--duration", "20ms", "--rounds", "1",
		"--sessions", "1", "--concurrency", "1", "--hot", "0x0", "--plot", plot)
	refusedEarly := r.code == 2
	printed := strings.Contains(r.stdout, "| peer |")
	if !refusedEarly && !printed {
		t.Errorf("exit %d, stdout %q, stderr %q: the run was measured and its results thrown away", r.code, r.stdout, r.stderr)
	}
}

// TestHTTPSizeAboveStoreMax: a --size whose session, once encoded, the
// sessfs peer's store cannot take (fsstore allows at most 64 MiB) is a
// usage error before anything is measured, not a failed request.
func TestHTTPSizeAboveStoreMax(t *testing.T) {
	d := benchDir(t)
	r := run(t, nil, "http", "--dir", d, "--peers", "sessfs,scs-mem", "--size", "64MiB", "--duration", "20ms", "--rounds", "1", "--sessions", "1", "--concurrency", "1", "--hot", "0x0")
	if r.code != 2 || !strings.Contains(r.stderr, "--size 64MiB") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming --size 64MiB", r.code, r.stderr)
	}
}

// TestTargetNamesUnique: every target has a name of its own in the
// report, whatever the directories are called: rows, ratios and the
// verdict tell the targets apart by name.
func TestTargetNamesUnique(t *testing.T) {
	for _, tt := range []struct {
		name  string
		redis bool
		dirs  func(d string) []string
	}{
		{"a name like a repeat's", false, func(d string) []string { return []string{d, d + "#2", d} }},
		{"a directory called redis", true, func(string) []string { return []string{"redis"} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := benchDir(t)
			if err := os.Mkdir(d+"#2", 0o755); err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(d + "#2")
			if err := os.Mkdir(filepath.Join(d, "redis"), 0o755); err != nil {
				t.Fatal(err)
			}
			args := []string{"run", "--json"}
			if tt.redis {
				args = append(args, "--redis", startRedis(t))
			}
			for _, dir := range tt.dirs(d) {
				args = append(args, "--dir", dir)
			}
			cmd := exec.Command(binary, append(args, tiny...)...)
			cmd.Dir = d
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var rep struct{ Targets []struct{ Name string } }
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, tg := range rep.Targets {
				if seen[tg.Name] {
					t.Errorf("two targets named %q: %+v", tg.Name, rep.Targets)
				}
				seen[tg.Name] = true
			}
		})
	}
}

// TestHTTPHotBounded: a --hot beyond its bounds is a usage error before
// anything is measured; it used to start a goroutine per client and keep a
// value per increment, with no bound.
func TestHTTPHotBounded(t *testing.T) {
	r := run(t, nil, "http", "--peers", "scs-mem", "--size", "1KiB", "--duration", "20ms", "--rounds", "1", "--sessions", "1", "--concurrency", "1", "--hot", "1000000x1000000")
	if r.code != 2 || !strings.Contains(r.stderr, "hot 1000000x1000000") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming hot 1000000x1000000", r.code, r.stderr)
	}
}

// TestRedisNotRedis: a --redis address where something else listens says
// so. A server that took the connection and never answered was
// "unreachable: i/o timeout", and one that answered in another protocol
// was go-redis's "can't parse map reply", neither of which tells the
// operator that the address or the port is wrong. sessbench http's
// scs-redis peer, on redigo rather than go-redis, waited for ever on a
// silent server and passed redigo's "unexpected response line (possible
// server error ...)" on for another protocol.
func TestRedisNotRedis(t *testing.T) {
	d := benchDir(t)
	runArgs := append([]string{"run", "--dir", d}, tiny...)
	httpArgs := []string{"http", "--peers", "scs-redis", "--size", "1KiB", "--duration", "20ms", "--rounds", "1", "--sessions", "1", "--concurrency", "1", "--hot", "0x0"}
	for _, tt := range []struct {
		name   string
		args   []string
		answer []byte // nil: never answer
		want   string
	}{
		{"silent", runArgs, nil, "took the connection but did not answer"},
		{"another protocol", runArgs, []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), "not a Redis server"},
		{"scs-redis silent", httpArgs, nil, "took the connection but did not answer"},
		{"scs-redis another protocol", httpArgs, []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), "not a Redis server"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var conns []net.Conn
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					conns = append(conns, c)
					if tt.answer != nil {
						c.Read(make([]byte, 512))
						c.Write(tt.answer)
					}
				}
			}()
			r := run(t, nil, append(slices.Clone(tt.args), "--redis", l.Addr().String())...)
			l.Close()
			<-done
			for _, c := range conns {
				c.Close()
			}
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 saying %q", r.code, r.stderr, tt.want)
			}
		})
	}
}
