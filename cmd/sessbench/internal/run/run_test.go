package run

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/fsstore"
)

func parse(t *testing.T, args ...string) (*RunOptions, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdRun, args, nil)
}

func TestFlagDefaults(t *testing.T) {
	o, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.validate()
	if err != nil {
		t.Fatal(err)
	}
	c := p.cfg
	if !slices.Equal(c.Workloads, []bench.Workload{bench.Cycle, bench.Load, bench.Save, bench.Touch}) ||
		!slices.Equal(c.Sizes, []int{1024, 16384}) || !slices.Equal(c.Concurrency, []int{1, 8, 64}) ||
		c.Sessions != 1000 || c.HotSessions != 1 || c.WriteRatio != 0.1 || c.Duration != time.Second ||
		c.Warmup != 200*time.Millisecond || c.Rounds != 3 || c.Rate != 0 || p.dur != nil ||
		len(o.Dirs) != 0 || o.Redis != "" || o.JSON || o.CSV || o.Plot != "" {
		t.Errorf("defaults: %+v %+v", c, o)
	}
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		check   func(*RunOptions, *plan) bool
		wantErr string
	}{
		{"dirs and redis", []string{"--dir", "/a", "--dir", "/b,c", "--redis", "127.0.0.1:6379"},
			func(o *RunOptions, _ *plan) bool {
				return slices.Equal(o.Dirs, []string{"/a", "/b,c"}) && o.Redis == "127.0.0.1:6379"
			}, ""},
		{"sweep", []string{"--concurrency", "2,4", "--size", "512,4k,1MiB", "--workload", "hot,mixed"},
			func(_ *RunOptions, p *plan) bool {
				return slices.Equal(p.cfg.Concurrency, []int{2, 4}) && slices.Equal(p.cfg.Sizes, []int{512, 4096, 1 << 20}) &&
					slices.Equal(p.cfg.Workloads, []bench.Workload{bench.Hot, bench.Mixed})
			}, ""},
		{"ops replaces duration", []string{"--ops", "500"}, func(_ *RunOptions, p *plan) bool { return p.cfg.Ops == 500 && p.cfg.Duration == 0 }, ""},
		{"durability", []string{"--durability", "full"}, func(_ *RunOptions, p *plan) bool { return p.dur != nil && *p.dur == fsstore.DurabilityFull }, ""},
		{"plot", []string{"--plot", filepath.Join(dir, "x.svg")}, func(o *RunOptions, _ *plan) bool { return o.Plot != "" }, ""},
		{"bad workload", []string{"--workload", "nap"}, nil, "unknown workload"},
		{"bad size", []string{"--size", "big"}, nil, "bad size"},
		{"huge size", []string{"--size", "65MiB"}, nil, "bad size"},
		{"zero concurrency", []string{"--concurrency", "0"}, nil, "concurrency 0"},
		{"bad ratio", []string{"--write-ratio", "1.5"}, nil, "--write-ratio 1.5"},
		{"bad durability", []string{"--durability", "maybe"}, nil, "durability"},
		{"zero rounds", []string{"--rounds", "0"}, nil, "rounds"},
		{"negative rate", []string{"--rate", "-3"}, nil, "rate"},
		{"hot above sessions", []string{"--sessions", "2", "--hot-sessions", "3"}, nil, "--hot-sessions 3"},
		{"svg plot", []string{"--plot", filepath.Join(dir, "x.SVG")}, func(o *RunOptions, _ *plan) bool { return o.Plot != "" }, ""},
		{"png plot", []string{"--plot", filepath.Join(dir, "x.png")}, nil, "written as SVG"},
		{"gif plot", []string{"--plot", filepath.Join(dir, "x.gif")}, nil, "written as SVG"},
		{"plot dir missing", []string{"--plot", "/nonexistent/x.svg"}, nil, "does not exist"},
		{"redis without port", []string{"--redis", "localhost"}, nil, "host:port"},
		{"repeated size", []string{"--size", "1KiB", "--size", "1KiB"}, nil, "--size 1KiB: given twice"},
		{"same size spelt twice", []string{"--size", "1KiB,512,1024"}, nil, "--size 1024: the same as 1KiB"},
		{"repeated concurrency", []string{"--concurrency", "1,1"}, nil, "--concurrency 1: given twice"},
		{"repeated concurrency later", []string{"--concurrency", "1,8", "--concurrency", "8"}, nil, "--concurrency 8: given twice"},
		{"repeated workload", []string{"--workload", "load,load"}, nil, "--workload load: given twice"},
		{"repeated workload spaced", []string{"--workload", "cycle, cycle"}, nil, "--workload cycle: given twice"},
		{"distinct values", []string{"--size", "1KiB,2KiB", "--concurrency", "1,2", "--workload", "load,save"},
			func(_ *RunOptions, p *plan) bool { return len(p.cfg.Sizes) == 2 && len(p.cfg.Concurrency) == 2 }, ""},
		{"percentiles", []string{"--plot", filepath.Join(dir, "x.svg"), "--percentiles", "p50, P99.9"},
			func(_ *RunOptions, p *plan) bool {
				return slices.Equal(p.plot.Percentiles, []string{"p50", "p99.9"})
			}, ""},
		{"default percentiles", []string{"--plot", filepath.Join(dir, "x.svg")},
			func(_ *RunOptions, p *plan) bool {
				return slices.Equal(p.plot.Percentiles, []string{"p50", "p99"})
			}, ""},
		{"title", []string{"--plot", filepath.Join(dir, "x.svg"), "--title", "EFS, one zone"},
			func(_ *RunOptions, p *plan) bool { return p.plot.Title == "EFS, one zone" }, ""},
		{"unknown percentile", []string{"--plot", filepath.Join(dir, "x.svg"), "--percentiles", "p95"}, nil, "--percentiles p95"},
		{"repeated percentile", []string{"--plot", filepath.Join(dir, "x.svg"), "--percentiles", "p99,p99"}, nil, "--percentiles p99: given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parse(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			p, err := o.validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o, p) {
				t.Errorf("options %+v plan %+v", o, p.cfg)
			}
		})
	}
}

func TestFlagConflicts(t *testing.T) {
	tests := [][]string{
		{"--json", "--csv"},
		{"--duration", "1s", "--ops", "5"},
		{"extra-arg"},
		{"--concurrency", "x"},
		{"--title", "x"},
		{"--percentiles", "p50"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if _, err := parse(t, args...); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
