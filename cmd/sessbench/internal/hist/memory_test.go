package hist

import (
	"runtime"
	"testing"
	"time"
)

// TestMemoryGrowsWithSamples: a histogram takes memory for the buckets its
// samples fell in, not for all of them. sessbench gives each client one
// before its first operation, and each took 37 KiB whatever it recorded:
// 3.7 GB at --concurrency 100000. Counted in bytes allocated, not timed.
func TestMemoryGrowsWithSamples(t *testing.T) {
	const n = 1000
	// Five samples a decade apart: five chunks, as a client of a run at a
	// high concurrency records a few operations.
	samples := []time.Duration{10 * time.Microsecond, 100 * time.Microsecond, time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond}
	hs := make([]*Histogram, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range hs {
		hs[i] = new(Histogram)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 1024 {
		t.Errorf("an empty histogram takes %d bytes, want at most 1 KiB", per)
	}
	runtime.ReadMemStats(&before)
	for _, h := range hs {
		for _, d := range samples {
			h.Record(d)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > uint64(len(samples))*512+256 {
		t.Errorf("%d samples take %d bytes a histogram, want a chunk of 512 bytes each at most", len(samples), per)
	}
	// Reused, as each client's is for the next measurement: no
	// allocation, and the samples of the last one are gone.
	h := hs[0]
	if a := testing.AllocsPerRun(100, func() {
		h.Reset()
		for _, d := range samples {
			h.Record(d)
		}
	}); a != 0 {
		t.Errorf("a reset histogram allocates %v times recording in the buckets it had", a)
	}
	if h.Count() != uint64(len(samples)) || h.Quantile(0.5) < time.Millisecond || h.Quantile(0.5) > time.Millisecond*101/100 {
		t.Errorf("after Reset: count %d, p50 %v; want %d, about 1ms", h.Count(), h.Quantile(0.5), len(samples))
	}
	var m Histogram
	m.Merge(hs[1])
	m.Merge(hs[2])
	if m.Count() != 2*uint64(len(samples)) || m.Max() != 100*time.Millisecond || m.Min() != 10*time.Microsecond {
		t.Errorf("merged: count %d, min %v, max %v", m.Count(), m.Min(), m.Max())
	}
	runtime.KeepAlive(hs)
}
