package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisPassword is distinctive enough that finding it in any output means
// sessbench printed it.
const redisPassword = "pw-7f3a91c2"

// TestRedisPassword runs both subcommands against a Redis that asks for a
// password, as a managed Redis does: given in the environment as for
// redis-cli, or in a redis:// URL with a database, and never printed.
func TestRedisPassword(t *testing.T) {
	addr := startRedisWith(t, []string{"--requirepass", redisPassword}, func(o *redis.Options) { o.Password = redisPassword })
	runArgs := func(redisArg string) []string {
		return []string{"run", "--dir", benchDir(t), "--redis", redisArg, "--json", "--workload", "cycle",
			"--ops", "20", "--rounds", "1", "--warmup", "0", "--concurrency", "2", "--sessions", "4", "--size", "512", "--durability", "none"}
	}
	httpArgs := func(redisArg string) []string {
		return []string{"http", "--dir", benchDir(t), "--redis", redisArg, "--json", "--peers", "sessfs,scs-redis",
			"--duration", "50ms", "--rounds", "1", "--sessions", "2", "--concurrency", "2", "--hot", "2x5", "--size", "512"}
	}
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		code int
		want string // in stderr when code != 0
	}{
		{"run, no password", []string{"REDISCLI_AUTH="}, runArgs(addr), 1, "the server wants a password: set REDISCLI_AUTH"},
		{"run, wrong password", []string{"REDISCLI_AUTH=wrong-9d1e"}, runArgs(addr), 1, "refused the user name or password"},
		{"run, REDISCLI_AUTH", []string{"REDISCLI_AUTH=" + redisPassword}, runArgs(addr), 0, ""},
		{"run, URL with database", []string{"REDISCLI_AUTH="}, runArgs("redis://:" + redisPassword + "@" + addr + "/3"), 0, ""},
		{"run, no such database", []string{"REDISCLI_AUTH=" + redisPassword}, runArgs("redis://" + addr + "/99"), 1, "no such database"},
		{"http, no password", []string{"REDISCLI_AUTH="}, httpArgs(addr), 1, "the server wants a password"},
		{"http, URL", []string{"REDISCLI_AUTH="}, httpArgs("redis://default:" + redisPassword + "@" + addr + "/2"), 0, ""},
		{"http, REDISCLI_AUTH", []string{"REDISCLI_AUTH=" + redisPassword}, httpArgs(addr), 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, tt.args...)
			wantExit(t, r, tt.code, tt.want)
			for _, secret := range []string{redisPassword, "wrong-9d1e"} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("the password is in the output:\n%s\n%s", r.stdout, r.stderr)
				}
			}
		})
	}
	for db := range 16 {
		c := redis.NewClient(&redis.Options{Addr: addr, Password: redisPassword, DB: db})
		if n, err := c.DBSize(context.Background()).Result(); err != nil || n != 0 {
			t.Errorf("database %d holds %d keys after the runs (%v)", db, n, err)
		}
		c.Close()
	}
}

// TestRedisTLS runs both subcommands against a Redis that speaks only TLS,
// as ElastiCache with in-transit encryption does. The server certificate
// is checked against the system roots (SSL_CERT_FILE here).
func TestRedisTLS(t *testing.T) {
	dir := t.TempDir()
	ca, certFile, keyFile := selfSigned(t, dir)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	addr := startRedisWith(t, []string{"--port", "0", "--tls-port", "PORT", "--tls-cert-file", certFile,
		"--tls-key-file", keyFile, "--tls-ca-cert-file", certFile, "--tls-auth-clients", "no"},
		func(o *redis.Options) { o.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "localhost"} })
	_, port, _ := net.SplitHostPort(addr)
	url := "rediss://localhost:" + port
	trusted := []string{"SSL_CERT_FILE=" + certFile, "SSL_CERT_DIR=" + dir}
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"run", trusted, tinyRunArgs(t, url), 0, ""},
		{"http", trusted, tinyHTTPArgs(t, url), 0, ""},
		{"run, untrusted certificate", []string{"SSL_CERT_FILE=" + filepath.Join(dir, "none.pem"), "SSL_CERT_DIR=" + filepath.Join(dir, "none")},
			[]string{"run", "--dir", benchDir(t), "--redis", url, "--ops", "1", "--size", "512"}, 1, "certificate"},
		{"run, plain client", nil, []string{"run", "--dir", benchDir(t), "--redis", addr, "--ops", "1", "--size", "512"}, 1, "if it wants TLS, give rediss://" + addr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, tt.args...)
			wantExit(t, r, tt.code, tt.want)
			if tt.code == 0 && !strings.Contains(r.stdout, "rediss://localhost:"+port) {
				t.Errorf("the report does not say it measured over TLS:\n%s", r.stdout)
			}
		})
	}
}

// selfSigned writes a self-signed certificate for localhost and its key.
func selfSigned(t *testing.T, dir string) (*x509.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, certFile, keyFile
}

// TestStrayREDISCLIAUTH: REDISCLI_AUTH exported for another server (a
// developer who uses redis-cli against a managed Redis) must not break a
// run against a Redis without a password, the documented local setup:
// redis-cli itself goes on when that AUTH is refused.
func TestStrayREDISCLIAUTH(t *testing.T) {
	addr := startRedis(t)
	env := []string{"REDISCLI_AUTH=for-another-server"}
	for _, args := range [][]string{
		tinyRunArgs(t, addr),
		tinyHTTPArgs(t, addr),
	} {
		t.Run(args[0], func(t *testing.T) {
			if r := run(t, env, args...); r.code != 0 {
				t.Errorf("exit %d with REDISCLI_AUTH set for another server: %s", r.code, strings.TrimSpace(r.stderr))
			}
		})
	}
}

// wantExit checks a run's exit code and, for a failure, that its stderr
// says want.
func wantExit(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d: %s", r.code, code, r.stderr)
	}
	if code != 0 && !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q, want it to say %q", r.stderr, want)
	}
}

// TestRedisPasswordNotWanted: a password given for a Redis that has none,
// in the URL or in REDISCLI_AUTH, is dropped by both subcommands alike,
// which go on and say so, as redis-cli goes on after warning that its AUTH
// was refused. run's client (go-redis) logs in with HELLO, which such a
// server accepts, and went on without a word; http's (redigo) with AUTH,
// which it refuses, and failed the run. Neither prints the password, in
// its output, its errors or its chart.
func TestRedisPasswordNotWanted(t *testing.T) {
	addr := startRedis(t)
	dir := t.TempDir()
	runArgs := func(redisArg, plot string) []string { return tinyRunArgs(t, redisArg, "--plot", plot) }
	httpArgs := func(redisArg, plot string) []string { return tinyHTTPArgs(t, redisArg, "--plot", plot) }
	url := "redis://:" + redisPassword + "@" + addr
	for _, tt := range []struct {
		name string
		env  []string
		args func(redisArg, plot string) []string
		addr string
		note string
	}{
		{"run, URL", []string{"REDISCLI_AUTH="}, runArgs, url, "the password in the URL"},
		{"http, URL", []string{"REDISCLI_AUTH="}, httpArgs, url, "the password in the URL"},
		{"run, REDISCLI_AUTH", []string{"REDISCLI_AUTH=" + redisPassword}, runArgs, addr, "the password in $REDISCLI_AUTH"},
		{"http, REDISCLI_AUTH", []string{"REDISCLI_AUTH=" + redisPassword}, httpArgs, addr, "the password in $REDISCLI_AUTH"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plot := filepath.Join(dir, strings.NewReplacer(" ", "", ",", "-", "$", "").Replace(tt.name)+".svg")
			r := run(t, tt.env, tt.args(tt.addr, plot)...)
			wantExit(t, r, 0, "")
			want := "the server at " + addr + " has no password: going on without " + tt.note
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr %q, want it to say %q", r.stderr, want)
			}
			chart, err := os.ReadFile(plot)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(r.stdout+r.stderr+string(chart), redisPassword) {
				t.Errorf("the password is in the output or the chart:\n%s\n%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestRedisNoAuthCommand: a server whose AUTH is disabled or renamed
// (some managed Redis services disable commands), HELLO left, is met
// alike by both subcommands. A password it has no use for (REDISCLI_AUTH
// exported for another server, a URL for a server that no longer asks for
// one) is dropped, and both go on and say so, as for a server whose AUTH
// refuses it (TestRedisPasswordNotWanted): run's client (go-redis) logs
// in with HELLO, which took it as the default user's, and went on without
// a word; http's (redigo) with AUTH, and failed the run, telling the user
// to leave out a password that was not in the way of anything. A server
// that wants a password can be logged in to with HELLO alone: run goes
// on, and http, which cannot, says why. With AUTH and HELLO both gone
// (TestRedisPasswordNotEchoed), only a server that wants no password
// can be used. No output shows the password.
func TestRedisNoAuthCommand(t *testing.T) {
	noAuth := []string{"--rename-command", "AUTH", ""}
	open := startRedisWith(t, noAuth, nil)
	closed := startRedisWith(t, append([]string{"--requirepass", redisPassword}, noAuth...), func(o *redis.Options) { o.Password = redisPassword })
	neither := startRedisWith(t, append([]string{"--rename-command", "HELLO", ""}, noAuth...), nil)
	runArgs := func(redisArg string) []string { return tinyRunArgs(t, redisArg) }
	httpArgs := func(redisArg string) []string { return tinyHTTPArgs(t, redisArg) }
	url := func(addr string) string { return "redis://:" + redisPassword + "@" + addr }
	env := []string{"REDISCLI_AUTH=" + redisPassword}
	none := []string{"REDISCLI_AUTH="}
	dropped := func(addr, from string) string {
		return "the server at " + addr + " has no AUTH command (disabled or renamed there) and wants no password: going on without the password in " + from
	}
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		code int
		want string // in stderr
	}{
		{"run, no password", none, runArgs(open), 0, ""},
		{"http, no password", none, httpArgs(open), 0, ""},
		{"run, URL", none, runArgs(url(open)), 0, dropped(open, "the URL")},
		{"http, URL", none, httpArgs(url(open)), 0, dropped(open, "the URL")},
		{"run, REDISCLI_AUTH", env, runArgs(open), 0, dropped(open, "$REDISCLI_AUTH")},
		{"http, REDISCLI_AUTH", env, httpArgs(open), 0, dropped(open, "$REDISCLI_AUTH")},
		{"run, password wanted", env, runArgs(closed), 0, ""},
		{"http, password wanted", env, httpArgs(closed), 1, "the server wants a password but has no AUTH command (disabled or renamed there) to log in with: sessbench run logs in with HELLO where the server has it, http's scs-redis peer (redigo) with AUTH alone"},
		{"run, neither AUTH nor HELLO", env, runArgs(neither), 0, dropped(neither, "$REDISCLI_AUTH")},
		{"http, neither AUTH nor HELLO", none, httpArgs(url(neither)), 0, dropped(neither, "the URL")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, tt.args...)
			wantExit(t, r, tt.code, tt.want)
			if tt.code == 0 && !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q, want it to say %q", r.stderr, tt.want)
			}
			if tt.want == "" && strings.Contains(r.stderr, "password") {
				t.Errorf("stderr %q, want no word of a password", r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, redisPassword) {
				t.Errorf("the password is in the output:\n%s\n%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestRedisPasswordNotEchoed: a server that cannot take the password in
// the way a client sends it answers that it does not know the command,
// and Redis 6.2 and later quote the command's first arguments in that
// answer ("ERR unknown command 'AUTH', with args beginning with:
// 'PASSWORD'"): sessbench printed that answer, the password in it. Here
// AUTH and HELLO are disabled (rename-command to ""), as some managed
// Redis services disable commands: http's client (redigo) logs in with
// AUTH, run's (go-redis) with HELLO, then AUTH. The password is an ACL
// user's: a default user's password is dropped for a server without
// AUTH, and the run goes on (TestRedisNoAuthCommand).
func TestRedisPasswordNotEchoed(t *testing.T) {
	addr := startRedisWith(t, []string{"--rename-command", "AUTH", "", "--rename-command", "HELLO", ""}, nil)
	runArgs := func(redisArg string) []string { return tinyRunArgs(t, redisArg) }
	httpArgs := func(redisArg string) []string { return tinyHTTPArgs(t, redisArg) }
	url := "redis://app:" + redisPassword + "@" + addr
	for _, tt := range []struct {
		name string
		env  []string
		args []string
	}{
		{"run, URL", []string{"REDISCLI_AUTH="}, runArgs(url)},
		{"run, REDISCLI_AUTH", []string{"REDISCLI_AUTH=" + redisPassword}, runArgs("redis://app:@" + addr)},
		{"http, URL", []string{"REDISCLI_AUTH="}, httpArgs(url)},
		{"http, REDISCLI_AUTH", []string{"REDISCLI_AUTH=" + redisPassword}, httpArgs("redis://app:@" + addr)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, tt.args...)
			wantExit(t, r, 1, "the server has no AUTH command")
			if strings.Contains(r.stdout+r.stderr, redisPassword) {
				t.Errorf("the password is in the output:\n%s\n%s", r.stdout, r.stderr)
			}
		})
	}
}

// tinyRunArgs and tinyHTTPArgs are the arguments of the smallest run and
// http against the Redis at redisArg (an address or a URL) that log in and
// write: what the tests of the Redis login need, and no more.
func tinyRunArgs(t *testing.T, redisArg string, extra ...string) []string {
	return append([]string{"run", "--dir", benchDir(t), "--redis", redisArg, "--json", "--workload", "cycle",
		"--ops", "20", "--rounds", "1", "--warmup", "0", "--concurrency", "1", "--sessions", "2", "--size", "512", "--durability", "none"}, extra...)
}

func tinyHTTPArgs(t *testing.T, redisArg string, extra ...string) []string {
	return append([]string{"http", "--dir", benchDir(t), "--redis", redisArg, "--json", "--peers", "sessfs,scs-redis",
		"--duration", "50ms", "--rounds", "1", "--sessions", "2", "--concurrency", "1", "--hot", "0x0", "--size", "512"}, extra...)
}
