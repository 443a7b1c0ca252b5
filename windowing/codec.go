package windowing

import (
	"encoding/binary"
	"errors"
	"math"
)

// errCorrupt is returned by Load for a record it cannot decode.
var errCorrupt = errors.New("windowing: corrupt state record")

func putUvarint(b []byte, x uint64) []byte { return binary.AppendUvarint(b, x) }
func putVarint(b []byte, x int64) []byte   { return binary.AppendVarint(b, x) }
func putFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}
func putString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes what the put functions wrote; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) varint() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

// count reads a length and checks it against what is left (each element
// takes at least min bytes), so a corrupt length cannot allocate wildly.
func (r *reader) count(minBytes int) int {
	n := r.uvarint()
	if minBytes < 1 {
		minBytes = 1
	}
	if n > uint64(len(r.b)/minBytes) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *reader) float() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return f
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail()
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) string() string {
	n := r.count(1)
	if r.err != nil {
		return ""
	}
	return string(r.bytes(n))
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}
