// Package httppeers implements "sessbench http": the same HTTP request
// (read a counter from the session, increment it, write the session back)
// served through sessfs's httpsession middleware and through the session
// libraries a Go user would otherwise pick, measured side by side.
//
// Requests go straight to each peer's http.Handler (ServeHTTP with a
// recorded response): no sockets, so what is compared is the session
// middleware and its store, not the network stack, which would add the
// same cost to every peer.
package httppeers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gomodule/redigo/redis"
	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/fstarget"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/redistarget"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/mountinfo"
)

// The peers, by the names used on the command line and in reports.
const (
	PeerSessfs    = "sessfs"
	PeerSCSRedis  = "scs-redis"
	PeerSCSMem    = "scs-mem"
	PeerGorillaFS = "gorilla-fs"
)

// AllPeers lists every peer in report order: sessfs first (the ratios'
// numerator), scs+redisstore second (the ratios' denominator).
var AllPeers = []string{PeerSessfs, PeerSCSRedis, PeerSCSMem, PeerGorillaFS}

// Paths every peer serves.
const (
	pathNew  = "/new"  // create a session: counter 0 and a pad of ?size= bytes
	pathIncr = "/incr" // read the counter, add one, write; the body is the new value
	pathGet  = "/get"  // read the counter without changing the session
)

// cookieName is the session cookie of every peer (each library's default
// is "session" already, except gorilla's, which is the name passed to Get).
const cookieName = "session"

// Peer is one session library serving the benchmark's routes.
type Peer struct {
	Name string
	// Desc says what the peer is and how it is configured, for the report.
	Desc    string
	Handler http.Handler
	close   func() error
	// Note is what the person running the benchmark should be told of
	// how the peer was opened ("" for nothing): a password its Redis has
	// no use for, dropped (see redisaddr.WithoutPassword).
	Note string
	// Persistence is what the peer's Redis keeps of a write it answered
	// (redistarget.Persistence), "" for a peer without Redis or a server
	// that would not say.
	Persistence string
	// fault, if set, returns the first failure of the peer's store that
	// its handler answered with an error, nil before any: a request
	// answered with an error is then not a result to count (see hot).
	fault func() error
}

// Close releases what the peer opened and removes what it wrote.
func (p *Peer) Close() error {
	if p.close == nil {
		return nil
	}
	return p.close()
}

// PeerOptions say where the peers keep their sessions.
type PeerOptions struct {
	// Dir is where sessfs and gorilla's FilesystemStore get their private
	// subdirectories.
	Dir string
	// DirIsTemporary is set when Dir is the temporary directory of a run
	// without --dir, which the run removes before it prints its report:
	// the peers' descriptions name where it was made, not a path that no
	// longer exists.
	DirIsTemporary bool
	// Redis is the Redis server behind scs's redisstore, nil for none.
	Redis *redisaddr.Server
	// Durability, if not nil, overrides the store's default for sessfs.
	Durability *fsstore.Durability
	// MaxSize, if not 0, is sessfs's fsstore.WithMaxSize: the largest
	// --size plus the session's encoding.
	MaxSize int
	// RedisBytes, if not 0, is what scs-redis's sessions will take in
	// Redis: more than bench.RoomShare of the memory the server has left
	// refuses the peer, as the Redis target of sessbench run.
	RedisBytes float64
	// RedisClients, if not 0, is how many connections scs-redis's
	// clients open at once: a server that takes fewer refuses the peer
	// (redistarget.ErrMaxClients).
	RedisClients int
	// SessionTTL is how long after its creation every peer keeps a
	// session (gorilla's FilesystemStore, which has no such limit: after
	// its last write): the run's redistarget.TTL, so that no session
	// expires during the run, and a killed run's scs-redis keys go soon
	// after it would have ended. 0 is redistarget.MinTTL.
	SessionTTL time.Duration
	// RedisAnswer, if not 0, is how long scs-redis waits for its server
	// to answer a command (redisaddr.AnswerTimeout for RedisClients
	// sessions of the largest size); 0 is redisaddr.AnswerBase.
	RedisAnswer time.Duration
}

// OpenPeer opens the named peer.
func OpenPeer(ctx context.Context, name string, o PeerOptions) (*Peer, error) {
	if o.SessionTTL <= 0 {
		o.SessionTTL = redistarget.MinTTL
	}
	switch name {
	case PeerSessfs:
		return openSessfs(o)
	case PeerSCSRedis:
		return openSCSRedis(ctx, o.Redis, o.RedisBytes, o.RedisClients, o.RedisAnswer, o.SessionTTL)
	case PeerSCSMem:
		sm := newSCS(o.SessionTTL)
		sm.Store = memstore.NewWithCleanupInterval(0)
		return &Peer{Name: name, Desc: "scs v2 LoadAndSave with memstore (process memory)", Handler: scsRoutes(sm)}, nil
	case PeerGorillaFS:
		return openGorilla(o)
	}
	return nil, fmt.Errorf("unknown peer %q (want %s)", name, strings.Join(AllPeers, ", "))
}

func openSessfs(o PeerOptions) (*Peer, error) {
	sub, err := fstarget.MakeDir(o.Dir, ".sessbench-http-")
	if err != nil {
		return nil, fmt.Errorf("sessfs peer: %w", err)
	}
	// As in sessbench's directory targets (see bench.SessionIdle): with the
	// store's 24 minutes idle, a round longer than the idle timeout would
	// find its sessions gone and start them afresh, measuring new
	// sessions instead of the counter's. The lifetime is every peer's
	// (PeerOptions.SessionTTL). Neither changes what a request costs:
	// each record carries its expiry in its header whatever it is.
	opts := []fsstore.Option{fsstore.WithIdleTimeout(bench.SessionIdle), fsstore.WithLifetime(o.SessionTTL)}
	if o.Durability != nil {
		opts = append(opts, fsstore.WithDurability(*o.Durability))
	}
	if o.MaxSize > 0 {
		opts = append(opts, fsstore.WithMaxSize(o.MaxSize))
	}
	st, err := fsstore.Open(sub, opts...)
	if err != nil {
		fstarget.RemoveDir(sub)
		return nil, fmt.Errorf("sessfs peer: %w", err)
	}
	how := "the store's default"
	if o.Durability != nil {
		how = "--durability"
	}
	m := httpsession.New(st)
	mux := http.NewServeMux()
	mux.HandleFunc(pathNew, func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		pad, err := padOf(r)
		if err == nil {
			err = errors.Join(s.Put("n", 0), s.Put("pad", pad))
		}
		reply(w, 0, err)
	})
	mux.HandleFunc(pathIncr, func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		n := s.GetInt("n") + 1
		reply(w, n, s.Put("n", n))
	})
	mux.HandleFunc(pathGet, func(w http.ResponseWriter, r *http.Request) {
		reply(w, httpsession.FromContext(r.Context()).GetInt("n"), nil)
	})
	return &Peer{
		Name:    PeerSessfs,
		Desc:    fmt.Sprintf("httpsession (Exclusive) over fsstore.Open %s, durability %s (%s)", where(o), st.Durability(), how),
		Handler: m.Handler(mux),
		close: func() error {
			return errors.Join(st.Close(), fstarget.RemoveDir(sub))
		},
	}, nil
}

// openSCSRedis opens the scs-redis peer. answer bounds its wait for the
// server's answer to each command, while it opens and during the
// measurement, as in sessbench run's Redis target: redigo waits for ever,
// and a server that stops answering mid-run (hung, or a network that drops
// its packets) held the run for ever with it.
//
// ctx is the run's: once it ends (Ctrl-C), the connections the peer's pool
// dialed are closed, so that the commands in flight fail at once and no
// new one is sent (see connWatch). scs's redisstore gives redigo no
// context, and a command waiting on a server that does not answer held
// Ctrl-C for as long as answer, up to an hour. Close then removes the
// run's keys over a connection of its own.
func openSCSRedis(ctx context.Context, srv *redisaddr.Server, need float64, clients int, answer, ttl time.Duration) (*Peer, error) {
	if srv == nil {
		return nil, errors.New("scs-redis peer: no Redis server given (--redis host:port)")
	}
	if answer <= 0 {
		answer = redisaddr.AnswerBase
	}
	addr := srv.String()
	// Every command's reply, and the write of every command, has a
	// deadline: scs's redisstore gives its commands no context.
	dialOpts := func(timeout time.Duration, dial func(context.Context, string, string) (net.Conn, error)) []redis.DialOption {
		opts := []redis.DialOption{
			redis.DialContextFunc(dial),
			redis.DialReadTimeout(timeout),
			redis.DialWriteTimeout(timeout),
			redis.DialUsername(srv.Username),
			redis.DialPassword(srv.Password),
			redis.DialDatabase(srv.DB),
		}
		if srv.TLS {
			opts = append(opts, redis.DialUseTLS(true), redis.DialTLSConfig(srv.TLSConfig()))
		}
		return opts
	}
	// With a context, AUTH and SELECT in the dial are bounded as the
	// connection is: a server that takes the connection and never
	// answers (not a Redis server) would hold the dial for ever.
	dial := func(ctx context.Context, opts []redis.DialOption) (redis.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, redisaddr.AnswerBase)
		defer cancel()
		return redis.DialContext(ctx, "tcp", srv.Addr, opts...)
	}
	watch := &connWatch{cause: func() error { return context.Cause(ctx) }}
	poolOpts := dialOpts(answer, watch.dial)
	pool := &redis.Pool{
		MaxIdle:     64,
		DialContext: func(ctx context.Context) (redis.Conn, error) { return dial(ctx, poolOpts) },
	}
	unwatch := context.AfterFunc(ctx, watch.cut)
	// fail closes what the peer opened, after a failed open.
	fail := func() {
		unwatch()
		watch.cut()
		pool.Close()
	}
	c, err := pool.GetContext(ctx)
	if err != nil {
		fail()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("scs-redis peer: %w", context.Cause(ctx))
		}
		if bare, note, ok := redisaddr.WithoutPassword(*srv, err); ok {
			p, err := openSCSRedis(ctx, &bare, need, clients, answer, ttl)
			if err != nil {
				return nil, err
			}
			p.Note = note
			return p, nil
		}
		return nil, fmt.Errorf("scs-redis peer: %w", redisaddr.Explain(*srv, err))
	}
	// Bounded: redigo's reads wait for ever, and a server that took the
	// connection but does not speak Redis never answers. These carry no
	// session: the base deadline.
	do := func(cmd string, args ...any) (any, error) {
		return redis.DoWithTimeout(c, redisaddr.AnswerBase, cmd, args...)
	}
	info, err := redis.String(do("INFO", "server"))
	// Optional: an ACL user may be refused it, and the free memory is
	// then not known.
	mem, _ := redis.String(do("INFO", "memory"))
	// Optional too, as for redistarget's reserve.
	limit, _ := redis.StringMap(do("CONFIG", "GET", "maxclients"))
	conns, _ := redis.String(do("INFO", "clients"))
	// Optional too: reported as sessbench run reports its Redis's.
	persistence := redistarget.ReadPersistence(func(name string) (string, bool) {
		m, err := redis.StringMap(do("CONFIG", "GET", name))
		v, ok := m[name]
		return v, err == nil && ok
	}, func() (string, error) { return redis.String(do("INFO", "persistence")) })
	c.Close()
	if err != nil {
		fail()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("scs-redis peer: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("scs-redis peer: %w", redisaddr.Explain(*srv, err))
	}
	if free, what, ok := redistarget.Headroom(mem); ok && need > 0 {
		if err := bench.NoRoom(fmt.Sprintf("the Redis at %s (%s)", addr, what), need, free); err != nil {
			fail()
			return nil, fmt.Errorf("scs-redis peer: %w", err)
		}
	}
	// A server that takes fewer connections than the clients open at
	// once refuses the peer now, rather than answer some requests 500.
	if most, connected, ok := redistarget.ClientLimit(limit["maxclients"], conns); ok {
		// c, idle in the pool now, is counted among the connected.
		if err := redistarget.CheckClients(addr, clients, most, connected, 1); err != nil {
			fail()
			return nil, fmt.Errorf("scs-redis peer: %w", err)
		}
	}
	err = redistarget.Reserve(ctx, addr, clients, func(ctx context.Context) (func(), error) {
		c, err := pool.GetContext(ctx)
		if err == nil {
			_, err = c.Do("PING")
		}
		if err != nil {
			if c != nil {
				c.Close()
			}
			return nil, err
		}
		return func() { c.Close() }, nil
	})
	if err != nil {
		fail()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("scs-redis peer: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("scs-redis peer: %w", err)
	}
	version := "?"
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			version = v
		}
	}
	// A prefix of our own, so that Close removes exactly our keys.
	prefix := fmt.Sprintf("sessbench:%d:%d:", os.Getpid(), time.Now().UnixNano())
	sm := newSCS(ttl)
	sm.Store = redisstore.NewWithPrefix(pool, prefix)
	var fault storeFault
	// scs's default logs the error on the standard logger and answers
	// "Internal Server Error": the run's failure would not say what
	// failed.
	sm.ErrorFunc = func(w http.ResponseWriter, _ *http.Request, err error) {
		err = redisFailure(addr, answer, err)
		fault.set(err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	desc := fmt.Sprintf("scs v2 LoadAndSave with redisstore (redigo pool), Redis %s at %s", version, addr)
	if persistence != "" {
		desc += ", persistence " + persistence
	}
	return &Peer{
		Name:        PeerSCSRedis,
		Desc:        desc,
		Persistence: persistence,
		Handler:     scsRoutes(sm),
		close: func() error {
			unwatch()
			// The pool's connections are closed, whether the run's end
			// closed them or this does: the keys go over a connection
			// of Close's own. Its commands carry no session: the base
			// deadline, whatever answer is.
			watch.cut()
			perr := pool.Close()
			c, err := dial(context.Background(), dialOpts(redisaddr.AnswerBase, (&net.Dialer{}).DialContext))
			if err == nil {
				err = deletePrefix(c, prefix)
				err = errors.Join(err, c.Close())
			}
			if err != nil {
				// scs gives each key the session's deadline, its
				// Lifetime after its creation (no IdleTimeout).
				err = fmt.Errorf("scs-redis peer: removing the run's sessions (keys %s*, which expire %s after they were made): %w",
					prefix, FormatTTL(sm.Lifetime), redisFailure(addr, redisaddr.AnswerBase, err))
			}
			return errors.Join(err, perr)
		},
		fault: fault.get,
	}, nil
}

// connWatch keeps the connections a redigo pool dials, to close them all
// at once when the run ends: redigo's commands take no context, and a
// connection closed under a command in flight ends its wait for an answer.
type connWatch struct {
	// cause is the error a dial after cut fails with: the run's end.
	cause func() error
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// dial is the pool's dialer: a TCP connection, kept until it is closed.
// After cut it fails, so that a request the run's end caught between
// commands sends none.
func (w *connWatch) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	w.mu.Lock()
	done := w.done
	w.mu.Unlock()
	if done {
		return nil, w.cause()
	}
	nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		nc.Close()
		return nil, w.cause()
	}
	if w.conns == nil {
		w.conns = make(map[net.Conn]struct{})
	}
	tc := &watchedConn{Conn: nc, w: w}
	w.conns[tc] = struct{}{}
	return tc, nil
}

// cut closes every connection dial opened and fails those it is yet to
// open.
func (w *connWatch) cut() {
	w.mu.Lock()
	w.done = true
	conns := w.conns
	w.conns = nil
	w.mu.Unlock()
	for c := range conns {
		c.(*watchedConn).Conn.Close()
	}
}

// watchedConn leaves its connWatch when closed.
type watchedConn struct {
	net.Conn
	w *connWatch
}

func (c *watchedConn) Close() error {
	c.w.mu.Lock()
	delete(c.w.conns, c)
	c.w.mu.Unlock()
	return c.Conn.Close()
}

// redisFailure says what a failed command of the scs-redis peer's during
// the run means: a server that gave no answer within answer has stopped
// answering, which the bare "i/o timeout" does not say.
func redisFailure(addr string, answer time.Duration, err error) error {
	if redisaddr.IsTimeout(err) {
		return fmt.Errorf("the Redis server at %s did not answer a command within %v: %w", addr, answer, err)
	}
	return fmt.Errorf("the Redis server at %s: %w", addr, err)
}

// storeFault keeps the first error a peer's store failed with.
type storeFault struct {
	mu  sync.Mutex
	err error
}

func (f *storeFault) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *storeFault) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// deletePrefix deletes the keys under prefix with SCAN and UNLINK: KEYS
// would stop a shared server (a fleet's own Redis, pointed at to compare)
// for as long as it takes to walk every key it holds.
func deletePrefix(c redis.Conn, prefix string) error {
	cursor := "0"
	for {
		reply, err := redis.Values(c.Do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 1000))
		if err != nil {
			return err
		}
		var keys []string
		if _, err := redis.Scan(reply, &cursor, &keys); err != nil {
			return err
		}
		if len(keys) > 0 {
			args := make([]any, len(keys))
			for i, k := range keys {
				args[i] = k
			}
			if _, err := c.Do("UNLINK", args...); err != nil {
				return err
			}
		}
		if cursor == "0" {
			return nil
		}
	}
}

// newSCS returns an scs session manager whose sessions expire ttl after
// their creation, as every peer's do (PeerOptions.SessionTTL), with no
// idle timeout: scs's default lifetime, 24 hours, expired a longer run's
// sessions under it.
func newSCS(ttl time.Duration) *scs.SessionManager {
	sm := scs.New()
	sm.Lifetime, sm.IdleTimeout = ttl, 0
	return sm
}

// FormatTTL says a session TTL in whole hours, or days when it is whole
// days: "24 hours", "50 hours", "400 days".
func FormatTTL(d time.Duration) string {
	if d%(24*time.Hour) == 0 && d > 24*time.Hour {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}

func scsRoutes(sm *scs.SessionManager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(pathNew, func(w http.ResponseWriter, r *http.Request) {
		pad, err := padOf(r)
		if err == nil {
			sm.Put(r.Context(), "n", 0)
			sm.Put(r.Context(), "pad", pad)
		}
		reply(w, 0, err)
	})
	mux.HandleFunc(pathIncr, func(w http.ResponseWriter, r *http.Request) {
		n := sm.GetInt(r.Context(), "n") + 1
		sm.Put(r.Context(), "n", n)
		reply(w, n, nil)
	})
	mux.HandleFunc(pathGet, func(w http.ResponseWriter, r *http.Request) {
		reply(w, sm.GetInt(r.Context(), "n"), nil)
	})
	return sm.LoadAndSave(mux)
}

func openGorilla(o PeerOptions) (*Peer, error) {
	sub, err := fstarget.MakeDir(o.Dir, ".sessbench-gorilla-")
	if err != nil {
		return nil, fmt.Errorf("gorilla-fs peer: %w", err)
	}
	// A fixed key: the benchmark's cookies never leave the process.
	st := sessions.NewFilesystemStore(sub, []byte("sessbench-gorilla-hash-key-32byt"))
	// The default 4096-byte limit would refuse a 16 KiB session; 0 lifts it.
	st.MaxLength(0)
	// Its only expiry, counted from each save (the cookie's and the
	// file's timestamps): at least every other peer's, where its default
	// is 30 days.
	st.MaxAge(int(o.SessionTTL / time.Second))
	get := func(w http.ResponseWriter, r *http.Request) *sessions.Session {
		s, err := st.Get(r, cookieName)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return nil
		}
		return s
	}
	mux := http.NewServeMux()
	mux.HandleFunc(pathNew, func(w http.ResponseWriter, r *http.Request) {
		s := get(w, r)
		if s == nil {
			return
		}
		pad, err := padOf(r)
		if err == nil {
			s.Values["n"], s.Values["pad"] = 0, pad
			err = s.Save(r, w)
		}
		reply(w, 0, err)
	})
	mux.HandleFunc(pathIncr, func(w http.ResponseWriter, r *http.Request) {
		s := get(w, r)
		if s == nil {
			return
		}
		n, _ := s.Values["n"].(int)
		n++
		s.Values["n"] = n
		reply(w, n, s.Save(r, w))
	})
	mux.HandleFunc(pathGet, func(w http.ResponseWriter, r *http.Request) {
		if s := get(w, r); s != nil {
			n, _ := s.Values["n"].(int)
			reply(w, n, nil)
		}
	})
	return &Peer{
		Name:    PeerGorillaFS,
		Desc:    "gorilla/sessions FilesystemStore (file per session, written in place, no fsync) " + where(o),
		Handler: mux,
		close:   func() error { return fstarget.RemoveDir(sub) },
	}, nil
}

// where names the directory a peer's files live in and, where the system
// tells (Linux), its file system and mount point: a report of the shared
// mount and one of a temporary directory on local disk must not read
// alike.
func where(o PeerOptions) string {
	place := o.Dir
	if o.DirIsTemporary {
		place = "a temporary directory in " + filepath.Dir(o.Dir) + " (removed after the run)"
	}
	m, err := mountinfo.Lookup(o.Dir)
	if err != nil || m.FSType == "" {
		return "in " + place + " (file system not known)"
	}
	return fmt.Sprintf("in %s (%s on %s)", place, m.FSType, m.Point)
}

// padOf returns the ?size= bytes of padding that make a session that size.
func padOf(r *http.Request) (string, error) {
	n, err := strconv.Atoi(r.URL.Query().Get("size"))
	if err != nil || n < 0 || n > 64<<20 {
		return "", fmt.Errorf("bad size %q", r.URL.Query().Get("size"))
	}
	return strings.Repeat("x", n), nil
}

func reply(w http.ResponseWriter, n int, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write(strconv.AppendInt(nil, int64(n), 10))
}
