package pipeline

import (
	"net/netip"

	"github.com/rstwhy/rstwhy/decode"
)

// upstreams remembers, in frame order, the connections each host opened as
// a client and how they failed, so that a RST the host sends shortly after
// carries the latest failure (decode.Packet.Upstream): a proxy resets its
// own client after its upstream reset, refused, never answered or closed.
// Package correlate decides from the reset's connection whether the two are
// linked; this pass only offers the candidate. It lives with the reader, so
// the candidate does not depend on how flows are spread over workers.
//
// A host is its address; on a Linux cooked capture (tcpdump -i any) of the
// host itself, every packet it originated (outgoing, with an initial TTL:
// not forwarded) is also one host, whatever address it used, for a proxy
// reaches its upstream from another address than its clients reach it on.
// An attempt is filed under both, a RST looks under both.
//
// Memory is bounded: upRing attempts (the oldest goes first),
// and for at most upHosts hosts the seqs of their latest upPerHost attempts
// and failures.
type upstreams struct {
	ring []upAttempt // attempt n (from 1) in ring[(n-1) % upRing], grown as needed
	n    uint64
	// index finds an attempt by its flow hash: direct-mapped, a later
	// attempt takes a colliding one's slot (a missed link, never a false
	// one: the attempt's four-tuple is checked).
	index []upSlot
	hosts map[[16]byte]int32 // index in hostv
	hostv []upHost
}

type upSlot struct{ hash, seq uint64 }

const (
	upRing    = 4096
	upIndex   = 4096 // a power of two
	upHosts   = 4096
	upPerHost = 4
	// upEventAge: a proxy resets its client this long after an upstream
	// RST, refusal or FIN at most. Go's net/http waits 500 ms between its
	// FIN and its close; HAProxy and Envoy take microseconds.
	upEventAge = 1e9
	// A SYN unanswered for upMinWait to upMaxWait is a connect timeout in
	// the making: shorter is a connection still opening, longer than any
	// proxy's connect timeout (Envoy's default is 5 s, HAProxy's are
	// configured in seconds; Linux gives up after about two minutes).
	upMinWait = 250e6
	upMaxWait = 30e9
)

// upLocal is the host key of the capture host on a cooked capture.
var upLocal = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

type upKey struct {
	client, server [16]byte
	cport, sport   uint16
}

type upAttempt struct {
	seq      uint64
	key      upKey
	ipv6     bool
	local    bool  // the client originated it on the capture host
	open     int64 // first SYN's frame
	openTS   int64
	lastSYN  int64
	syns     int
	answered bool
	sisn     uint32 // the upstream's initial sequence number, once answered
	event    decode.UpstreamEvent
	evFrame  int64
	evTS     int64
}

// upHost lists a host's latest attempts and failures by seq: one that has
// left the ring is gone (a busy host; a missed link, never a false one).
type upHost struct {
	opened [upPerHost]uint64
	failed [upPerHost]uint64
	no, nf uint32
}

// initialTTL reports whether ttl is one that stacks start from: a packet
// captured with it on its sender was not forwarded.
func initialTTL(ttl uint8) bool { return ttl == 64 || ttl == 128 || ttl == 255 }

// local reports whether the capture host sent p itself.
func local(p *decode.Packet) bool { return p.Outgoing && initialTTL(p.TTL) }

// attempt is the attempt of four-tuple k, whose flow hash is h.
func (u *upstreams) attempt(h uint64, k upKey) *upAttempt {
	s := &u.index[h&(upIndex-1)]
	if s.hash != h {
		return nil
	}
	if a := u.bySeq(s.seq); a != nil && a.key == k {
		return a
	}
	return nil
}

// bySeq is attempt seq while the ring holds it.
func (u *upstreams) bySeq(seq uint64) *upAttempt {
	if i := (seq - 1) % upRing; seq != 0 && i < uint64(len(u.ring)) && u.ring[i].seq == seq {
		return &u.ring[i]
	}
	return nil
}

// host returns k's entry, made if need be; the pointer is valid until the
// next call.
func (u *upstreams) host(k [16]byte) *upHost {
	if i, ok := u.hosts[k]; ok {
		return &u.hostv[i]
	}
	if len(u.hostv) >= upHosts {
		clear(u.hosts) // forget all: a missed link, never a false one
		u.hostv = u.hostv[:0]
	}
	u.hosts[k] = int32(len(u.hostv))
	u.hostv = append(u.hostv, upHost{})
	return &u.hostv[len(u.hostv)-1]
}

// keys are the hosts an attempt of client addr is filed under: its
// address and, when the capture host originated it, the host.
func keys(addr [16]byte, local bool) ([2][16]byte, int) {
	return [2][16]byte{addr, upLocal}, 1 + btoi(local)
}

// see takes the capture's packets with SYN, FIN or RST, in frame order,
// each with its flow hash.
func (u *upstreams) see(p *decode.Packet, h uint64) {
	if u.index == nil {
		u.index = make([]upSlot, upIndex)
		u.hosts = make(map[[16]byte]int32)
	}
	out := upKey{p.Src, p.Dst, p.SrcPort, p.DstPort} // p's sender as the client
	in := upKey{p.Dst, p.Src, p.DstPort, p.SrcPort}  // p's receiver as the client
	f := p.Flags
	switch {
	case f&decode.RST != 0:
		if a := u.attempt(h, in); a != nil && a.event == 0 {
			a.event, a.evFrame, a.evTS = decode.UpstreamRST, p.Frame, p.TS
			if !a.answered {
				a.event = decode.UpstreamRefused
			}
			u.failed(a)
		}
		p.Upstream = u.candidate(p, out, in)
	case f&(decode.SYN|decode.ACK) == decode.SYN:
		if a := u.attempt(h, out); a != nil && !a.answered && a.event == 0 {
			a.syns++
			a.lastSYN = p.TS
			return
		}
		u.open(p, h, out)
	case f&decode.SYN != 0: // SYN-ACK
		if a := u.attempt(h, in); a != nil && !a.answered {
			a.answered, a.sisn = true, p.Seq
		}
	case f&decode.FIN != 0:
		// Only a FIN with nothing before it: the upstream closed
		// without answering. A FIN after a response is how a
		// connection ends.
		if a := u.attempt(h, in); a != nil && a.answered && a.event == 0 && p.Seq == a.sisn+1 && p.Len == 0 {
			a.event, a.evFrame, a.evTS = decode.UpstreamFIN, p.Frame, p.TS
			u.failed(a)
		}
	}
}

func (u *upstreams) open(p *decode.Packet, h uint64, k upKey) {
	u.n++
	i := (u.n - 1) % upRing
	if i == uint64(len(u.ring)) {
		u.ring = append(u.ring, upAttempt{})
	}
	slot := &u.ring[i]
	*slot = upAttempt{seq: u.n, key: k, ipv6: p.IPv6, local: local(p), open: p.Frame, openTS: p.TS, lastSYN: p.TS, syns: 1}
	u.index[h&(upIndex-1)] = upSlot{h, u.n}
	ks, n := keys(slot.key.client, slot.local)
	for _, k := range ks[:n] {
		h := u.host(k)
		h.opened[h.no%upPerHost] = u.n
		h.no++
	}
}

func (u *upstreams) failed(a *upAttempt) {
	ks, n := keys(a.key.client, a.local)
	for _, k := range ks[:n] {
		h := u.host(k)
		h.failed[h.nf%upPerHost] = a.seq
		h.nf++
	}
}

// candidate is the latest failure of a connection p's sender opened, for
// a RST p: an upstream RST, refusal or FIN within upEventAge before it, or
// a SYN unanswered for upMinWait to upMaxWait. Never p's own connection.
func (u *upstreams) candidate(p *decode.Packet, out, in upKey) *decode.Upstream {
	var best *upAttempt
	var bestTS int64
	consider := func(a *upAttempt, ts int64) {
		if a.key == out || a.key == in || ts > p.TS {
			return
		}
		if best == nil || ts > bestTS {
			best, bestTS = a, ts
		}
	}
	ks, n := keys(p.Src, local(p))
	for _, k := range ks[:n] {
		i, ok := u.hosts[k]
		if !ok {
			continue
		}
		h := &u.hostv[i]
		for _, seq := range h.failed {
			if a := u.bySeq(seq); a != nil && p.TS-a.evTS <= upEventAge {
				consider(a, a.evTS)
			}
		}
		for _, seq := range h.opened {
			a := u.bySeq(seq)
			if a == nil || a.answered || a.event != 0 {
				continue
			}
			if w := p.TS - a.openTS; w >= upMinWait && w <= upMaxWait {
				consider(a, a.lastSYN)
			}
		}
	}
	if best == nil {
		return nil
	}
	a := best
	up := &decode.Upstream{Event: a.event, Frame: a.evFrame, TS: a.evTS, OpenFrame: a.open, OpenTS: a.openTS,
		LastSYNTS: a.lastSYN, SYNs: a.syns,
		Client: netip.AddrPortFrom(addrOf(a.key.client, a.ipv6), a.key.cport),
		Server: netip.AddrPortFrom(addrOf(a.key.server, a.ipv6), a.key.sport)}
	if a.event == 0 {
		up.Event, up.Frame, up.TS = decode.UpstreamTimeout, a.open, a.openTS
	}
	return up
}

func addrOf(b [16]byte, v6 bool) netip.Addr {
	a := netip.AddrFrom16(b)
	if !v6 {
		return a.Unmap()
	}
	return a
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
