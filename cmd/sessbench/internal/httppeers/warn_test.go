package httppeers

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
)

// TestSessfsPeerLogsNothing: a measurement through the sessfs peer logs
// nothing. Its requests went out as plain HTTP, so httpsession warned that
// the Secure cookie would not come back from a browser, a warning meant for
// an app's operator that landed in the middle of sessbench's report and
// split the benchmark lines scripts read.
func TestSessfsPeerLogsNothing(t *testing.T) {
	var logged bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	p, err := OpenPeer(context.Background(), PeerSessfs, PeerOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := newSession(p.Handler, 64)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := c.do(pathIncr); code != 200 {
		t.Fatalf("%s: %d %s", pathIncr, code, body)
	}
	if logged.Len() > 0 {
		t.Errorf("the sessfs peer logged:\n%s", logged.String())
	}
}
