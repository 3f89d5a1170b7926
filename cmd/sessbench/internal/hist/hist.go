// Package hist is a fixed-size, log-linear latency histogram in the style of
// HdrHistogram.
//
// It is written here rather than taken from github.com/HdrHistogram/hdrhistogram-go
// because the benchmark needs only record, merge and quantile over
// nanosecond durations, and a hand-written one with a power-of-two bucket
// layout records in a few nanoseconds without a division, a bounds check
// failure path or an allocation: the harness overhead budget is 2% of a
// ~13 µs operation, and a dependency whose RecordValue returns an error we
// would have to check on every sample buys nothing for that.
//
// Values below 2^SubBits are counted exactly; above, every power-of-two range
// is split into 2^(SubBits-1) equal buckets, and a quantile reports its
// bucket's highest value: at or above the true sample value, by less than
// 1/2^(SubBits-1) (0.8%). Memory is bounded (about 37 KiB at most) however
// many samples are recorded, so long runs stay flat; and the buckets are
// allocated in chunks of 64 as samples first fall in them, so that a
// histogram that has seen a few samples holds a few chunks: sessbench
// gives each client one, and at --concurrency 100000 a full histogram
// each took 3.7 GB before the first operation. An empty one is under
// 700 bytes; each chunk adds 512.
package hist

import (
	"math"
	"math/bits"
	"time"
)

// SubBits sets the precision: 2^(SubBits-1) buckets per power of two.
const SubBits = 8

const (
	subCount = 1 << SubBits
	half     = subCount / 2
	// maxBits bounds trackable values to 2^maxBits-1 ns (about 73 minutes);
	// larger values are clamped into the top bucket (Max stays exact, and
	// is what a quantile in that bucket reports).
	maxBits    = 42
	maxValue   = 1<<maxBits - 1
	numBuckets = subCount + (maxBits-SubBits)*half

	chunkBits = 6
	chunkLen  = 1 << chunkBits
	numChunks = (numBuckets + chunkLen - 1) / chunkLen
)

// Histogram counts nanosecond durations. The zero value is ready to use. It
// is not safe for concurrent use: give each worker its own and Merge them.
// It must not be copied once used: a copy shares its buckets.
type Histogram struct {
	// chunks holds the buckets, chunkLen to a chunk, each allocated when
	// a sample first falls in it; nil is all zeros.
	chunks [numChunks]*[chunkLen]uint64
	n      uint64
	sum    uint64 // nanoseconds; overflows only after ~584 years of samples
	min    uint64
	max    uint64
}

func index(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - SubBits // >= 1
	// v>>shift has SubBits bits with the top one set: [half, subCount).
	return subCount + (shift-1)*half + int(v>>uint(shift)) - half
}

// bounds returns the lowest and highest value counted in bucket i.
func bounds(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i)
	}
	j := i - subCount
	shift := uint(j/half + 1)
	m := uint64(half + j%half)
	return m << shift, (m+1)<<shift - 1
}

// Record adds one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
	if v > maxValue {
		v = maxValue
	}
	(*h.bucket(index(v)))++
}

// bucket returns bucket i, allocating its chunk on first use: once per
// chunk in a histogram's life, as Reset keeps the chunks.
func (h *Histogram) bucket(i int) *uint64 {
	c := h.chunks[i>>chunkBits]
	if c == nil {
		c = new([chunkLen]uint64)
		h.chunks[i>>chunkBits] = c
	}
	return &c[i&(chunkLen-1)]
}

// count returns the samples in bucket i.
func (h *Histogram) count(i int) uint64 {
	if c := h.chunks[i>>chunkBits]; c != nil {
		return c[i&(chunkLen-1)]
	}
	return 0
}

// Merge adds all samples of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for ci, oc := range o.chunks {
		if oc == nil {
			continue
		}
		c := h.chunks[ci]
		if c == nil {
			c = new([chunkLen]uint64)
			h.chunks[ci] = c
		}
		for j, n := range oc {
			c[j] += n
		}
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Reset empties h. It keeps the chunks h allocated, zeroed, so that a
// histogram reused for the next measurement records without allocating.
func (h *Histogram) Reset() {
	for _, c := range h.chunks {
		if c != nil {
			clear(c[:])
		}
	}
	h.n, h.sum, h.min, h.max = 0, 0, 0, 0
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Min returns the smallest sample, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max returns the largest sample, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the arithmetic mean, exactly.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the value at quantile q in [0, 1], read to nine decimal
// places: the highest value equivalent to the sample of nearest rank
// ceil(q·n) (as HdrHistogram reports), clamped to the exact Min and Max. It
// returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	// Rank of the sample, 1-based: the smallest r with r/n >= q, that is
	// ceil(q·n) (the nearest rank). It is worked out in integers, with q
	// read to nine decimal places, because in float64 q·n is inexact
	// (0.07·100 is 7.000000000000001, whose ceiling is a rank too high)
	// and no fixed tolerance absorbs that for every n: 1e-9 rounds to a
	// whole rank once n passes 2^24.
	p := uint64(math.Round(q * 1e9))
	hi, lo := bits.Mul64(p, h.n)
	lo, carry := bits.Add64(lo, 1e9-1, 0)
	rank, _ := bits.Div64(hi+carry, lo, 1e9) // p <= 1e9, so no overflow
	rank = max(rank, 1)
	var seen uint64
	for i := range numBuckets {
		seen += h.count(i)
		if seen >= rank {
			if i == numBuckets-1 {
				// The top bucket also holds the samples beyond the
				// tracked range, so its highest value is Max, not the
				// range's end, which would read below all of them.
				return time.Duration(h.max)
			}
			_, hi := bounds(i)
			return time.Duration(min(max(hi, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
