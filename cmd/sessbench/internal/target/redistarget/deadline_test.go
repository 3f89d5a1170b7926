package redistarget

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/fakeredis"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
)

// TestOpenDeadline: each command's deadline, and its answer's, is the one
// the run gives for its sessions (redisaddr.AnswerTimeout: 69 s for 64
// clients of 1 MiB), not go-redis's default 5 s, which took a run of
// large sessions over a slow link for a silent server.
func TestOpenDeadline(t *testing.T) {
	srv := fakeredis.Start(t, 0)
	addr, err := redisaddr.Parse(srv.Addr, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []time.Duration{redisaddr.AnswerTimeout(1<<20, 64), 0} {
		tg, err := Open(context.Background(), "redis", addr, 1, time.Hour, want)
		if err != nil {
			t.Fatal(err)
		}
		if want == 0 {
			want = redisaddr.AnswerBase
		}
		o := tg.c.Options()
		if o.ReadTimeout != want || o.WriteTimeout != want {
			t.Errorf("read and write deadlines %v and %v, want %v", o.ReadTimeout, o.WriteTimeout, want)
		}
		tg.Close()
	}
}
