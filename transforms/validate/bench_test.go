package validate

import (
	"testing"
	"time"

	"github.com/connectd/connectd/connector"
	"github.com/connectd/connectd/sources/generator"
)

// benchEvents returns generated event values and how many are invalid.
func benchEvents(b *testing.B, ratio float64) [][]byte {
	e, err := generator.NewEngine(generator.Options{Seed: 1, Users: 10000, Start: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), EventsPerSecond: 1000, BadRecordRatio: ratio})
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, 1024)
	for i := range out {
		out[i] = e.Next().Value
	}
	return out
}

func benchmarkApply(b *testing.B, values [][]byte) {
	tr := newTransform(b, nil)
	size := 0
	for _, v := range values {
		size += len(v)
	}
	b.SetBytes(int64(size / len(values)))
	b.ReportAllocs()
	r := connector.Record{}
	i := 0
	for b.Loop() {
		r.Value = values[i%len(values)]
		_, _ = tr.Apply(&r)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyValid checks valid generated events.
func BenchmarkApplyValid(b *testing.B) { benchmarkApply(b, benchEvents(b, 0)) }

// BenchmarkApplyMixed checks generated events of which 10% are bad (half
// of those invalid, which allocate their error).
func BenchmarkApplyMixed(b *testing.B) { benchmarkApply(b, benchEvents(b, 0.1)) }
