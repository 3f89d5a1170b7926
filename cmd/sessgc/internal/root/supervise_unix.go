//go:build unix

package root

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// envWorker marks the process that does the work under supervise; its
// value is the descriptor on which it reports its exit code.
const envWorker = "SESSFS_SESSGC_WORKER_FD"

// supervise runs sessgc's work in a child process (this binary again) and
// returns the exit code the child reports, without waiting for the child
// to be gone; ok is false when the child could not be started (the caller
// then works in this process).
//
// Why a child: a process that exits while it holds files open on an NFS
// hard mount must close them on the way out, and the kernel's close of an
// NFSv4 file waits for the server's answer however the process is dying.
// With the server unreachable, sessgc's watchdog gave up on time but the
// process stayed in the kernel, unkillable, until the server came back.
// The child reports its exit code and closes its standard output and
// error before it exits; this process, which never opens the store,
// exits at once with that code, and the child's exit completes whenever
// the server answers.
func supervise() (code int, ok bool) {
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, false
	}
	defer r.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w} // descriptor 3
	cmd.Env = append(os.Environ(), envWorker+"=3")
	stopWithParent(cmd)
	// A signal is passed on to the child, which stops cleanly (Ctrl-C may
	// reach it from the terminal too: it treats repeats as one). A second
	// Ctrl-C or SIGTERM here gives up on the child: it is killed and this
	// process exits at once, as a second Ctrl-C kills a process that
	// hangs. A repeated SIGHUP or SIGPIPE is dropped, as InterruptContext
	// drops it: nobody sends those twice to mean it (a dropped ssh
	// session's SIGHUP comes from the shell and again from the kernel).
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, signals()...)
	defer signal.Stop(sig)
	if err := cmd.Start(); err != nil {
		return 0, false
	}
	w.Close()
	reported := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r) // until the child reports, or dies
		reported <- strings.TrimSpace(string(b))
	}()
	return superviseWait(sig, reported, childProcess{cmd}), true
}

// child is the worker process as superviseWait acts on it.
type child interface {
	Signal(os.Signal) error
	Kill() error
	Wait() error
}

// childProcess is a started worker's command as a child.
type childProcess struct{ cmd *exec.Cmd }

func (c childProcess) Signal(s os.Signal) error { return c.cmd.Process.Signal(s) }
func (c childProcess) Kill() error              { return c.cmd.Process.Kill() }
func (c childProcess) Wait() error              { return c.cmd.Wait() }

// superviseWait passes the first signal from sig on to the worker and
// returns the exit code it reports on reported (what it wrote before its
// report pipe closed), or, at a second Ctrl-C or SIGTERM, kills it and
// returns at once. A report already there when that second signal comes
// is the run's end: the worker wrote its summary and textfile before it
// (see report), and saying it was killed before it wrote them, as when
// the select took the signal first, contradicted the summary just above.
//
// A pipe closed with no code is a worker that died without reporting:
// its exit code is Wait's, which returns once its exit is complete. That
// may take as long as the file server is away (the kernel's close of its
// NFS files, the hang supervise is there for), so the wait goes on beside
// the signals, and a second Ctrl-C or SIGTERM still gives up at once.
func superviseWait(sig <-chan os.Signal, reported <-chan string, c child) int {
	var waited chan error // nil until the worker died without reporting
	ended := func(rep string) (code int, ok bool) {
		if code, err := strconv.Atoi(rep); err == nil {
			return code, true
		}
		reported, waited = nil, make(chan error, 1)
		go func() { waited <- c.Wait() }()
		return 0, false
	}
	signalled := false
	for {
		select {
		case s := <-sig:
			if signalled && s != os.Interrupt && s != syscall.SIGTERM {
				continue
			}
			if signalled {
				select {
				case rep := <-reported:
					if code, ok := ended(rep); ok {
						return code
					}
				default:
				}
				select {
				case err := <-waited:
					return unreported(err)
				default:
				}
				c.Kill()
				code := cmdutil.ExitInterrupted
				if n, ok := s.(syscall.Signal); ok {
					code = 128 + int(n)
				}
				// Said, as the worker cut short says nothing: a clean
				// stop and one given up on must not look alike.
				fmt.Fprintf(os.Stderr, "sessgc: a second %s: the worker process was killed before it stopped cleanly: no summary or textfile was written; every removal or rewrite is atomic, and the next run puts back a record it left aside; exit %d\n", cmdutil.SignalName(s), code)
				return code
			}
			signalled = true
			c.Signal(s)
		case rep := <-reported:
			if code, ok := ended(rep); ok {
				return code
			}
		case err := <-waited:
			return unreported(err)
		}
	}
}

// unreported returns the exit code of a worker that ended without
// reporting one, given what Wait returned for it. Killed by a signal, it
// is 128 plus the signal's number, as a shell reports it, and a line on
// stderr says so: the worker printed nothing (no summary, no textfile),
// and cron mails only what a job prints, so an out-of-memory kill would
// go unseen. One of the signals that stop sessgc cleanly kills the worker
// only before it catches them, as it starts: that is an interruption.
// Otherwise the worker crashed: a panic or a Go runtime fatal error exits
// 2, which reads as a usage error ("fix the cron line"), so a crash has
// its own code, and says so after whatever the runtime printed.
func unreported(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig := ws.Signal()
			code := 128 + int(sig)
			if slices.Contains(signals(), os.Signal(sig)) {
				fmt.Fprintf(os.Stderr, "sessgc: interrupted by %s as it started, before its work began\n", cmdutil.SignalName(sig))
				return code
			}
			cause := unix.SignalName(sig)
			if sig == syscall.SIGKILL {
				cause += " (kill -9 of its pid, or the kernel's out-of-memory killer)"
			}
			fmt.Fprintf(os.Stderr, "sessgc: the worker process died of %s before it reported how the run ended: no summary or textfile was written; every removal or rewrite is atomic, and the next run goes on; exit %d\n", cause, code)
			return code
		}
	}
	status := "exit status 0"
	if err != nil {
		status = err.Error()
	}
	fmt.Fprintf(os.Stderr, "sessgc: the worker process crashed (%s) without reporting how the run ended: a bug in sessgc; exit %d\n", status, cmdutil.ExitCrashed)
	return cmdutil.ExitCrashed
}

// worker, in the child, keeps sessgc's signals caught for good:
// the first one stops the work (cmdutil.InterruptContext); repeats, such
// as the parent passing on a Ctrl-C the terminal also sent here, are
// dropped, and it is the parent that gives up on a second one.
func worker() {
	if os.Getenv(envWorker) != "" {
		signal.Notify(make(chan os.Signal, 1), signals()...)
	}
}

// report, in the child, closes standard output and error (so that whoever
// reads them sees the end now, not when the process is gone) and tells
// the supervising parent the exit code.
func report(code int) {
	fd, err := strconv.Atoi(os.Getenv(envWorker))
	if err != nil {
		return
	}
	os.Stdout.Close()
	os.Stderr.Close()
	f := os.NewFile(uintptr(fd), "sessgc-status")
	f.WriteString(strconv.Itoa(code))
	f.Close()
}

// signals are the signals that stop sessgc cleanly: cmdutil's, and
// SIGPIPE, a standard output whose reader is gone ("sessgc run -v | head"),
// which would otherwise kill the worker mid-pass with no textfile. sessgc
// writes to no socket, where a caught SIGPIPE would stop it too.
func signals() []os.Signal { return append(cmdutil.InterruptSignals(), syscall.SIGPIPE) }
