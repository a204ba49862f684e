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
// Memory is bounded: upRing attempts by four-tuple (the oldest goes first),
// and for at most upHosts hosts their latest upPerHost failures and
// attempts.
type upstreams struct {
	ring  []upAttempt // attempt n (from 1) in ring[(n-1) % upRing]
	n     uint64
	byKey map[upKey]uint64
	hosts map[[16]byte]*upHost
}

const (
	upRing    = 4096
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
	event    decode.UpstreamEvent
	evFrame  int64
	evTS     int64
}

type upHost struct {
	opened [upPerHost]uint64 // latest attempts, by seq
	failed [upPerHost]upAttempt
	no, nf int
}

// initialTTL reports whether ttl is one that stacks start from: a packet
// captured with it on its sender was not forwarded.
func initialTTL(ttl uint8) bool { return ttl == 64 || ttl == 128 || ttl == 255 }

// local reports whether the capture host sent p itself.
func local(p *decode.Packet) bool { return p.Outgoing && initialTTL(p.TTL) }

func (u *upstreams) attempt(k upKey) *upAttempt {
	seq, ok := u.byKey[k]
	if !ok {
		return nil
	}
	if a := &u.ring[(seq-1)%upRing]; a.seq == seq {
		return a
	}
	return nil
}

func (u *upstreams) host(k [16]byte) *upHost {
	h := u.hosts[k]
	if h == nil {
		if len(u.hosts) >= upHosts {
			clear(u.hosts) // forget all: a missed link, never a false one
		}
		h = &upHost{}
		u.hosts[k] = h
	}
	return h
}

// see takes the capture's packets with SYN, FIN or RST, in frame order.
func (u *upstreams) see(p *decode.Packet) {
	if u.byKey == nil {
		u.ring = make([]upAttempt, upRing)
		u.byKey = make(map[upKey]uint64)
		u.hosts = make(map[[16]byte]*upHost)
	}
	out := upKey{p.Src, p.Dst, p.SrcPort, p.DstPort} // p's sender as the client
	in := upKey{p.Dst, p.Src, p.DstPort, p.SrcPort}  // p's receiver as the client
	f := p.Flags
	switch {
	case f&decode.RST != 0:
		if a := u.attempt(in); a != nil && a.event == 0 {
			a.event, a.evFrame, a.evTS = decode.UpstreamRST, p.Frame, p.TS
			if !a.answered {
				a.event = decode.UpstreamRefused
			}
			u.failed(a)
		}
		p.Upstream = u.candidate(p, out, in)
	case f&(decode.SYN|decode.ACK) == decode.SYN:
		if a := u.attempt(out); a != nil && !a.answered && a.event == 0 {
			a.syns++
			a.lastSYN = p.TS
			return
		}
		u.open(p, out)
	case f&decode.SYN != 0: // SYN-ACK
		if a := u.attempt(in); a != nil {
			a.answered = true
		}
	case f&decode.FIN != 0:
		if a := u.attempt(in); a != nil && a.answered && a.event == 0 {
			a.event, a.evFrame, a.evTS = decode.UpstreamFIN, p.Frame, p.TS
			u.failed(a)
		}
	}
}

func (u *upstreams) open(p *decode.Packet, k upKey) {
	u.n++
	slot := &u.ring[(u.n-1)%upRing]
	if slot.seq != 0 && u.byKey[slot.key] == slot.seq {
		delete(u.byKey, slot.key)
	}
	*slot = upAttempt{seq: u.n, key: k, ipv6: p.IPv6, local: local(p), open: p.Frame, openTS: p.TS, lastSYN: p.TS, syns: 1}
	u.byKey[k] = u.n
	for _, h := range u.hostsOf(slot.key.client, slot.local) {
		h.opened[h.no%upPerHost] = u.n
		h.no++
	}
}

func (u *upstreams) failed(a *upAttempt) {
	for _, h := range u.hostsOf(a.key.client, a.local) {
		h.failed[h.nf%upPerHost] = *a
		h.nf++
	}
}

// hostsOf are the hosts an attempt is filed under.
func (u *upstreams) hostsOf(addr [16]byte, local bool) []*upHost {
	if local {
		return []*upHost{u.host(addr), u.host(upLocal)}
	}
	return []*upHost{u.host(addr)}
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
	keys := [2][16]byte{p.Src, upLocal}
	for _, k := range keys[:1+btoi(local(p))] {
		h := u.hosts[k]
		if h == nil {
			continue
		}
		for i := range min(h.nf, upPerHost) {
			if a := &h.failed[i]; p.TS-a.evTS <= upEventAge {
				consider(a, a.evTS)
			}
		}
		for i := range min(h.no, upPerHost) {
			a := &u.ring[(h.opened[i]-1)%upRing]
			if a.seq != h.opened[i] || a.answered || a.event != 0 {
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
