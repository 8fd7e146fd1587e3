package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBucketLayout(t *testing.T) {
	// Buckets tile the value range without gaps or overlaps, and none is
	// wider than 1/halfCount of its lowest value.
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bucketRange(i)
		require.Equal(t, uint64(prevHi+1), lo, "bucket %d", i)
		require.GreaterOrEqual(t, hi, lo)
		if lo >= subCount {
			assert.LessOrEqual(t, float64(hi-lo+1)/float64(lo), 1.0/halfCount, "bucket %d", i)
		}
		require.Equal(t, i, bucketIndex(lo))
		require.Equal(t, i, bucketIndex(hi))
		prevHi = int64(hi)
	}
	assert.Equal(t, uint64(maxTrackable), uint64(prevHi))
	assert.Equal(t, numBuckets-1, bucketIndex(math.MaxUint64), "huge values are clamped")
}

func TestHistogramPercentiles(t *testing.T) {
	tests := []struct {
		name   string
		values []int64
		q      []float64
		want   []int64 // exact percentile (nearest rank) of values
	}{
		{"single", []int64{1234567}, []float64{0, 50, 100}, []int64{1234567, 1234567, 1234567}},
		{"small exact", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []float64{10, 50, 90, 100}, []int64{1, 5, 9, 10}},
		{"zero and negative", []int64{-5, 0, 0, 7}, []float64{50, 75, 100}, []int64{0, 0, 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistogram()
			for _, v := range tc.values {
				h.Record(v)
			}
			require.Equal(t, uint64(len(tc.values)), h.Count())
			for i, q := range tc.q {
				assert.Equal(t, tc.want[i], h.Percentile(q), "p%v", q)
			}
		})
	}
}

func TestHistogramAccuracyOnRandomData(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	h := NewHistogram()
	vals := make([]int64, 100_000)
	var sum float64
	for i := range vals {
		// Log-uniform from 1 µs to 1 s, like latencies.
		vals[i] = int64(math.Exp(rng.Float64()*math.Log(1e6)) * 1e3)
		h.Record(vals[i])
		sum += float64(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{1, 25, 50, 90, 99, 99.9, 99.99} {
		exact := vals[int(math.Ceil(q/100*float64(len(vals))))-1]
		got := h.Percentile(q)
		assert.GreaterOrEqual(t, got, exact, "p%v never under-reports", q)
		assert.LessOrEqual(t, float64(got-exact)/float64(exact), 1.0/halfCount, "p%v within bucket precision", q)
	}
	assert.Equal(t, vals[0], h.Min())
	assert.Equal(t, vals[len(vals)-1], h.Max())
	assert.InDelta(t, sum/float64(len(vals)), h.Mean(), 1e-6*sum/float64(len(vals)))
	prev := int64(0)
	for q := 0.0; q <= 100; q += 0.5 {
		p := h.Percentile(q)
		assert.GreaterOrEqual(t, p, prev, "monotonic at p%v", q)
		prev = p
	}
}

func TestHistogramMerge(t *testing.T) {
	a, b, both := NewHistogram(), NewHistogram(), NewHistogram()
	for i := int64(1); i <= 1000; i++ {
		v := i * 997
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		both.Record(v)
	}
	a.Merge(b)
	a.Merge(nil)
	a.Merge(NewHistogram())
	assert.Equal(t, both.Count(), a.Count())
	assert.Equal(t, both.Min(), a.Min())
	assert.Equal(t, both.Max(), a.Max())
	assert.InDelta(t, both.Mean(), a.Mean(), 1e-9)
	for _, q := range []float64{0, 50, 99, 99.9, 100} {
		assert.Equal(t, both.Percentile(q), a.Percentile(q), "p%v", q)
	}
}

func TestHistogramEmpty(t *testing.T) {
	h := NewHistogram()
	assert.Zero(t, h.Count())
	assert.Zero(t, h.Min())
	assert.Zero(t, h.Max())
	assert.Zero(t, h.Mean())
	assert.Zero(t, h.Percentile(99))
}
