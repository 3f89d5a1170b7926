package redistarget

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/fakeredis"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
)

// TestCommandCancelledOnSilentServer: Ctrl-C while a command waits for a
// server that took it and does not answer. go-redis heeds a context's
// deadline in a read, not its end: the command, and the run with it,
// waited for the command's deadline (up to an hour for a run of large
// sessions, see redisaddr.AnswerTimeout) before sessbench could exit.
// The end of the run's context now closes the client, and the command
// returns at once. The deadline here is an hour: a command that returns
// at all did not wait for it. Close then still removes the run's keys.
func TestCommandCancelledOnSilentServer(t *testing.T) {
	for _, op := range []string{"load", "save", "touch", "cycle"} {
		t.Run(op, func(t *testing.T) {
			srv := fakeredis.Start(t, 0)
			addr, err := redisaddr.Parse(srv.Addr, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tg, err := Open(ctx, "redis", addr, 1, time.Hour, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			const id = "0123456789abcdef"
			if err := tg.Save(ctx, id, []byte("x")); err != nil {
				t.Fatal(err)
			}
			srv.Silence()
			done := make(chan error, 1)
			go func() {
				switch op {
				case "load":
					done <- tg.Load(ctx, id)
				case "save":
					done <- tg.Save(ctx, id, []byte("y"))
				case "touch":
					done <- tg.Touch(ctx, id)
				default:
					done <- tg.Cycle(ctx, id, []byte("y"))
				}
			}()
			// The command is sent, and waits for its answer.
			for deadline := time.Now().Add(time.Minute); srv.Ignored() == 0; {
				if time.Now().After(deadline) {
					t.Fatal("the command never reached the server")
				}
				time.Sleep(time.Millisecond) // polling the server's count: it signals nothing
			}
			cancel()
			if err := <-done; err == nil {
				t.Errorf("%s after the cancel, on a silent server: no error", op)
			}
			srv.Speak()
			if err := tg.Close(); err != nil {
				t.Errorf("Close after the cancel: %v", err)
			}
			if n := srv.Keys(); n != 0 {
				t.Errorf("%d keys left after Close, want the run's removed", n)
			}
		})
	}
}
