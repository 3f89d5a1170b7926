//go:build unix

package root

import (
	"os"
	"syscall"
	"testing"
)

// fakeChild is a worker that reports exit code 0 as soon as it is
// signalled: it stopped cleanly, its summary written.
type fakeChild struct {
	reported chan string
	killed   bool
}

func (c *fakeChild) Signal(os.Signal) error { c.reported <- "0"; return nil }
func (c *fakeChild) Kill() error            { c.killed = true; return nil }
func (c *fakeChild) Wait() error            { return nil }

// TestSecondSignalAfterReport: a second Ctrl-C that comes with the
// worker's report, both there when the supervisor looks, is the end of a
// run that stopped cleanly: exit with the worker's code, no kill, and no
// word that no summary was written (the worker wrote it before its
// report). The supervisor's select took either at random, and half the
// time killed a worker that had finished and said it wrote nothing. The
// order is forced: the worker's report is in before the second signal is
// read, each of the rounds.
func TestSecondSignalAfterReport(t *testing.T) {
	for i := 0; i < 64; i++ {
		sig := make(chan os.Signal, 2)
		sig <- os.Interrupt
		c := &fakeChild{reported: make(chan string, 1)}
		// The second signal is queued only once the first is passed on
		// (and the report in): superviseWait reads the first alone.
		first := &orderedChild{fakeChild: c, then: func() { sig <- syscall.SIGINT }}
		code := superviseWait(sig, c.reported, first)
		if code != 0 || c.killed {
			t.Fatalf("round %d: second Ctrl-C with the report in: exit %d, killed %v; want the worker's exit 0, no kill", i, code, c.killed)
		}
	}
}

// orderedChild is a fakeChild that runs then after it reports.
type orderedChild struct {
	*fakeChild
	then func()
}

func (c *orderedChild) Signal(s os.Signal) error {
	err := c.fakeChild.Signal(s)
	c.then()
	return err
}
