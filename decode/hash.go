package decode

import (
	"encoding/binary"
	"math/bits"
)

// FlowHash gives both directions of a connection the same worker and
// table slot: it adds the endpoints' hashes (addition commutes), then
// mixes the sum once more. It is fixed, not seeded: the same capture
// spreads over workers the same way on every run.
func (p *Packet) FlowHash() uint64 {
	return fmix(EndpointHash(p.Src, p.SrcPort) + EndpointHash(p.Dst, p.DstPort))
}

// EndpointHash hashes one endpoint, address and port.
func EndpointHash(a [16]byte, port uint16) uint64 {
	w0 := binary.LittleEndian.Uint64(a[0:8])
	w1 := binary.LittleEndian.Uint64(a[8:16])
	return fmix(mul(w0^0xa0761d6478bd642f, w1^0xe7037ed1a0b428db) ^ mul(uint64(port)^0x8ebc6af09c88c6e3, 0x589965cc75374cc3))
}

// mul folds the 128-bit product of a and b (the wyhash mixing step).
func mul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// fmix is murmur3's 64-bit finalizer: every input bit moves every
// output bit.
func fmix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
