package nfstest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// lockMargin is kept between the end of a guest run and the test binary's
// deadline, so that Run reports a lock timeout or a hung guest itself, with
// diagnostics, before the testing package panics.
const lockMargin = 20 * time.Second

// lockGuests takes the machine-wide guest lock for one guest run (see
// lockMachine), waiting no longer than ctx and the test binary's deadline
// (if hasDeadline) allow, and shortens cfg.Timeout to what is left of it.
// It returns the release; logf is told about waits and the shortening.
func lockGuests(ctx context.Context, deadline time.Time, hasDeadline bool, cfg *Config, state string, logf func(format string, args ...any)) (func(), error) {
	path := lockPath()
	if path == "" {
		timeline(state, "parent", EnvLock+"=off: not taking the machine-wide guest lock")
		return func() {}, nil
	}
	if hasDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-lockMargin))
		defer cancel()
	}
	start := time.Now()
	locked, release, err := lockMachine(ctx, path, func(holder string) {
		logf("nfstest: waiting for the machine-wide guest lock %s, held by %s", path, holder)
	})
	if err != nil {
		return nil, fmt.Errorf("%w\n(set %s to another file, or to \"off\" if guests are serialized by other means)", err, EnvLock)
	}
	waited := time.Since(start).Round(time.Millisecond)
	timeline(state, "parent", fmt.Sprintf("took guest lock %s after %v", locked, waited))
	if waited >= time.Second {
		logf("nfstest: waited %v for the machine-wide guest lock %s", waited, locked)
	}
	if hasDeadline {
		left := time.Until(deadline) - lockMargin
		if left < 30*time.Second {
			release()
			return nil, fmt.Errorf("nfstest: only %v left before the test deadline once the guest lock was free; raise go test -timeout", left.Round(time.Second))
		}
		if left < cfg.Timeout {
			logf("nfstest: guest timeout cut from %v to %v by the test deadline", cfg.Timeout, left.Round(time.Second))
			cfg.Timeout = left
		}
	}
	return func() {
		release()
		timeline(state, "parent", "released guest lock "+locked)
	}, nil
}

// lineSuffix names the line for the machine-wide guest lock: the lock
// file's name with it appended.
const lineSuffix = ".next"

// lockLine takes the line for the machine-wide guest lock: the one guest
// run that holds it boots its guest while another holds the lock, and
// leaves the line once it has the lock (see bootGuest). So at most two
// guests are up at a time, one of them waiting, rather than every test
// binary's that waits for the lock. It waits no longer than the test
// binary's deadline (if hasDeadline) allows, and returns the release,
// which may be called more than once, and the line's file ("" when the
// lock is off).
func lockLine(deadline time.Time, hasDeadline bool, state string, logf func(format string, args ...any)) (func(), string, error) {
	path := lockPath()
	if path == "" {
		return func() {}, "", nil
	}
	path += lineSuffix
	ctx := context.Background()
	if hasDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-lockMargin))
		defer cancel()
	}
	locked, release, err := lockMachine(ctx, path, func(holder string) {
		logf("nfstest: waiting to boot ahead of the machine-wide guest lock: %s is held by %s", path, holder)
	})
	if err != nil {
		return nil, "", fmt.Errorf("%w\n(set %s to another file, or to \"off\" if guests are serialized by other means)", err, EnvLock)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			release()
			timeline(state, "parent", "left the line "+locked)
		})
	}, locked, nil
}

// Event appends a line to the run's timeline (NFS_TIMELINE in the guest),
// which Run prints, merged with the harness's own events (boot, mounts,
// link cuts and restores, each host's exit), when the run fails. Use it for
// the moments a diagnosis needs: "lock taken", "save returned ErrLockLost".
// Outside the harness it does nothing.
func Event(format string, args ...any) {
	if p := os.Getenv("NFS_TIMELINE"); p != "" {
		timeline(filepath.Dir(p), Host(), fmt.Sprintf(format, args...))
	}
}

// timeline appends "HH:MM:SS.mmm who: msg" (UTC) to state/timeline.log.
// Errors are ignored: the timeline is diagnosis, never the test's subject.
func timeline(state, who, msg string) {
	f, err := os.OpenFile(filepath.Join(state, "timeline.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		return
	}
	// One write per line: O_APPEND keeps lines from several hosts whole.
	f.WriteString(time.Now().UTC().Format("15:04:05.000") + " " + who + ": " + strings.ReplaceAll(msg, "\n", " ") + "\n")
	f.Close()
}

// Limits on what diagnose prints, so that a failure's log stays readable.
const (
	diagTimelineLines = 300
	diagDmesgLines    = 120
)

// diagnose returns what a failed guest run left for diagnosis: the
// timeline sorted by time, each host's NFS mount statistics (RPCs that were
// sent, with their errors and timings, transport counters) and the guest
// kernel's log.
func diagnose(state string, hosts []string) string {
	var b strings.Builder
	if tl, err := os.ReadFile(filepath.Join(state, "timeline.log")); err == nil {
		lines := strings.Split(strings.TrimRight(string(tl), "\n"), "\n")
		// The stable sort keeps each writer's own order for equal stamps.
		sort.SliceStable(lines, func(i, j int) bool { return lines[i][:min(12, len(lines[i]))] < lines[j][:min(12, len(lines[j]))] })
		fmt.Fprintf(&b, "\n--- timeline (UTC) ---\n%s", tail(lines, diagTimelineLines))
	} else {
		fmt.Fprintf(&b, "\n--- timeline: %v", err)
	}
	for _, h := range hosts {
		ms, err := os.ReadFile(filepath.Join(state, h+".mountstats"))
		if err != nil {
			fmt.Fprintf(&b, "\n--- %s mountstats: none (%v)", h, err)
			continue
		}
		fmt.Fprintf(&b, "\n--- %s mountstats (operations with no calls left out) ---\n%s", h, trimMountstats(string(ms)))
	}
	if dm, err := os.ReadFile(filepath.Join(state, "dmesg.log")); err == nil {
		fmt.Fprintf(&b, "\n--- guest dmesg (after the kernel's boot) ---\n%s", tail(afterBoot(string(dm)), diagDmesgLines))
	} else {
		fmt.Fprintf(&b, "\n--- guest dmesg: none (%v)", err)
	}
	return b.String()
}

// tail returns the last n lines, saying how many it left out.
func tail(lines []string, n int) string {
	if len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	return fmt.Sprintf("(%d earlier lines left out)\n%s", len(lines)-n, strings.Join(lines[len(lines)-n:], "\n"))
}

// trimMountstats keeps the NFS mounts of a /proc/self/mountstats text and,
// of their per-operation lines, those with at least one call.
func trimMountstats(s string) string {
	var out []string
	inNFS, perOp := false, false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "device ") {
			inNFS = strings.Contains(line, " fstype nfs ") || strings.Contains(line, " fstype nfs4 ")
			perOp = false
		}
		if !inNFS || strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if perOp && len(f) > 1 && strings.HasSuffix(f[0], ":") && f[1] == "0" {
			continue
		}
		if strings.TrimSpace(line) == "per-op statistics" {
			perOp = true
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return "(no NFS mount listed)"
	}
	return strings.Join(out, "\n")
}

// afterBoot returns the kernel log's lines from the start of the guest's
// init on: what came before is the same on every boot.
func afterBoot(dmesg string) []string {
	lines := strings.Split(strings.TrimRight(dmesg, "\n"), "\n")
	for i, l := range lines {
		if strings.Contains(l, " as init process") {
			// Skip init's arguments and environment, indented below it.
			j := i + 1
			for j < len(lines) && strings.Contains(lines[j], "]   ") {
				j++
			}
			return lines[j:]
		}
	}
	return lines
}
