//go:build unix

package main_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRateAndJitterChecked: --rate and --jitter took values no run can
// mean: sessgc run --jitter 1000h slept up to six weeks before each sweep,
// and cron started a new one every ten minutes meanwhile; --rate +Inf
// went into the cron line install-cron wrote; a rate so low that a run
// within --max-duration removes one file at most swept nothing of a real
// store, with exit 0, and one without --max-duration waited days between
// two files, holding the fleet lock; install-cron's refusal of a negative one named
// neither the flag given nor its value. Each command that takes them
// refuses such a value the same way (exit 2), naming the flag and the
// value, in the words the operator gave it (a flag or its variable).
func TestRateAndJitterChecked(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"run", "--jitter", "1000h"}, "", "--jitter 1000h0m0s: want at most 24h"},
		{[]string{"run", "--jitter", "-1s"}, "", "--jitter -1s: want 0 or more"},
		{[]string{"run", "--rate", "-1"}, "", "--rate -1: want 0 (no cap)"},
		{[]string{"run"}, "SESSGC_RATE=NaN", "--rate NaN: want 0 (no cap)"},
		{[]string{"run", "--rate", "0.001", "--max-duration", "8m"}, "", "--rate 0.001: one file every 16m40s, longer than --max-duration 8m"},
		// Without --max-duration nothing ends such a run: it held the
		// fleet lock for years.
		{[]string{"run", "--rate", "1e-300"}, "", "--rate 1e-300: one file every day or more, and no --max-duration"},
		{[]string{"run", "--rate", "0.00001"}, "", "--rate 1e-05: one file every day or more, and no --max-duration"},
		{[]string{"rekey", "--rate", "1e-06", "--keys-file", "/nonexistent"}, "", "--rate 1e-06: one file every day or more, and no --max-duration"},
		{[]string{"install-cron", "--rate", "Inf"}, "", "--rate +Inf: want 0 (no cap)"},
		{[]string{"install-cron", "--rate", "-1"}, "", "--rate -1: want 0 (no cap)"},
		{[]string{"install-cron", "--jitter", "-1s"}, "", "--jitter -1s: want 0 or more"},
		{[]string{"install-cron", "--rate", "0.001"}, "", "--rate 0.001: one file every 16m40s, longer than --max-duration 8m"},
	} {
		args := append(tc.args, "--dir", dir)
		var env []string
		if tc.env != "" {
			env = append(env, tc.env)
		}
		// Killed if it sleeps out a --jitter it took: a refusal comes at
		// once.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, sessgcBin, args...)
		cmd.Env = command(args, env...).Env
		r := runCmd(t, cmd)
		cancel()
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("sessgc %s (%s): exit %d, stderr %q; want 2 and %q", strings.Join(args, " "), tc.env, r.code, r.stderr, tc.want)
		}
	}
	// Still taken: no cap, and a slow rate that fits the budget. +Inf is
	// no cap to run, as it always was: a cron line an older install-cron
	// wrote with --rate +Inf goes on sweeping after an upgrade, where it
	// failed every run with exit 2 (install-cron writes it no more).
	for _, args := range [][]string{{"run", "--rate", "0", "--missing-ok"}, {"run", "--rate", "+Inf", "--missing-ok"}, {"run", "--rate", "Inf", "--missing-ok"}, {"run", "--rate", "0.5", "--max-duration", "1m", "--missing-ok"}, {"run", "--rate", "0.001", "--missing-ok"}, {"run", "--jitter", "1s", "--missing-ok"}, {"install-cron", "--rate", "0"}} {
		if r := runGC(t, append(args, "--dir", dir)); r.code != 0 {
			t.Errorf("sessgc %s: exit %d, stderr %q; want 0", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}
