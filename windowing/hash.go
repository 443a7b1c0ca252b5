package windowing

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"math/bits"
)

// The hashes here are part of the on-disk and on-the-wire contract: result
// ids, HyperLogLog registers and exact distinct sets all depend on them, so
// they are written out in full (no hash/maphash, whose seed changes per
// process) and must never change without bumping stateFormat.

const (
	hp0 = 0xa0761d6478bd642f
	hp1 = 0xe7037ed1a0b428db
	hp2 = 0x8ebc6af09c88c6e3
	hp3 = 0x589965cc75374cc3
)

// mix is a 64×64→128 folding multiply.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// hash64 is a fast, platform-independent 64-bit string hash in the style of
// wyhash (little-endian loads, folding multiplies). Its output is stable
// across runs, processes and architectures.
func hash64(s string) uint64 {
	n := len(s)
	seed := uint64(hp0) ^ mix(uint64(n)^hp1, hp2)
	for len(s) > 16 {
		seed = mix(le64(s)^hp1, le64(s[8:])^seed)
		s = s[16:]
	}
	var a, b uint64
	switch m := len(s); {
	case m >= 8:
		a, b = le64(s), le64(s[m-8:])
	case m >= 4:
		a, b = le32(s), le32(s[m-4:])
	case m > 0:
		a = uint64(s[0])<<16 | uint64(s[m>>1])<<8 | uint64(s[m-1])
	}
	return mix(hp1^uint64(n), mix(a^hp1, b^seed^hp3))
}

// resultID is the deterministic id of a result: FNV-1a 128 over a
// canonical encoding of (connector, aggregate, group key, start, end),
// rendered as 32 lowercase hex digits. Each string is length-prefixed so
// that no two different tuples encode the same bytes.
func resultID(connector, aggregate string, groupKey []byte, start, end int64) string {
	h := fnv.New128a()
	var buf [binary.MaxVarintLen64]byte
	put := func(b []byte) {
		n := binary.PutUvarint(buf[:], uint64(len(b)))
		h.Write(buf[:n])
		h.Write(b)
	}
	put([]byte(connector))
	put([]byte(aggregate))
	put(groupKey)
	var t [16]byte
	binary.BigEndian.PutUint64(t[:8], uint64(start))
	binary.BigEndian.PutUint64(t[8:], uint64(end))
	h.Write(t[:])
	return hex.EncodeToString(h.Sum(nil))
}
