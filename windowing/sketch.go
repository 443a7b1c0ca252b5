package windowing

import (
	"math"
	"slices"
)

// Quantiles: exact (nearest rank over the values kept) while a measure has
// seen at most quantileExact values, then a logarithmic-bucket sketch in
// the manner of DDSketch: value v > 0 falls in bucket ⌈log_γ v⌉ with
// γ = (1+α)/(1−α), α = 1%, and a quantile is answered with the bucket's
// midpoint 2γ^i/(γ+1), so its relative error is at most 1% of the true
// nearest-rank value. Negative values use a mirrored store, zero its own
// count. Buckets depend only on the multiset of values, so the sketch is
// order-independent and mergeable; bucket indices are clamped to
// ±sketchMaxIndex (values below ~1e-9 count as zero).

const (
	quantileExact  = 64
	sketchAlpha    = 0.01
	sketchMaxIndex = 4000
)

var sketchLogGamma = math.Log((1 + sketchAlpha) / (1 - sketchAlpha))

// buckets is a dense run of counts starting at bucket index off.
type buckets struct {
	off    int32
	counts []uint32
}

func (b *buckets) add(i int32, n uint32) {
	if len(b.counts) == 0 {
		b.off = i
		b.counts = append(b.counts, n)
		return
	}
	if i < b.off {
		grow := int(b.off - i)
		b.counts = slices.Insert(b.counts, 0, make([]uint32, grow)...)
		b.off = i
	}
	j := int(i - b.off)
	for j >= len(b.counts) {
		b.counts = append(b.counts, 0)
	}
	b.counts[j] += n
}

func (b *buckets) total() uint64 {
	var t uint64
	for _, c := range b.counts {
		t += uint64(c)
	}
	return t
}

type quantiles struct {
	exact []float64 // nil once sketched
	n     uint64
	zero  uint64
	pos   buckets
	neg   buckets
	sk    bool
}

func bucketOf(v float64) int32 {
	i := math.Ceil(math.Log(v) / sketchLogGamma)
	return int32(max(-sketchMaxIndex, min(sketchMaxIndex, i)))
}

func bucketValue(i int32) float64 {
	g := math.Exp(sketchLogGamma)
	return 2 * math.Exp(float64(i)*sketchLogGamma) / (g + 1)
}

func (q *quantiles) add(v float64) {
	q.n++
	if !q.sk {
		if len(q.exact) < quantileExact {
			q.exact = append(q.exact, v)
			return
		}
		q.toSketch()
	}
	q.sketch(v, 1)
}

func (q *quantiles) sketch(v float64, n uint32) {
	switch {
	case v > 1e-9:
		q.pos.add(bucketOf(v), n)
	case v < -1e-9:
		q.neg.add(bucketOf(-v), n)
	default:
		q.zero += uint64(n)
	}
}

func (q *quantiles) toSketch() {
	q.sk = true
	for _, v := range q.exact {
		q.sketch(v, 1)
	}
	q.exact = nil
}

func (q *quantiles) merge(o *quantiles) {
	if !o.sk {
		for _, v := range o.exact {
			q.add(v)
		}
		return
	}
	if !q.sk {
		q.toSketch()
	}
	q.n += o.n
	q.zero += o.zero
	for j, c := range o.pos.counts {
		if c > 0 {
			q.pos.add(o.pos.off+int32(j), c)
		}
	}
	for j, c := range o.neg.counts {
		if c > 0 {
			q.neg.add(o.neg.off+int32(j), c)
		}
	}
}

// quantile returns the nearest-rank p-quantile (the value of rank ⌈p·n⌉).
func (q *quantiles) quantile(p float64) float64 {
	if q.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p * float64(q.n)))
	rank = max(1, min(rank, q.n))
	if !q.sk {
		s := slices.Clone(q.exact)
		slices.Sort(s)
		return s[rank-1]
	}
	// Ascending: negative buckets from the largest magnitude down, zero,
	// then positive buckets up.
	seen := uint64(0)
	for j := len(q.neg.counts) - 1; j >= 0; j-- {
		seen += uint64(q.neg.counts[j])
		if seen >= rank {
			return -bucketValue(q.neg.off + int32(j))
		}
	}
	seen += q.zero
	if seen >= rank {
		return 0
	}
	for j, c := range q.pos.counts {
		seen += uint64(c)
		if seen >= rank {
			return bucketValue(q.pos.off + int32(j))
		}
	}
	return bucketValue(q.pos.off + int32(len(q.pos.counts)-1))
}
