// Package fakeredis is a Redis server for sessbench's tests, on a real
// TCP listener: it answers the commands sessbench and scs's redisstore
// send, from memory, until it is told to go silent, as a Redis server that
// hangs (a fork for a save on a full disk, a paused VM, a network that
// drops its packets) takes commands and answers none.
package fakeredis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Server is a fake Redis server listening on a loopback port.
type Server struct {
	// Addr is the address it listens on, host:port.
	Addr string
	l    net.Listener
	// silenceAfter, when not 0, silences the server once it has
	// answered that many EXECs (each of scs's saves is one).
	silenceAfter int64
	execs        atomic.Int64
	silent       atomic.Bool
	ignored      atomic.Int64 // commands read while silent
	mu           sync.Mutex
	data         map[string]string
	conns        map[net.Conn]bool
	wg           sync.WaitGroup
}

// Start starts a server, closed when the test ends. With silenceAfter
// above 0 it goes silent by itself once it has answered that many EXECs.
func Start(tb testing.TB, silenceAfter int) *Server {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Addr: l.Addr().String(), l: l, silenceAfter: int64(silenceAfter), data: map[string]string{}, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.Close)
	return s
}

// Silence makes the server answer nothing from now on, on the
// connections it has and on new ones, which it still accepts.
func (s *Server) Silence() { s.silent.Store(true) }

// Silent reports whether the server has gone silent.
func (s *Server) Silent() bool { return s.silent.Load() }

// Ignored reports how many commands the server has read and left
// unanswered while silent: a client waits for their answers.
func (s *Server) Ignored() int64 { return s.ignored.Load() }

// Speak makes a silent server answer again, the commands it reads from
// now on; those it ignored stay unanswered.
func (s *Server) Speak() { s.silent.Store(false) }

// Keys returns how many keys the server holds.
func (s *Server) Keys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data)
}

// Close stops the server and closes its connections.
func (s *Server) Close() {
	s.l.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

// serve answers one connection's commands, in order, as Redis does.
func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	var queued [][]string // between MULTI and EXEC
	multi := false
	for {
		cmd, err := readCommand(r)
		if err != nil {
			return
		}
		if s.silent.Load() {
			s.ignored.Add(1)
			continue // read, never answered
		}
		name := strings.ToUpper(cmd[0])
		switch {
		case name == "MULTI":
			multi, queued = true, nil
			w.WriteString("+OK\r\n")
		case name == "EXEC":
			fmt.Fprintf(w, "*%d\r\n", len(queued))
			for _, q := range queued {
				s.do(w, q)
			}
			multi, queued = false, nil
			if n := s.execs.Add(1); s.silenceAfter > 0 && n >= s.silenceAfter {
				s.silent.Store(true)
			}
		case multi:
			queued = append(queued, cmd)
			w.WriteString("+QUEUED\r\n")
		default:
			s.do(w, cmd)
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// do answers one command.
func (s *Server) do(w *bufio.Writer, cmd []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch strings.ToUpper(cmd[0]) {
	case "PING":
		w.WriteString("+PONG\r\n")
	case "INFO":
		bulk(w, "# Server\r\nredis_version:0.0.0-fake\r\n# Clients\r\nconnected_clients:1\r\n")
	case "CONFIG":
		w.WriteString("*2\r\n")
		bulk(w, "maxclients")
		bulk(w, "10000")
	case "GET":
		if v, ok := s.data[arg(cmd, 1)]; ok {
			bulk(w, v)
		} else {
			w.WriteString("$-1\r\n")
		}
	case "SET":
		s.data[arg(cmd, 1)] = arg(cmd, 2)
		w.WriteString("+OK\r\n")
	case "PEXPIREAT":
		w.WriteString(":1\r\n")
	case "DEL", "UNLINK":
		n := 0
		for _, k := range cmd[1:] {
			if _, ok := s.data[k]; ok {
				delete(s.data, k)
				n++
			}
		}
		fmt.Fprintf(w, ":%d\r\n", n)
	case "SCAN":
		// One step, cursor 0: every key under the MATCH prefix.
		prefix := ""
		for i := 2; i+1 < len(cmd); i += 2 {
			if strings.EqualFold(cmd[i], "MATCH") {
				prefix = strings.TrimSuffix(cmd[i+1], "*")
			}
		}
		var keys []string
		for k := range s.data {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		w.WriteString("*2\r\n")
		bulk(w, "0")
		fmt.Fprintf(w, "*%d\r\n", len(keys))
		for _, k := range keys {
			bulk(w, k)
		}
	default:
		fmt.Fprintf(w, "-ERR unknown command '%s'\r\n", cmd[0])
	}
}

func arg(cmd []string, i int) string {
	if i < len(cmd) {
		return cmd[i]
	}
	return ""
}

func bulk(w *bufio.Writer, s string) {
	fmt.Fprintf(w, "$%d\r\n%s\r\n", len(s), s)
}

// readCommand reads one command, an array of bulk strings, as clients
// send them.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[0] != '*' {
		return nil, fmt.Errorf("fakeredis: not a command array: %q", line)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 1 {
		return nil, fmt.Errorf("fakeredis: bad array length %q", line)
	}
	cmd := make([]string, 0, n)
	for range n {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if len(line) < 2 || line[0] != '$' {
			return nil, fmt.Errorf("fakeredis: not a bulk string: %q", line)
		}
		size, err := strconv.Atoi(line[1:])
		if err != nil || size < 0 {
			return nil, fmt.Errorf("fakeredis: bad bulk length %q", line)
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		cmd = append(cmd, string(b[:size]))
	}
	return cmd, nil
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		return "", errors.New("fakeredis: a line not ended by CRLF")
	}
	return strings.TrimSuffix(line, "\r\n"), nil
}
