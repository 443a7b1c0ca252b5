package generator

import "math/bits"

// The engine owns its randomness so that a seed gives the same events on
// every Go release and every architecture: math/rand's streams are not
// promised to stay the same, and floating point may be fused differently
// on different CPUs. Every random decision below is made with integers.

// mix64 is the splitmix64 finalizer: a bijective scrambling of x.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hash64 derives a well-mixed value from a stream key, a counter (an event
// or session number) and a salt naming the purpose, so that values drawn for
// different purposes are independent. It is the engine's random access
// source: what only shapes one event's presentation (its id, its duration)
// comes from hash64, so replaying the stream (Skip) need not compute it.
func hash64(key, n, salt uint64) uint64 {
	return mix64(key ^ mix64(n*0x9e3779b97f4a7c15+salt*0xd6e8feb86659fd93))
}

// rng is xoshiro256**, the engine's sequential source for the simulation
// itself (which session acts, what it does next).
type rng struct{ s [4]uint64 }

func newRNG(seed uint64) rng {
	var r rng
	x := seed
	for i := range r.s {
		x += 0x9e3779b97f4a7c15
		r.s[i] = mix64(x)
	}
	return r
}

func (r *rng) next() uint64 {
	s := &r.s
	out := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return out
}

// below returns a number in [0, n) by Lemire's multiply-shift (the bias is
// at most n/2^64, far below anything a test could see). n must be > 0.
func below(x uint64, n uint64) uint64 {
	hi, _ := bits.Mul64(x, n)
	return hi
}

// intn returns a random number in [0, n).
func (r *rng) intn(n int) int { return int(below(r.next(), uint64(n))) }

// permille returns a random number in [0, 1000).
func (r *rng) permille() int { return int(below(r.next(), 1000)) }
