package hist

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestIndexBoundsRoundTrip(t *testing.T) {
	// Every value must land in a bucket whose bounds contain it, and bucket
	// indexes must be monotonic in the value.
	prev := -1
	for _, v := range []uint64{0, 1, 2, 255, 256, 257, 511, 512, 1000, 12345, 1 << 20, 1<<30 + 7, maxValue} {
		i := index(v)
		if i < prev {
			t.Errorf("index(%d) = %d, below index of a smaller value (%d)", v, i, prev)
		}
		prev = i
		if i >= numBuckets {
			t.Fatalf("index(%d) = %d, out of range %d", v, i, numBuckets)
		}
		lo, hi := bounds(i)
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d with bounds [%d, %d]", v, i, lo, hi)
		}
	}
}

func TestQuantileAccuracy(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"uniform µs", func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(1000000)) }},
		{"exponential", func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * 50e3) }},
		{"small exact", func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(200)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h Histogram
			vals := make([]time.Duration, 100000)
			for i := range vals {
				vals[i] = tt.gen(r)
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				want := vals[int(q*float64(len(vals))+0.999999999)-1]
				got := h.Quantile(q)
				tol := time.Duration(float64(want)/float64(half)) + 1
				if got < want || got > want+tol {
					t.Errorf("q%.3f = %v, want %v (+%v)", q, got, want, tol)
				}
			}
			if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
				t.Errorf("min/max = %v/%v, want %v/%v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
			}
		})
	}
}

func TestMergeAndEmpty(t *testing.T) {
	var a, b, empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Fatal("empty histogram reports non-zero")
	}
	a.Record(10 * time.Microsecond)
	b.Record(time.Millisecond)
	b.Record(time.Hour * 3) // beyond the tracked range: clamped, max exact
	a.Merge(&b)
	a.Merge(&empty)
	if a.Count() != 3 || a.Max() != 3*time.Hour || a.Min() != 10*time.Microsecond {
		t.Fatalf("merged count/min/max = %d/%v/%v", a.Count(), a.Min(), a.Max())
	}
	if q := a.Quantile(1); q != 3*time.Hour {
		t.Errorf("q1 = %v", q)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	d := 13 * time.Microsecond
	for i := 0; b.Loop(); i++ {
		h.Record(d + time.Duration(i&1023))
	}
}

// recordN records d count times, as count calls of Record would, without
// taking count calls: the rank test needs tens of millions of samples.
func (h *Histogram) recordN(d time.Duration, count uint64) {
	if count == 0 {
		return
	}
	h.Record(d)
	v := min(uint64(d), maxValue)
	*h.bucket(index(v)) += count - 1
	h.n += count - 1
	h.sum += uint64(d) * (count - 1)
}

// TestQuantileNearestRank checks the rank each printed percentile is read
// at: the nearest rank, the ceil(q·n)-th smallest sample, computed here in
// integers. Below that rank every sample is 100 ns and from it on 200 ns
// (both counted exactly), so reading one rank too high or too low changes
// the answer. The counts include the neighbours of every rank's rounding
// and counts above 2^24, where a float64 q·n plus a fixed fudge rounds up
// to the next integer.
func TestQuantileNearestRank(t *testing.T) {
	quantiles := []struct {
		q      float64
		perMil uint64
	}{{0.5, 500}, {0.9, 900}, {0.99, 990}, {0.999, 999}}
	counts := []uint64{1, 2, 3, 7, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 1003, 123457,
		1<<24 + 1, 16795000, 16946700, 18641360, 1 << 30}
	for _, qq := range quantiles {
		for _, n := range counts {
			rank := (n*qq.perMil + 999) / 1000 // ceil(q·n), at least 1
			for _, tc := range []struct {
				name string
				low  uint64 // samples of 100 ns; the rest are 200 ns
				want time.Duration
			}{
				{"rank is the last low sample", rank, 100},
				{"rank is the first high sample", rank - 1, 200},
			} {
				var h Histogram
				h.recordN(100, tc.low)
				h.recordN(200, n-tc.low)
				if got := h.Quantile(qq.q); got != tc.want {
					t.Errorf("q%g of %d samples (%s, rank %d): %v, want %v", qq.q, n, tc.name, rank, got, tc.want)
				}
			}
		}
	}
}

// TestQuantileAboveTrackedRange: samples above the tracked range (about 73
// minutes: an operation stuck on a hung hard mount) share the top bucket,
// whose highest value is the exact Max. A quantile that falls there must
// not read as the range's end, below every sample it stands for.
func TestQuantileAboveTrackedRange(t *testing.T) {
	tests := []struct {
		name    string
		samples map[time.Duration]uint64
		q       float64
		want    time.Duration
	}{
		{"all above", map[time.Duration]uint64{3 * time.Hour: 100}, 0.5, 3 * time.Hour},
		{"tail above", map[time.Duration]uint64{time.Millisecond: 90, 2 * time.Hour: 10}, 0.99, 2 * time.Hour},
		{"below the tail", map[time.Duration]uint64{time.Millisecond: 90, 2 * time.Hour: 10}, 0.9, time.Millisecond},
		{"top bucket, in range", map[time.Duration]uint64{maxValue - 5: 10}, 0.5, maxValue - 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for d, n := range tt.samples {
				h.recordN(d, n)
			}
			got := h.Quantile(tt.q)
			// Within the histogram's precision above the exact value.
			if got < tt.want || got > tt.want+tt.want/128 {
				t.Errorf("q%g = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}
