package redisaddr

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == PasswordEnv {
				return v
			}
			return ""
		}
	}
	for _, tt := range []struct {
		in, env string
		want    Server
		shown   string
		err     string
	}{
		{in: "127.0.0.1:6379", want: Server{Addr: "127.0.0.1:6379"}, shown: "127.0.0.1:6379"},
		{in: "[::1]:6380", env: "pw", want: Server{Addr: "[::1]:6380", Password: "pw", PasswordFromEnv: true}, shown: "[::1]:6380"},
		{in: "redis://cache.internal", want: Server{Addr: "cache.internal:6379"}, shown: "cache.internal:6379"},
		{in: "redis://:pw@h:7000/3", env: "other", want: Server{Addr: "h:7000", Password: "pw", DB: 3}, shown: "redis://h:7000/3"},
		{in: "rediss://app:p%40ss@h/", want: Server{Addr: "h:6379", Username: "app", Password: "p@ss", TLS: true}, shown: "rediss://app:@h:6379"},
		{in: "rediss://a%40b:@h:1", env: "pw", want: Server{Addr: "h:1", Username: "a@b", Password: "pw", TLS: true, PasswordFromEnv: true}, shown: "rediss://a%40b:@h:1"},
		// As for redis-cli: user info without a colon is the password.
		{in: "redis://s3cret@h", env: "other", want: Server{Addr: "h:6379", Password: "s3cret"}, shown: "h:6379"},
		{in: "redis://:s3cret@h/1", want: Server{Addr: "h:6379", Password: "s3cret", DB: 1}, shown: "redis://h:6379/1"},
		// A user with no password anywhere: no client logs in as it.
		{in: "redis://app:@h", err: "redis://xxxxx@h: a user name but no password"},
		{in: "localhost", err: "not host:port"},
		// Mistyped URLs: refused, and the error does not show them.
		{in: "redis:/:secret@cache:6379", err: "not host:port"},
		{in: "default:secret@cache:6379", err: "not host:port"},
		{in: "secret@cache:6379", err: "not host:port"},
		{in: "redis://]", err: "not a host name"},
		{in: "redis://secret@[::1", err: "not a valid URL"},
		{in: ":6379", err: "not host:port"},
		{in: "h:0", err: "not host:port"},
		{in: "h:65536", err: "not host:port"},
		{in: "http://h:1", err: `scheme "http"`},
		{in: "redis://:secret@h:99999", err: "redis://xxxxx@h:99999: port"},
		{in: "redis://:secret@/", err: "no host"},
		{in: "redis://h/x", err: `database "x"`},
		{in: "redis://h/-1", err: `database "-1"`},
		{in: "redis://h/1?timeout=1", err: "query"},
		{in: "redis://:sec%zzret@h", err: "invalid %-escape"},
		// A password with "/", "?" or "#" (base64, generated ones): the
		// user info ends at the "@", as for redis-cli.
		{in: "redis://Zm9v/YmFy+secret@cache.internal", want: Server{Addr: "cache.internal:6379", Password: "Zm9v/YmFy+secret"}, shown: "cache.internal:6379"},
		{in: "redis://app:pa?ss#secret@h:7000/2", want: Server{Addr: "h:7000", Username: "app", Password: "pa?ss#secret", DB: 2}, shown: "redis://app:@h:7000/2"},
		{in: "redis://:8412/secret@h:99999", err: "redis://xxxxx@h:99999: port"},
		{in: "redis://x/secret@/", err: "no host"},
		{in: "redis://2001:db8::10", err: "IPv6 address goes in brackets"},
		{in: "redis://h:6379:6379", err: "not a host name"},
		{in: "redis://[2001:db8::10]", want: Server{Addr: "[2001:db8::10]:6379"}, shown: "[2001:db8::10]:6379"},
		// host:port takes the hosts redis://host:port takes, no others.
		{in: "cache internal:6379", err: "not host:port"},
		{in: "cache\n:6379", err: "not host:port"},
		{in: "[cache]:6379", err: "not host:port"},
		{in: "[fe80::1%eth0]:6379", want: Server{Addr: "[fe80::1%eth0]:6379"}, shown: "[fe80::1%eth0]:6379"},
		{in: "redis_1:6379", want: Server{Addr: "redis_1:6379"}, shown: "redis_1:6379"},
	} {
		got, err := Parse(tt.in, env(tt.env))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q) = %+v, %v; want error %q", tt.in, got, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("Parse(%q): the error shows the password: %v", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if s := got.String(); s != tt.shown {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, tt.shown)
		}
		if (got.TLSConfig() != nil) != got.TLS {
			t.Errorf("Parse(%q).TLSConfig() = %v with TLS %v", tt.in, got.TLSConfig(), got.TLS)
		}
	}
}

// FuzzParse checks that no address panics Parse, that String never shows
// the password and that it reads back as the same server, that the host of
// an address it takes is one a client can dial (a DNS name, an IPv4
// address, or an IPv6 address in brackets: no white space, control
// character, non-ASCII or URL delimiter, which would go into a DNS query
// and the reports), and that host:port and redis://host:port take the
// same hosts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"127.0.0.1:6379", "redis://u:p@h:1/2", "rediss://h", "[::1]:1", "redis://%zz@h", "redis://:p@[::1]/0"} {
		f.Add(s)
	}
	f.Add("redis://Zm9v/YmFy+cXV4@cache.internal")
	f.Add("redis://u:pa?ss#word@h:1")
	// Hosts only one of the two forms took.
	for _, s := range []string{"cache internal:6379", "cache\n:6379", "cach\x00e:6379", "caché:6379", "cache?:6379", "[cache]:6379", "[fe80::1%eth0]:6379"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		srv, err := Parse(s, nil)
		// String never depends on the password.
		if err == nil {
			alt := srv
			alt.Password = "other"
			if alt.String() != srv.String() {
				t.Fatalf("Parse(%q).String() = %q depends on the password", s, srv.String())
			}
		}
		// An error never shows a password holding what ends a URL's user
		// info early (a shorter one, one of the host's characters, or the
		// scheme and "://" an error starts with, "aq://" holding "q://",
		// may be in an error by chance). The scheme is left out as the
		// error shows it, net/url's reading of it: of "q:://", "q".
		if _, rest, ok := strings.Cut(s, "://"); ok && err != nil {
			if info, _, ok := strings.Cut(rest, "@"); ok {
				_, pw, _ := strings.Cut(info, ":")
				msg := err.Error()
				if _, after, ok := strings.Cut(msg, "://"); ok {
					msg = after
				}
				// Nor the schemes an error names as wanted: the
				// password "s://" is in "rediss://".
				msg = strings.ReplaceAll(msg, "redis:// or rediss://", "")
				if len(pw) >= 4 && strings.ContainsAny(pw, "/?#") && strings.Contains(msg, pw) {
					t.Fatalf("Parse(%q): the error shows the password: %v", s, err)
				}
			}
		}
		if err != nil {
			return
		}
		host, _, err := net.SplitHostPort(srv.Addr)
		if err != nil || !dialable(host) {
			t.Fatalf("Parse(%q) = %+v, whose host %q is no host name or address", s, srv, host)
		}
		if !strings.Contains(s, "://") && !strings.Contains(s, "%") {
			// A zone (fe80::1%eth0) is written %25 in a URL.
			if u, err := Parse("redis://"+s, nil); err != nil || u.Addr != srv.Addr {
				t.Fatalf("Parse(%q) = %+v, but redis://%s gives %+v, %v", s, srv, s, u, err)
			}
		}
		shown := srv.String()
		// The password is never shown: one from the environment stands
		// in for it, as a user needs one.
		back, err := Parse(shown, func(string) string { return "pw" })
		if err != nil {
			t.Fatalf("Parse(%q) = %+v shown as %q, which does not parse: %v", s, srv, shown, err)
		}
		srv.Password, srv.PasswordFromEnv = "", false
		back.Password, back.PasswordFromEnv = "", false
		if back != srv {
			t.Fatalf("Parse(%q) = %+v shown as %q, which reads back as %+v", s, srv, shown, back)
		}
	})
}

// dialable reports whether host is a DNS name of letters, digits, dots,
// hyphens and underscores, or an IP address (an IPv6 one with its zone).
func dialable(host string) bool {
	if ip, _, _ := strings.Cut(host, "%"); net.ParseIP(ip) != nil {
		return true
	}
	return host != "" && !strings.ContainsFunc(host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	})
}

// TestWithoutPassword: only a server's refusal of a password it has none
// of (Redis 6 and later, and before 6) drops the password; the note says
// where it came from, never what it is.
func TestWithoutPassword(t *testing.T) {
	const pw = "s3cret-pw"
	refused6 := errors.New("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
	refused5 := errors.New("ERR Client sent AUTH, but no password is set")
	for _, tt := range []struct {
		name string
		srv  Server
		err  error
		note string // "" for not dropped
	}{
		{"URL, Redis 6", Server{Addr: "h:6379", Password: pw}, refused6, "--redis: the server at h:6379 has no password: going on without the password in the URL"},
		{"URL, Redis 5", Server{Addr: "h:6379", Password: pw, DB: 2}, refused5, "--redis: the server at redis://h:6379/2 has no password: going on without the password in the URL"},
		{"environment", Server{Addr: "h:6379", Password: pw, PasswordFromEnv: true}, refused6, "going on without the password in $REDISCLI_AUTH"},
		{"no AUTH command", Server{Addr: "h:6379", Password: pw}, errors.New("ERR unknown command 'AUTH', with args beginning with: '" + pw + "' "),
			"--redis: the server at h:6379 has no AUTH command (disabled or renamed there) and wants no password: going on without the password in the URL"},
		{"no AUTH command, ACL user", Server{Addr: "h:6379", Username: "app", Password: pw}, errors.New("ERR unknown command 'AUTH'"), ""},
		{"wrong password", Server{Addr: "h:6379", Password: pw}, errors.New("WRONGPASS invalid username-password pair or user is disabled."), ""},
		{"no password sent", Server{Addr: "h:6379"}, refused6, ""},
		{"no error", Server{Addr: "h:6379", Password: pw}, nil, ""},
	} {
		bare, note, ok := WithoutPassword(tt.srv, tt.err)
		if ok != (tt.note != "") || !strings.Contains(note, tt.note) {
			t.Errorf("%s: %q, %v; want %q", tt.name, note, ok, tt.note)
		}
		if strings.Contains(note, pw) {
			t.Errorf("%s: the note shows the password: %q", tt.name, note)
		}
		if ok && (bare.Password != "" || bare.PasswordFromEnv || bare.Addr != tt.srv.Addr || bare.DB != tt.srv.DB ||
			bare.NoAuthCommand != strings.Contains(tt.note, "no AUTH command")) {
			t.Errorf("%s: %+v, want the server without its password", tt.name, bare)
		}
		if !ok && bare != tt.srv {
			t.Errorf("%s: %+v, want the server as it was", tt.name, bare)
		}
	}
}

// TestExplainHidesPassword: a server's answer that quotes the password,
// whole, cut short, or with its line breaks made spaces, is explained
// without it; errors.Is still sees the client's error.
func TestExplainHidesPassword(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 10) // 160 bytes
	quoted := func(cmd, args string) error {
		return fmt.Errorf("dial: %w", errors.New("ERR unknown command '"+cmd+"', with args beginning with: "+args))
	}
	for _, tt := range []struct {
		name string
		pw   string
		err  error
		want string
	}{
		{"AUTH, whole", "s3cret-pw", quoted("AUTH", "'s3cret-pw' "), "the server has no AUTH command"},
		{"auth, cut at 128 bytes", long, quoted("auth", "'"+long[:127]+"' "), "the server has no AUTH command"},
		{"Redis 5's words", "s3cret-pw", errors.New("ERR unknown command `AUTH`, with args beginning with: `s3cret-pw`, "), "the server has no AUTH command"},
		{"HELLO, a line break made a space", "s3cret\npw", quoted("HELLO", "'3' 'AUTH' 'default' 's3cret pw' "), "unknown command 'HELLO'"},
		{"quoted elsewhere", "s3cret-pw", errors.New("ERR something about s3cret-pw"), "ERR something about [password]"},
	} {
		err := Explain(Server{Addr: "h:6379", Password: tt.pw}, tt.err)
		msg := err.Error()
		for _, part := range []string{tt.pw, tt.pw[:8], "s3cret pw"} {
			if strings.Contains(msg, part) {
				t.Errorf("%s: %q shows the password", tt.name, msg)
			}
		}
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %q, want it to say %q", tt.name, msg, tt.want)
		}
		if !errors.Is(err, errors.Unwrap(tt.err)) && !errors.Is(err, tt.err) {
			t.Errorf("%s: errors.Is lost the client's error", tt.name)
		}
	}
}
