//go:build unix

package main_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestHTTPSignalRedis: Ctrl-C during sessbench http's measurement, with
// the scs-redis peer on a real redis-server, exits 130 and leaves neither
// keys in Redis nor files in --dir, whether the server answers or the
// connections the run had open have gone silent (a hung server, a network
// that drops their packets; here a proxy that stops passing on what they
// carry, while a connection opened after the signal gets through, so that
// the cleanup can remove the keys). redigo's commands take no context: on
// silent connections Ctrl-C waited for the command in flight, for as long
// as the peer's answer deadline (here 5 s plus 1 s for each of the 300
// --hot clients' 1 MiB sessions: 5 minutes; up to an hour for large runs).
// The test's wait for the exit is a hang detector far below that deadline.
func TestHTTPSignalRedis(t *testing.T) {
	for _, tt := range []struct {
		name   string
		silent bool
	}{
		{"server answering", false},
		{"connections silent", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			server := startRedis(t)
			rc := redis.NewClient(&redis.Options{Addr: server})
			defer rc.Close()
			px := startSilencer(t, server)
			d := benchDir(t)
			before := snapshot(t, d)
			cmd := exec.Command(binary, "http", "--dir", d, "--redis", px.addr, "--peers", "scs-redis,sessfs",
				"--size", "1MiB", "--duration", "1h", "--rounds", "1", "--sessions", "2", "--concurrency", "1",
				"--hot", "300x1", "--durability", "none")
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				cmd.Process.Kill()
				exited <- <-exited
			}()
			waitFor(t, "the scs-redis peer's sessions in Redis", time.Minute, func() bool {
				n, err := rc.DBSize(context.Background()).Result()
				return err == nil && n >= 2
			})
			if tt.silent {
				px.silence()
				// A command of the measurement waits for its answer.
				waitFor(t, "a command on a silenced connection", time.Minute, func() bool { return px.swallowed.Load() > 0 })
			}
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-exited:
				exited <- err // for the deferred wait
			case <-time.After(time.Minute):
				t.Fatalf("sessbench http did not exit within a minute of Ctrl-C; stderr:\n%s", errOut.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Errorf("exit %v, want 130; stderr:\n%s", err, errOut.String())
			}
			if msg := errOut.String(); msg != "sessbench: interrupted by SIGINT\n" {
				t.Errorf("stderr %q, want only that the run was interrupted", msg)
			}
			if after := snapshot(t, d); !slices.Equal(before, after) {
				t.Errorf("--dir changed:\nbefore %v\nafter  %v", before, after)
			}
			if n, err := rc.DBSize(context.Background()).Result(); err != nil || n != 0 {
				t.Errorf("redis holds %d keys after the run (%v)", n, err)
			}
		})
	}
}

// silencer is a TCP proxy to a Redis server whose silence makes the
// connections open at that moment go silent both ways, as a hung server
// or a network dropping their packets would, while later connections get
// through.
type silencer struct {
	addr      string
	mu        sync.Mutex
	open      []*atomic.Bool // per connection: silenced
	swallowed atomic.Int64   // bytes dropped on silenced connections
}

func startSilencer(t *testing.T, server string) *silencer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silencer{addr: l.Addr().String()}
	var conns sync.WaitGroup
	var all []net.Conn
	var allMu sync.Mutex
	t.Cleanup(func() {
		l.Close()
		allMu.Lock()
		for _, c := range all {
			c.Close()
		}
		allMu.Unlock()
		conns.Wait()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", server)
			if err != nil {
				c.Close()
				continue
			}
			allMu.Lock()
			all = append(all, c, up)
			allMu.Unlock()
			quiet := new(atomic.Bool)
			s.mu.Lock()
			s.open = append(s.open, quiet)
			s.mu.Unlock()
			pass := func(dst, src net.Conn) {
				defer conns.Done()
				defer dst.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						if quiet.Load() {
							s.swallowed.Add(int64(n))
						} else if _, werr := dst.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						if !errors.Is(err, io.EOF) {
							src.Close()
						}
						return
					}
				}
			}
			conns.Add(2)
			go pass(up, c)
			go pass(c, up)
		}
	}()
	return s
}

// silence makes every connection open now go silent.
func (s *silencer) silence() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.open {
		q.Store(true)
	}
}
