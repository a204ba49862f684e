package decode

import "net/netip"

// Flags are the TCP header flags, as on the wire (RFC 9293 §3.1).
type Flags uint8

const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// Has reports whether all of want are set.
func (f Flags) Has(want Flags) bool { return f&want == want }

// String renders flags the way tcpdump does: "S", "S.", "R.", "FP.".
func (f Flags) String() string {
	var b [8]byte
	n := 0
	for _, c := range []struct {
		f Flags
		c byte
	}{{SYN, 'S'}, {FIN, 'F'}, {PSH, 'P'}, {RST, 'R'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}, {ACK, '.'}} {
		if f&c.f != 0 {
			b[n] = c.c
			n++
		}
	}
	if n == 0 {
		return "none"
	}
	return string(b[:n])
}

// Packet is one decoded TCP segment: the IP and TCP header fields rstwhy
// judges by, and nothing that needs an allocation. The decoder fills it in
// place; the tracker copies what it keeps.
//
// Lengths come from the IP header, never from the captured length, so a
// capture cut by a snap length (tcpdump -s 96) still gives exact sequence
// arithmetic.
type Packet struct {
	Frame int64 // 1-based, as Wireshark numbers frames
	TS    int64 // capture time, Unix nanoseconds

	// Addresses are fixed arrays so that flow keys hash without
	// allocating; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d).
	Src, Dst [16]byte
	IPv6     bool
	TTL      uint8  // IPv4 TTL or IPv6 hop limit
	IPID     uint16 // IPv4 identification; 0 for IPv6
	DF       bool   // IPv4 don't-fragment

	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            Flags
	Window           uint16 // as on the wire, before window scaling
	Len              int    // TCP payload length from the IP length field

	// TCP options. WScale is -1 when the option is absent.
	MSS      uint16
	WScale   int8
	SACKPerm bool
	SACK     bool // carries SACK blocks
	HasTS    bool
	TSVal    uint32
	TSEcr    uint32
	// Layout is, on a SYN, the kinds of its first eight options in
	// order, one byte each from the lowest (NOPs included, no EOL): the
	// order a stack writes them in names the stack (p0f's "olayout").
	// 0 on other segments.
	Layout uint64

	// Iface is where the packet was captured: the Linux interface index
	// of a LINUX_SLL2 header (tcpdump -i any), else the pcapng interface
	// ID. On a router, a forwarded packet shows up once per interface.
	Iface uint32
	// Outgoing is set when a Linux cooked header (tcpdump -i any) says
	// the capture host sent the packet (packet type PACKET_OUTGOING): its
	// own, or one it forwarded.
	Outgoing bool

	// SrcTTLMin and SrcTTLMax are the TTL range of earlier non-RST
	// packets from Src, in any connection, captured on the same
	// interface, or 0 when none was seen; Run fills them in for RSTs
	// only. A RST forged by a device in the path carries that device's
	// TTL, not the host's.
	SrcTTLMin, SrcTTLMax uint8
	// IPIDKin is, for an IPv4 RST, the frame of a RST shortly before it
	// that claims another source address yet carries the next IP IDs of
	// the same counter and the same TTL: one IP stack sent both. 0 when
	// there is none; Run fills it in.
	IPIDKin int64

	// Accepting is, for a RST, the frame of the latest SYN-ACK its source
	// (address and port) sent to another peer (address and port) before
	// it: the sender had a listener on that port, still accepting then.
	// 0 when none was seen; Run fills it in.
	Accepting int64

	// Upstream is, for a RST, the latest failure of a connection that the
	// RST's sender had opened as a client shortly before: what a proxy's
	// reset of its own client may follow. nil for most packets; Run fills
	// it in, package correlate decides whether the two are linked.
	Upstream *Upstream

	// Payload is the captured part of the TCP payload (may be shorter
	// than Len). It aliases the reader's buffer: valid until the next
	// packet is read.
	Payload []byte
	// Trailer is, for a RST only, what the frame holds past the end of
	// the IP datagram (its total length): Ethernet padding, a frame check
	// sequence, or a device's trailer such as an F5 BIG-IP's, whose reset
	// cause F5ResetCause reads. At most MaxTrailer bytes; nil for every
	// other segment. It aliases the reader's buffer, as Payload does.
	Trailer []byte
}

// MaxTrailer bounds Packet.Trailer: an F5 trailer with its reset cause is
// under 300 bytes (Wireshark's packet-f5ethtrailer.c: a legacy trailer is
// at most 140 bytes a part, three parts).
const MaxTrailer = 512

// SrcAddr returns the source address in its natural form (IPv4 unmapped).
func (p *Packet) SrcAddr() netip.Addr { return addrOf(p.Src, p.IPv6) }

// DstAddr returns the destination address in its natural form.
func (p *Packet) DstAddr() netip.Addr { return addrOf(p.Dst, p.IPv6) }

func addrOf(a [16]byte, v6 bool) netip.Addr {
	x := netip.AddrFrom16(a)
	if !v6 {
		return x.Unmap()
	}
	return x
}

// UpstreamEvent is how an upstream connection failed.
type UpstreamEvent uint8

// Upstream events.
const (
	UpstreamRST     UpstreamEvent = iota + 1 // the upstream reset an established connection
	UpstreamRefused                          // the upstream answered the SYN with a RST
	UpstreamTimeout                          // the SYN was never answered
	UpstreamFIN                              // the upstream closed with a FIN
)

// Upstream is a connection a host opened as a client and what ended it,
// as the frame-ordered pass saw it before a RST of that host.
type Upstream struct {
	Event UpstreamEvent
	// Frame and TS are the event's: the upstream's RST or FIN, or for a
	// timeout the connection's first SYN (its last one is LastSYNTS).
	Frame, TS int64
	// OpenFrame is the connection's first SYN.
	OpenFrame int64
	OpenTS    int64
	LastSYNTS int64
	SYNs      int // SYNs sent, retransmissions included
	// Client and Server are the upstream connection's endpoints.
	Client, Server netip.AddrPort
}
