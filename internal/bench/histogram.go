package bench

import (
	"math"
	"math/bits"
)

// Histogram layout: values below subCount get one bucket each; above that,
// every power of two is split into halfCount equal buckets, so a bucket is
// never wider than 1/halfCount (0.8 %) of the values it holds. This is the
// log-linear layout of HdrHistogram with two significant digits, small
// enough (38 KiB) to keep one per connection and operation.
const (
	subBits   = 8
	subCount  = 1 << subBits // 256
	halfCount = subCount / 2 // 128
	// maxBits bounds the trackable range: values of 2^43 ns (about 2.4
	// hours) and more are clamped into the last bucket.
	maxBits      = 43
	maxTrackable = 1<<maxBits - 1
	numBuckets   = subCount + (maxBits-subBits)*halfCount
)

// Histogram records non-negative int64 values (nanoseconds, here) with a
// relative error below 1 % and answers percentile queries. The zero value
// is not ready; use NewHistogram. A Histogram is not safe for concurrent
// use: keep one per goroutine and Merge them.
type Histogram struct {
	counts []uint64
	total  uint64
	min    int64
	max    int64
	sum    float64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketIndex maps a value to its bucket.
func bucketIndex(v uint64) int {
	if v < subCount {
		return int(v)
	}
	if v > maxTrackable {
		v = maxTrackable
	}
	shift := bits.Len64(v) - subBits // >= 1
	return subCount + (shift-1)*halfCount + int(v>>uint(shift)) - halfCount
}

// bucketRange returns the smallest and largest value a bucket holds.
func bucketRange(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i)
	}
	j := i - subCount
	shift := uint(j/halfCount + 1)
	lo = uint64(j%halfCount+halfCount) << shift
	return lo, lo + 1<<shift - 1
}

// Record adds one value; negative values count as zero.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketIndex(uint64(v))]++
	h.total++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Min is the smallest recorded value (0 when empty).
func (h *Histogram) Min() int64 {
	if h.total == 0 {
		return 0
	}
	return h.min
}

// Max is the largest recorded value (0 when empty).
func (h *Histogram) Max() int64 { return h.max }

// Mean is the exact mean of the recorded values (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Percentile returns the value below or at which q percent of the recorded
// values fall (q in [0, 100]), reported as the highest value of its bucket
// and clamped to [Min, Max]; it is therefore never below the true
// percentile and at most 0.8 % above it. It is monotonic in q. An empty
// histogram gives 0.
func (h *Histogram) Percentile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	q = math.Max(0, math.Min(100, q))
	rank := uint64(math.Ceil(q / 100 * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			_, hi := bucketRange(i)
			v := int64(hi)
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return v
		}
	}
	return h.max
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	if o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
}
