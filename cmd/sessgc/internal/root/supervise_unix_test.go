//go:build unix

package root

import (
	"os"
	"syscall"
	"testing"
	"time"
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

// stuckChild is a worker that died without reporting (its report pipe
// closed empty) and whose exit does not complete: the kernel's close of
// its files on an NFS hard mount waits for a server that is away. Wait
// returns once exit is closed; Kill changes nothing for a dying process.
type stuckChild struct {
	waiting chan struct{} // closed as Wait is called
	exit    chan struct{}
	signals int
	killed  bool
}

func (c *stuckChild) Signal(os.Signal) error { c.signals++; return nil }
func (c *stuckChild) Kill() error            { c.killed = true; return nil }
func (c *stuckChild) Wait() error {
	close(c.waiting)
	<-c.exit
	return nil
}

// TestSecondSignalWorkerExitStuck: a worker that died without reporting,
// its exit stuck in the kernel, leaves a second Ctrl-C its meaning: the
// supervisor gives up on it and exits at once, with the signal's code. It
// waited for the worker's exit with no signal read meanwhile, and sessgc
// hung, deaf to Ctrl-C, until the file server came back: the very hang
// the supervisor is there to spare.
func TestSecondSignalWorkerExitStuck(t *testing.T) {
	sig := make(chan os.Signal, 2)
	reported := make(chan string, 1)
	reported <- "" // the pipe closed with no exit code: the worker died
	c := &stuckChild{waiting: make(chan struct{}), exit: make(chan struct{})}
	defer close(c.exit)
	done := make(chan int, 1)
	go func() { done <- superviseWait(sig, reported, c) }()
	<-c.waiting
	sig <- os.Interrupt
	sig <- syscall.SIGINT
	select {
	case code := <-done:
		if want := 128 + int(syscall.SIGINT); code != want || !c.killed {
			t.Errorf("second Ctrl-C, the worker's exit stuck: exit %d, killed %v; want exit %d, killed", code, c.killed, want)
		}
	case <-time.After(time.Minute): // a hang detector only
		t.Fatal("second Ctrl-C, the worker's exit stuck: the supervisor did not return: it waits for the worker's exit, reading no signal")
	}
}
