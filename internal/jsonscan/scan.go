package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

// SkipPlain returns the index of the first byte at or after i that ends
// or escapes a JSON string or may not appear in one ('"', '\\', a byte
// below 0x20), or len(b) when there is none. It tests eight bytes at a
// time: strings are most of a click event's bytes.
func SkipPlain(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		// A byte of hit has its high bit set where w has '"', '\\' or a
		// byte below 0x20 (the "has a zero byte" test; borrows only run
		// upwards, so the lowest hit is exact).
		q := w ^ ('"' * ones)
		bs := w ^ ('\\' * ones)
		hit := (q - ones) &^ q
		hit |= (bs - ones) &^ bs
		hit |= (w - 0x20*ones) &^ w
		if hit &= highs; hit != 0 {
			return i + bits.TrailingZeros64(hit)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// SkipWS returns the index of the first byte at or after i that is not
// JSON whitespace (space, tab, newline, carriage return), or len(b).
func SkipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Number returns the end of the JSON number starting at b[i] (the
// grammar -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), whether it has
// a fraction or an exponent, and ok false when b[i:] does not start with
// one.
func Number(b []byte, i int) (end int, float bool, ok bool) {
	digits := func(i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i + 1)
	default:
		return i, false, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return j, true, false
		}
		i, float = j, true
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return j, true, false
		}
		i, float = j, true
	}
	return i, float, true
}
