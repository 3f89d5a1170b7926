// Package redisaddr parses the --redis flag of sessbench: where a Redis
// server is and how to log in to it.
//
// Benchmarks are often pointed at the Redis a fleet would otherwise use
// (ElastiCache, Memorystore, a managed Redis), which asks for a password
// and TLS; a bare host:port only reaches a local test server. The password
// can come from the environment, as redis-cli takes it, so that it stays
// out of the process list and shell history.
package redisaddr

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// PasswordEnv names the environment variable that holds the password when
// the address carries none: redis-cli's own, so one export serves both.
const PasswordEnv = "REDISCLI_AUTH"

// Server is where and how to reach a Redis server.
type Server struct {
	Addr     string // host:port
	Username string // ACL user; empty is Redis's "default" user
	Password string
	DB       int  // logical database (SELECT), 0 by default
	TLS      bool // rediss://: TLS, server certificate checked against the system roots
	// PasswordFromEnv: Password came from PasswordEnv, not the address.
	PasswordFromEnv bool
	// NoAuthCommand: the server answered that it has no AUTH command, and
	// the password was dropped for that (see WithoutPassword).
	NoAuthCommand bool
}

// WithoutPassword returns srv without its password, and the note that
// says so, when err is its server's refusal of a password it has none of
// (see NoPasswordConfigured), or, for the default user, its answer that
// it has no AUTH command (disabled or renamed, as some managed services
// do; the server returned then has NoAuthCommand set); ok is false for
// any other error. Both clients then ask again without one, and the run
// goes on, as redis-cli goes on after warning that its AUTH was refused:
// the password may be in REDISCLI_AUTH for another server, or in a URL
// for a server that no longer asks for one. The note, for the caller to
// show once the server took the client without a password, never shows
// the password. A server without AUTH that wants a password fails the
// client's second try with NOAUTH, which Explain then words.
func WithoutPassword(srv Server, err error) (bare Server, note string, ok bool) {
	if srv.Password == "" || err == nil {
		return srv, "", false
	}
	from := "the URL"
	if srv.PasswordFromEnv {
		from = "$" + PasswordEnv
	}
	switch {
	case NoPasswordConfigured(err):
		note = fmt.Sprintf("--redis: the server at %s has no password: going on without the password in %s", srv, from)
	case srv.Username == "" && unknownAuth(err.Error()):
		note = fmt.Sprintf("--redis: the server at %s has no AUTH command (disabled or renamed there) and wants no password: going on without the password in %s", srv, from)
		srv.NoAuthCommand = true
	default:
		return srv, "", false
	}
	srv.Password, srv.PasswordFromEnv = "", false
	return srv, note, true
}

// Parse reads host:port, redis://[[user]:password@]host[:port][/db] or the
// same with rediss:// for TLS. A port left out of a URL is 6379. As for
// redis-cli, user info without a colon is the password
// (redis://PASSWORD@host); redis://user:@host names a user whose password
// comes from the environment, and is refused when it has none there. getenv (os.Getenv in the program) supplies
// PasswordEnv when the address has no password. Errors never show the
// address's user info.
func Parse(s string, getenv func(string) string) (Server, error) {
	var srv Server
	if !strings.Contains(s, "://") {
		host, port, err := net.SplitHostPort(s)
		if err != nil || !validHost(host, strings.HasPrefix(s, "[")) || !validPort(port) {
			// Not quoted: a mistyped URL may hold a password.
			return Server{}, errors.New("not host:port, redis://host:port or rediss://host:port")
		}
		srv.Addr = s
	} else {
		// The user info ends at the first "@", as for redis-cli, before
		// the rest is read as a URL: a password may hold "/", "?" or "#",
		// which would end a URL's user info early and put the password
		// in the host or path (and in the errors that show them).
		scheme, rest, _ := strings.Cut(s, "://")
		userinfo, hostpart, hasUser := strings.Cut(rest, "@")
		if !hasUser {
			hostpart = rest
		}
		u, err := url.Parse(scheme + "://" + hostpart)
		if err != nil {
			// url.Error quotes the whole address.
			return Server{}, errors.New("not a valid URL")
		}
		shown := u.Scheme + "://" + u.Host
		if hasUser {
			shown = u.Scheme + "://xxxxx@" + u.Host
		}
		fail := func(format string, args ...any) (Server, error) {
			return Server{}, fmt.Errorf("%s: "+format, append([]any{shown}, args...)...)
		}
		if hasUser {
			user, pw, hasColon := strings.Cut(userinfo, ":")
			if !hasColon {
				user, pw = "", user // as for redis-cli: no colon, a password
			}
			if srv.Username, err = url.PathUnescape(user); err == nil {
				srv.Password, err = url.PathUnescape(pw)
			}
			if err != nil {
				return fail("user info: invalid %%-escape")
			}
		}
		switch u.Scheme {
		case "redis":
		case "rediss":
			srv.TLS = true
		default:
			return fail("scheme %q: want redis:// or rediss://", u.Scheme)
		}
		if u.Hostname() == "" {
			return fail("no host")
		}
		port := u.Port()
		if port == "" {
			port = "6379"
		} else if !validPort(port) {
			return fail("port %q: want 1..65535", port)
		}
		srv.Addr = net.JoinHostPort(u.Hostname(), port)
		h, _, err := net.SplitHostPort(srv.Addr)
		if err != nil || !validHost(h, strings.HasPrefix(u.Host, "[")) {
			return fail("not a host name or address (an IPv6 address goes in brackets: [::1]:6379)")
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return fail("database %q: want a number", p)
			}
			srv.DB = n
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return fail("query and fragment not supported: give the database as /N")
		}
		// Both clients send AUTH only with a password: the user would
		// be dropped without a word, and the run measured as the
		// server's default user.
		if srv.Username != "" && srv.Password == "" && (getenv == nil || getenv(PasswordEnv) == "") {
			return fail("a user name but no password, in the URL or $%s: no client logs in as a user without one; "+
				"give it (redis://USER:PASSWORD@HOST, any password for a nopass user), or leave the user out for the default user", PasswordEnv)
		}
	}
	if srv.Password == "" && getenv != nil {
		srv.Password = getenv(PasswordEnv)
		srv.PasswordFromEnv = srv.Password != ""
	}
	return srv, nil
}

// validHost reports whether h, the host of an address (bracketed: it was
// in brackets), is one a client can dial: a DNS name of letters, digits,
// dots, hyphens and underscores, an IPv4 address, or in brackets an IPv6
// address (with its zone, fe80::1%eth0, a name of the same characters). Both forms of --redis check it,
// so that host:port takes no host redis://host:port refuses: white space,
// a control character or a URL delimiter would be sent to the resolver,
// and a newline would go into the reports as it is. An IPv6 address must
// be bracketed: redis://2001:db8::10 would otherwise be read as host
// 2001:db8: and port 10.
func validHost(h string, bracketed bool) bool {
	if bracketed {
		ip, zone, hasZone := strings.Cut(h, "%")
		return strings.Contains(ip, ":") && net.ParseIP(ip) != nil && (!hasZone || name(zone))
	}
	return name(h)
}

// name reports whether s is a non-empty word of letters, digits, dots,
// hyphens and underscores: a DNS name, an IPv4 address or a zone.
func name(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	})
}

func validPort(p string) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n > 0
}

// String is the address as reports and errors show it: never the password.
func (s Server) String() string {
	if !s.TLS && s.Username == "" && s.DB == 0 {
		return s.Addr
	}
	u := url.URL{Scheme: "redis", Host: s.Addr}
	if s.TLS {
		u.Scheme = "rediss"
	}
	if s.Username != "" {
		// "user:" rather than "user": user info without a colon is a
		// password (see Parse).
		u.User = url.UserPassword(s.Username, "")
	}
	if s.DB != 0 {
		u.Path = "/" + strconv.Itoa(s.DB)
	}
	return u.String()
}

// TLSConfig is the client's TLS configuration, or nil without TLS. The
// server name comes from the address, so the certificate is checked.
func (s Server) TLSConfig() *tls.Config {
	if !s.TLS {
		return nil
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}

// Explain words a failure to reach or log in to srv for the person running
// the benchmark.
func Explain(srv Server, err error) error {
	err = hidePassword(srv, err)
	addr, msg := srv.String(), err.Error()
	switch {
	case strings.Contains(msg, "max number of clients reached"):
		return fmt.Errorf("--redis %s: the server is at its maxclients and took no connection: %w", addr, err)
	case NoPasswordConfigured(err):
		return fmt.Errorf("--redis %s: the server has no password, but one was sent (%s, or in the URL): leave it out: %w", addr, PasswordEnv, err)
	case strings.HasPrefix(msg, "NOAUTH") && srv.NoAuthCommand:
		return fmt.Errorf("--redis %s: the server wants a password but has no AUTH command (disabled or renamed there) to log in with: "+
			"sessbench run logs in with HELLO where the server has it, http's scs-redis peer (redigo) with AUTH alone: %w", addr, err)
	case strings.HasPrefix(msg, "NOAUTH"):
		return fmt.Errorf("--redis %s: the server wants a password: set %s, or give it in the URL (redis://:PASSWORD@HOST:PORT): %w", addr, PasswordEnv, err)
	case strings.HasPrefix(msg, "WRONGPASS"), strings.HasPrefix(msg, "ERR invalid password"):
		return fmt.Errorf("--redis %s: the server refused the user name or password: %w", addr, err)
	case srv.Password != "" && unknownAuth(msg):
		return fmt.Errorf("--redis %s: the server has no AUTH command (disabled or renamed there) to log in with: leave the password out (%s, or in the URL): %w", addr, PasswordEnv, err)
	case strings.HasPrefix(msg, "ERR DB index"), strings.HasPrefix(msg, "ERR invalid DB index"):
		return fmt.Errorf("--redis %s: no such database on the server: %w", addr, err)
	}
	if !srv.TLS && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		return fmt.Errorf("--redis %s: the server closed the connection; if it wants TLS, give rediss://%s: %w", addr, srv.Addr, err)
	}
	// go-redis's and redigo's (sessbench http's scs-redis peer) words for
	// an answer they cannot read as Redis's protocol: something else
	// listens there (a web server, a proxy).
	if notRESP(msg) {
		return fmt.Errorf("--redis %s: not a Redis server: its answer is not in Redis's protocol; check the address and port: %w", addr, err)
	}
	var ne net.Error
	var oe *net.OpError
	dial := errors.As(err, &oe) && oe.Op == "dial"
	if !dial && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("--redis %s: the server took the connection but did not answer in time: is a Redis server listening there?: %w", addr, err)
	}
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("--redis %s: unreachable: %w", addr, err)
	}
	return fmt.Errorf("--redis %s: %w", addr, err)
}

// hidePassword returns err with srv's password hidden from its words,
// which can quote it: Redis answers a command it does not know (AUTH or
// HELLO disabled, or renamed, as some managed services do) with its
// first arguments, "ERR unknown command 'AUTH', with args beginning
// with: 'PASSWORD'" (before 6.2, and in other servers, quoted with '`'),
// cut at 128 bytes and with line breaks made spaces: the password may be
// there only in part, or altered. The quoted arguments, always the
// client's own, are left out whole.
func hidePassword(srv Server, err error) error {
	msg := err.Error()
	hidden := msg
	if i := strings.Index(hidden, ", with args beginning with:"); i >= 0 {
		hidden = hidden[:i]
	}
	if srv.Password != "" {
		hidden = strings.ReplaceAll(hidden, srv.Password, "[password]")
	}
	if hidden == msg {
		return err
	}
	return &hiddenError{msg: hidden, err: err}
}

// unknownAuth reports whether msg is a server's answer that it has no
// AUTH command, in Redis 6.2's words or Redis 5's.
func unknownAuth(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "unknown command 'auth'") || strings.Contains(msg, "unknown command `auth`")
}

// hiddenError is err, as errors.Is and As see it, said as msg.
type hiddenError struct {
	msg string
	err error
}

func (e *hiddenError) Error() string { return e.msg }
func (e *hiddenError) Unwrap() error { return e.err }

// notRESP reports whether msg is a Redis client's error for an answer
// that is not in Redis's protocol: go-redis's, or redigo's, whose
// protocolError type is unexported but always ends the same way.
func notRESP(msg string) bool {
	return strings.HasPrefix(msg, "redis: can't parse") || strings.HasPrefix(msg, "redis: invalid reply") ||
		strings.HasPrefix(msg, "redigo: ") && strings.HasSuffix(msg, "(possible server error or unsupported concurrent read by application)")
}

// NoPasswordConfigured reports the server's refusal of a password it does
// not have (Redis 6 and later, and before 6).
func NoPasswordConfigured(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "without any password configured") || strings.Contains(msg, "no password is set")
}
