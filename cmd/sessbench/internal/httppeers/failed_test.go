package httppeers

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/fakeredis"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
)

// TestFailedPeerLeftOut: a peer that fails during the run is left out
// from then on and reported as failed, with no results, and the other
// peers' runs go on: a Redis server behind scs-redis that stops answering
// during a measurement, or during the lost-update test (where an
// increment answered with an error is otherwise counted, and each waited
// for the server), and a peer that answers an error. The first failure
// ended the run, and a silent Redis held it for ever: redigo's commands
// had no deadline.
func TestFailedPeerLeftOut(t *testing.T) {
	cfg := Config{Sizes: []int{64, 128}, Duration: 20 * time.Millisecond, Rounds: 2, Concurrency: 2, Sessions: 2, HotClients: 2, HotIncrements: 3}
	for _, tc := range []struct {
		name    string
		redis   bool
		silence string // the step (a prefix) at which the server goes silent
		want    []string
	}{
		{"redis silent in a measurement", true, "round 1/2: scs-redis, 128B, 2 clients", []string{"round 1/2: scs-redis, 128B, 2 clients", "did not answer a command within 5s"}},
		{"redis silent in the lost-update test", true, "lost updates: scs-redis, 64B", []string{"lost updates, 64B", "did not answer a command within 5s"}},
		{"error answers", false, "", []string{"round 1/2: failing, 64B, 1 client", "/incr: 500 the store is down"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem, err := OpenPeer(t.Context(), PeerSCSMem, PeerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var bad *Peer
			var srv *fakeredis.Server
			if tc.redis {
				srv = fakeredis.Start(t, 0)
				bad, err = OpenPeer(t.Context(), PeerSCSRedis, PeerOptions{Redis: &redisaddr.Server{Addr: srv.Addr}})
				if err != nil {
					t.Fatal(err)
				}
				// The server first: the peer's Close, which removes its
				// keys, then finds no server at once, where the silent
				// one held it for its 5 s deadline.
				t.Cleanup(func() { srv.Close(); bad.Close() })
			} else {
				bad = &Peer{Name: "failing", Handler: failingAfterWarmUp(cfg.Sessions * len(cfg.Sizes))}
			}
			cfg := cfg
			cfg.OnStep = func(step string) {
				if srv != nil && strings.HasPrefix(step, tc.silence) {
					srv.Silence()
				}
			}
			type outcome struct {
				res      []Result
				failures []Failure
				err      error
			}
			done := make(chan outcome, 1)
			go func() {
				res, failures, err := Run(context.Background(), cfg, []*Peer{mem, bad})
				done <- outcome{res, failures, err}
			}()
			var o outcome
			select {
			case o = <-done:
			case <-time.After(2 * time.Minute): // a hang detector
				t.Fatal("the run did not end")
			}
			if o.err != nil {
				t.Fatalf("Run: %v; want the failure reported for the peer alone", o.err)
			}
			if len(o.failures) != 1 || o.failures[0].Peer != bad.Name {
				t.Fatalf("failures %+v; want %s's alone", o.failures, bad.Name)
			}
			for _, w := range tc.want {
				if !strings.Contains(o.failures[0].Error, w) {
					t.Errorf("failure %q; want %q in it", o.failures[0].Error, w)
				}
			}
			if srv != nil && !strings.Contains(o.failures[0].Error, srv.Addr) {
				t.Errorf("failure %q does not name the server %s", o.failures[0].Error, srv.Addr)
			}
			var peers []string
			for _, r := range o.res {
				peers = append(peers, r.Peer)
				if r.Peer == PeerSCSMem && (r.Requests1 == 0 || r.RequestsN == 0 || r.HotSent == 0) {
					t.Errorf("the other peer's result is incomplete: %+v", r)
				}
			}
			if strings.Join(peers, ",") != "scs-mem,scs-mem" {
				t.Errorf("results for %v; want scs-mem's, at both sizes, alone", peers)
			}
			rep := BuildReport(cfg, []*Peer{mem, bad}, o.res, o.failures, time.Now(), time.Now())
			var b bytes.Buffer
			if err := WriteMarkdown(&b, rep); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "Failed, no results:\n- "+bad.Name+": ") || len(rep.Ratios) != 0 {
				t.Errorf("the report does not list the failed peer, or has ratios to it:\n%s", b.String())
			}
		})
	}
}

// failingAfterWarmUp serves the benchmark's routes as a peer whose store
// fails once its sessions are set up: every increment after the first
// warmUps (one per session and size) is answered 500.
func failingAfterWarmUp(warmUps int) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case pathNew:
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "x"})
			w.Write([]byte("0"))
		case pathIncr:
			if n.Add(1) > int64(warmUps) {
				http.Error(w, "the store is down", http.StatusInternalServerError)
				return
			}
			w.Write([]byte("1"))
		}
	})
}
