package generator_test

import (
	"fmt"
	"time"

	"github.com/connectd/connectd/sources/generator"
)

// An engine writes events into buffers the caller reuses; Skip resumes a
// stream at a position without encoding what it skips.
func ExampleEngine_Append() {
	opts := generator.Options{
		Seed:            1,
		Users:           10000,
		Start:           time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		EventsPerSecond: 1000,
		BadRecordRatio:  0.01,
	}
	e, err := generator.NewEngine(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	e.Skip(41)
	var value, key []byte
	for range 3 {
		var m generator.Meta
		value, key, m = e.Append(value[:0], key[:0])
		fmt.Println(m.Position, m.Time.Format(time.RFC3339Nano), string(key), m.Bad, len(value) > 0)
	}
	// Output:
	// 41 2026-11-22T10:00:00.041Z user-1964 none true
	// 42 2026-11-22T10:00:00.042Z user-3767 none true
	// 43 2026-11-22T10:00:00.043Z user-6337 none true
}
