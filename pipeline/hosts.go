package pipeline

import (
	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/internal/offheap"
)

// hostTTLs remembers the TTL range each address sent with, across
// connections. It lives with the reader, which sees every packet in
// order, so its answers do not depend on how flows are spread over
// workers. Past maxHosts addresses it learns no new ones.
//
// It is keyed by a 64-bit hash of the address as seen on one capture
// interface (on a router the same host's packets arrive on one interface
// and leave, a hop older, by another). Two hosts whose hashes collide
// would share a range, which can only widen it: a missed mismatch, never
// a false one. It is an open-addressing table of its own, not a map: one
// probe is one cache line, where a Go map lookup in a table this size
// cost two misses.
type hostTTLs struct {
	slots []hostSlot // a power of two long; key 0 marks an empty slot
	n     int
	// rsts are the latest IPv4 RSTs with an IP ID, for IPIDKin.
	rsts  [16]rstSeen
	nrsts int
}

// rstSeen is what IPIDKin compares of a RST.
type rstSeen struct {
	frame, ts int64
	src       [16]byte
	ipid      uint16
	ttl       uint8
}

// Kin RSTs are at most this far apart in IP ID and in time: a device
// resetting for several hosts sends them in a burst, each from the next
// ID of its one counter.
const (
	kinIDs  = 16
	kinTime = 30e9
)

// kin sets p.IPIDKin from the RSTs seen before it and remembers p.
func (h *hostTTLs) kin(p *decode.Packet) {
	if p.IPv6 || p.IPID == 0 {
		return // no IP ID, or a stack that sends its RSTs with 0 (Linux without a socket)
	}
	for i := range min(h.nrsts, len(h.rsts)) {
		r := &h.rsts[i]
		if d := p.IPID - r.ipid; d > 0 && d <= kinIDs && r.src != p.Src && r.ttl == p.TTL &&
			p.TS-r.ts <= kinTime && r.frame > p.IPIDKin {
			p.IPIDKin = r.frame
		}
	}
	h.rsts[h.nrsts%len(h.rsts)] = rstSeen{frame: p.Frame, ts: p.TS, src: p.Src, ipid: p.IPID, ttl: p.TTL}
	h.nrsts++
}

type hostSlot struct {
	key      uint64
	min, max uint8
}

const maxHosts = 1 << 16

// slot returns the slot of key k, or the empty slot where it would go.
func (h *hostTTLs) slot(k uint64) *hostSlot {
	mask := uint64(len(h.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		if s := &h.slots[i]; s.key == k || s.key == 0 {
			return s
		}
	}
}

func (h *hostTTLs) grow() {
	old := h.slots
	h.slots = make([]hostSlot, max(1024, 2*len(old)))
	offheap.Prefault(h.slots)
	for _, s := range old {
		if s.key != 0 {
			*h.slot(s.key) = s
		}
	}
}

func (h *hostTTLs) see(p *decode.Packet) {
	if !sampleTTL(p) {
		return
	}
	rst := p.Flags&decode.RST != 0
	if h.slots == nil {
		h.grow()
	}
	k := decode.EndpointHash(p.Src, uint16(p.Iface)) ^ uint64(p.Iface)<<17
	// Never the empty key. The top bit, which no slot index reaches: the
	// lowest one, set, made every home slot an odd one.
	k |= 1 << 63
	s := h.slot(k)
	switch {
	case rst:
		p.SrcTTLMin, p.SrcTTLMax = s.min, s.max // 0, 0 when unknown
		h.kin(p)
	case s.key == 0 && h.n >= maxHosts:
	case s.key == 0:
		*s = hostSlot{key: k, min: p.TTL, max: p.TTL}
		h.n++
		if h.n*2 > len(h.slots) {
			h.grow()
		}
	default:
		s.min, s.max = min(s.min, p.TTL), max(s.max, p.TTL)
	}
}
