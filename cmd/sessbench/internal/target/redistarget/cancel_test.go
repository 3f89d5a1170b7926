package redistarget

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
)

// TestOpenCancelled: Ctrl-C while the server has taken the connection but
// not answered ends Open with the context's error. Open waited for its
// ping's timeout instead, and returned that: an operator who pressed
// Ctrl-C at a server that did not answer waited seconds for the exit.
func TestOpenCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		accepted <- c
		// The client waits for the answer to what it sent, which never
		// comes.
		c.Read(make([]byte, 512))
		cancel()
	}()
	srv, err := redisaddr.Parse(l.Addr().String(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tg, err := Open(ctx, "redis", srv, 1, time.Hour, 0)
	if err == nil {
		tg.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open after cancel: %v, want context.Canceled", err)
	}
	select {
	case c := <-accepted:
		c.Close()
	default:
	}
}
