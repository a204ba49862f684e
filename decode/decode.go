package decode

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rstwhy/rstwhy/capture"
)

// The decoder is a hand-written, bounds-checked parser rather than
// gopacket's DecodingLayerParser. Measured on one core on the same
// Ethernet/IPv4/TCP frames (BenchmarkDecode/mtu against
// BenchmarkDecodeLayerParser): 25 ns per frame against 132 ns, both
// without allocating. The parser fills whole layer structs (TCP options
// as a slice of structs, LayerContents and LayerPayload slices) and
// dispatches through interfaces, while rstwhy needs a dozen fields, read
// here in place. The hand parser also covers the encapsulations (VLAN
// stacks, PPPoE, MPLS, GRE, 802.11 inside Aruba GRE, IP in IP, Teredo,
// VXLAN) on the same path, so nothing falls back to gopacket.NewPacket.
// Every slice is preceded by a length check: a damaged packet is an error,
// never a panic (FuzzDecode).

var (
	// ErrNotTCP marks packets that carry no TCP segment (ARP, UDP, ICMP,
	// non-first IP fragments...): callers skip them silently.
	ErrNotTCP = errors.New("not a TCP segment")
	// ErrUnsupportedLink marks a link type the decoder does not handle.
	ErrUnsupportedLink = errors.New("unsupported link type")
)

// Link types found in the wild beside their libpcap LINKTYPE_ values:
// DLT_RAW is 12 on most systems and 14 on OpenBSD (pcap-linktype(7)).
const (
	linkRawDLT12 capture.LinkType = 12
	linkRawDLT14 capture.LinkType = 14
	linkRadiotap capture.LinkType = 127
	linkNFLOG    capture.LinkType = 239 // tcpdump -i nflog:N (iptables NFLOG)
	linkPKTAP    capture.LinkType = 258 // macOS tcpdump -i pktap
)

// Supported reports whether Decode handles link; the reader skips
// (and counts) packets of other links.
func Supported(link capture.LinkType) bool {
	switch link {
	case capture.LinkTypeEthernet, capture.LinkTypeLinuxSLL, capture.LinkTypeLinuxSLL2,
		capture.LinkTypeNull, capture.LinkTypeLoop,
		capture.LinkTypeRaw, linkRawDLT12, linkRawDLT14, capture.LinkTypeIPv4, capture.LinkTypeIPv6,
		capture.LinkTypeFDDI, capture.LinkTypePPP, capture.LinkTypePPP_HDLC,
		capture.LinkTypeIEEE802_11, linkRadiotap, capture.LinkTypeC_HDLC, linkNFLOG, linkPKTAP:
		return true
	}
	return false
}

// Decoder turns captured frames into Packets. The zero value is ready to
// use; it keeps no state between packets but is meant to be owned by one
// worker, so that state added later (reassembly buffers) needs no lock.
type Decoder struct {
	last   Skip // what the latest frame without TCP carried
	greSeq bool // the GRE header being followed has a sequence number
}

// packetOutgoing is a Linux cooked header's packet type for a packet the
// capture host sent (PACKET_OUTGOING).
const packetOutgoing = 4

// maxDepth bounds tunnels inside tunnels; real captures need two or
// three levels, crafted ones would otherwise recurse as deep as their size.
const maxDepth = 16

// maxExtHeaders bounds IPv6 extension headers per packet. Each header
// consumes at least 8 bytes, so the chain ends anyway; the cap makes the
// loop's cost independent of the packet's size.
const maxExtHeaders = 16

// Decode fills p (every field except Frame and TS) from a frame of link
// type link. It returns ErrNotTCP for packets without a TCP segment,
// ErrUnsupportedLink for links it does not know, and any other error for a
// malformed or truncated packet. On error p holds no meaningful values.
func (d *Decoder) Decode(link capture.LinkType, data []byte, p *Packet) error {
	*p = Packet{Frame: p.Frame, TS: p.TS, WScale: -1}
	d.greSeq = false
	if len(data) == 0 {
		return errors.New("empty frame")
	}
	switch link {
	case capture.LinkTypeEthernet:
		return d.ether(data, p, 0)
	case capture.LinkTypeLinuxSLL:
		// 16 bytes: packet type, ARPHRD type, address length, 8-byte
		// address, protocol (linktype_linux_sll).
		if len(data) < 16 {
			return errShort("SLL header", len(data))
		}
		p.Outgoing = binary.BigEndian.Uint16(data[0:]) == packetOutgoing
		return d.sll(binary.BigEndian.Uint16(data[2:]), binary.BigEndian.Uint16(data[14:]), data[16:], p)
	case capture.LinkTypeLinuxSLL2:
		// 20 bytes: protocol, reserved, interface index, ARPHRD type,
		// packet type, address length, 8-byte address (linktype_linux_sll2).
		if len(data) < 20 {
			return errShort("SLL2 header", len(data))
		}
		p.Iface = binary.BigEndian.Uint32(data[4:])
		p.Outgoing = data[10] == packetOutgoing
		return d.sll(binary.BigEndian.Uint16(data[8:]), binary.BigEndian.Uint16(data[0:]), data[20:], p)
	case capture.LinkTypeNull, capture.LinkTypeLoop:
		return d.null(data, p)
	case capture.LinkTypeRaw, linkRawDLT12, linkRawDLT14, capture.LinkTypeIPv4, capture.LinkTypeIPv6:
		return d.ip(data, p, 0)
	case capture.LinkTypeFDDI:
		// Frame control, destination, source: then 802.2 LLC.
		if len(data) < 13 {
			return errShort("FDDI header", len(data))
		}
		return d.llc(data[13:], p, 0)
	case capture.LinkTypePPP, capture.LinkTypePPP_HDLC:
		return d.ppp(data, p, 0)
	case capture.LinkTypeC_HDLC:
		// Cisco HDLC: address, control, then an ethertype.
		if len(data) < 4 {
			return errShort("Cisco HDLC header", len(data))
		}
		return d.ethertype(binary.BigEndian.Uint16(data[2:]), data[4:], p, 0)
	case linkNFLOG:
		return d.nflog(data, p)
	case linkPKTAP:
		// Apple's PKTAP: a header whose first word is its length (host
		// order, little-endian on every Mac) and whose third is the link
		// type of the packet behind it.
		if len(data) < 12 {
			return errShort("PKTAP header", len(data))
		}
		n := binary.LittleEndian.Uint32(data)
		inner := capture.LinkType(binary.LittleEndian.Uint32(data[8:]))
		if n < 12 || n > uint32(len(data)) || inner == linkPKTAP {
			return fmt.Errorf("PKTAP header length %d in a %d-byte frame", n, len(data))
		}
		if !Supported(inner) {
			return fmt.Errorf("PKTAP: link type %d: %w", inner, ErrUnsupportedLink)
		}
		return d.Decode(inner, data[n:], p)
	case capture.LinkTypeIEEE802_11:
		return d.wlan(data, p, 0)
	case linkRadiotap:
		if len(data) < 8 {
			return errShort("radiotap header", len(data))
		}
		n := int(binary.LittleEndian.Uint16(data[2:]))
		if n < 8 || n > len(data) {
			return fmt.Errorf("radiotap length %d in a %d-byte frame", n, len(data))
		}
		return d.wlan(data[n:], p, 0)
	}
	return ErrUnsupportedLink
}

func errShort(what string, n int) error {
	return fmt.Errorf("%s cut short (%d bytes)", what, n)
}

// ether decodes an Ethernet II or 802.3 frame, with any depth of 802.1Q,
// 802.1ad and legacy QinQ (0x9100) tags.
func (d *Decoder) ether(b []byte, p *Packet, depth int) error {
	if len(b) < 14 {
		return errShort("ethernet header", len(b))
	}
	typ := binary.BigEndian.Uint16(b[12:])
	b = b[14:]
	for typ == 0x8100 || typ == 0x88a8 || typ == 0x9100 {
		if len(b) < 4 {
			return errShort("VLAN tag", len(b))
		}
		typ = binary.BigEndian.Uint16(b[2:])
		b = b[4:]
	}
	if typ <= 1500 {
		// An 802.3 length field: an 802.2 LLC header follows.
		return d.llc(b, p, depth)
	}
	return d.ethertype(typ, b, p, depth)
}

// llc decodes an 802.2 LLC header; IP rides in SNAP (AA AA 03, RFC 1042).
func (d *Decoder) llc(b []byte, p *Packet, depth int) error {
	if len(b) < 3 {
		return errShort("LLC header", len(b))
	}
	if b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 {
		return d.not(SkipLLC, uint16(b[0]))
	}
	if len(b) < 8 {
		return errShort("SNAP header", len(b))
	}
	return d.ethertype(binary.BigEndian.Uint16(b[6:]), b[8:], p, depth)
}

func (d *Decoder) ethertype(typ uint16, b []byte, p *Packet, depth int) error {
	switch typ {
	case 0x0800:
		return d.ipv4(b, p, depth)
	case 0x86dd:
		return d.ipv6(b, p, depth)
	}
	if depth++; depth > maxDepth {
		return errors.New("too many nested encapsulations")
	}
	switch typ {
	case 0x8864: // PPPoE session (RFC 2516): 6 bytes, then PPP
		if len(b) < 6 {
			return errShort("PPPoE header", len(b))
		}
		return d.ppp(b[6:], p, depth)
	case 0x8847, 0x8848:
		return d.mpls(b, p, depth)
	case 0x6558: // transparent Ethernet bridging (GRE, VXLAN-like)
		return d.ether(b, p, depth)
	case 0x8100, 0x88a8, 0x9100: // a tag behind SNAP or SLL
		if len(b) < 4 {
			return errShort("VLAN tag", len(b))
		}
		return d.ethertype(binary.BigEndian.Uint16(b[2:]), b[4:], p, depth)
	case 0x88be: // ERSPAN type II, or type I when GRE carries no sequence number
		return d.erspan2(b, p, depth)
	case 0x22eb: // ERSPAN type III
		return d.erspan3(b, p, depth)
	}
	return d.not(SkipEthertype, typ)
}

// sll dispatches on the protocol field of a Linux cooked header.
func (d *Decoder) sll(arphrd, proto uint16, b []byte, p *Packet) error {
	if arphrd == 824 {
		return d.not(SkipSLL, arphrd) // ARPHRD_NETLINK: the protocol is a netlink family
	}
	// Below 1536 the protocol is one of Linux's ETH_P_ pseudo-types, not an
	// ethertype; of those only ETH_P_802_2 (4) can carry IP, in LLC/SNAP.
	// ARPHRD_IPGRE puts the GRE protocol type here, an ethertype too.
	switch {
	case proto == 0x0004:
		return d.llc(b, p, 0)
	case proto < 1536:
		return d.not(SkipSLL, proto)
	}
	return d.ethertype(proto, b, p, 0)
}

// null decodes BSD loopback: a 4-byte address family, in the capturing
// host's byte order for DLT_NULL and in network order for DLT_LOOP. Both
// are accepted: the family fits in the low byte. IPv6 is 24 on
// NetBSD/OpenBSD (and Npcap's loopback), 28 on FreeBSD, 30 on macOS, 10 on
// Linux. Not 23: Windows' AF_INET6, but IPX on the BSDs, as Wireshark reads it.
func (d *Decoder) null(b []byte, p *Packet) error {
	if len(b) < 4 {
		return errShort("loopback header", len(b))
	}
	af := binary.LittleEndian.Uint32(b)
	if af&0xffff0000 != 0 {
		af = binary.BigEndian.Uint32(b)
	}
	switch af {
	case 2:
		return d.ipv4(b[4:], p, 0)
	case 10, 24, 28, 30:
		return d.ipv6(b[4:], p, 0)
	}
	return d.not(SkipLoopback, uint16(af))
}

// nflog decodes Linux NFLOG records (linktype_nflog): a 4-byte header,
// then TLVs whose length and type are in the capturing host's byte order;
// type 9 (NFULA_PAYLOAD) is the packet.
func (d *Decoder) nflog(b []byte, p *Packet) error {
	if len(b) < 8 {
		return errShort("NFLOG header", len(b))
	}
	family := b[0]
	b = b[4:]
	// The first TLV is the 8-byte packet header: its length, read in the
	// wrong order, is 2048.
	var order binary.ByteOrder = binary.LittleEndian
	if binary.LittleEndian.Uint16(b) > 0xff && binary.BigEndian.Uint16(b) <= 0xff {
		order = binary.BigEndian
	}
	for len(b) >= 4 {
		n, typ := int(order.Uint16(b)), order.Uint16(b[2:])
		if n < 4 || n > len(b) {
			return fmt.Errorf("NFLOG TLV length %d with %d bytes left", n, len(b))
		}
		if typ&0x7fff == 9 {
			v := b[4:n]
			switch family {
			case 2:
				return d.ipv4(v, p, 0)
			case 10:
				return d.ipv6(v, p, 0)
			}
			return d.not(SkipNFLOG, uint16(family))
		}
		b = b[min((n+3)&^3, len(b)):]
	}
	return d.not(SkipNFLOG, uint16(family))
}

// ppp decodes a PPP protocol field (RFC 1661), compressed (1 byte) or not.
func (d *Decoder) ppp(b []byte, p *Packet, depth int) error {
	if len(b) < 1 {
		return errShort("PPP header", 0)
	}
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:] // HDLC address and control, unless compressed away (ACFC)
		if len(b) < 1 {
			return errShort("PPP header", 0)
		}
	}
	var proto uint16
	if b[0]&1 == 1 {
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return errShort("PPP header", len(b))
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	switch proto {
	case 0x0021:
		return d.ipv4(b, p, depth)
	case 0x0057:
		return d.ipv6(b, p, depth)
	case 0x0281, 0x0283:
		return d.mpls(b, p, depth+1)
	}
	return d.not(SkipPPP, proto)
}

// mpls pops the label stack (RFC 3032) to its bottom and guesses the
// payload by its first nibble, as Wireshark does: 4 or 6 is IP, 0 is a
// pseudowire control word (RFC 4385) before an Ethernet frame.
func (d *Decoder) mpls(b []byte, p *Packet, depth int) error {
	if depth > maxDepth {
		return errors.New("too many nested encapsulations")
	}
	for {
		if len(b) < 4 {
			return errShort("MPLS label", len(b))
		}
		bottom := b[2]&1 == 1
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) < 1 {
		return errShort("MPLS payload", 0)
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, p, depth)
	case 6:
		return d.ipv6(b, p, depth)
	case 0:
		if len(b) < 4 {
			return errShort("pseudowire control word", len(b))
		}
		return d.ether(b[4:], p, depth)
	}
	return d.ether(b, p, depth)
}

// ip decodes a raw IP packet by its version nibble.
func (d *Decoder) ip(b []byte, p *Packet, depth int) error {
	if len(b) == 0 {
		return errShort("IP header", 0) // an ERSPAN III header with nothing after it
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, p, depth)
	case 6:
		return d.ipv6(b, p, depth)
	}
	return fmt.Errorf("IP version %d", b[0]>>4)
}

func (d *Decoder) ipv4(b []byte, p *Packet, depth int) error {
	if len(b) < 20 {
		return errShort("IPv4 header", len(b))
	}
	if v := b[0] >> 4; v != 4 {
		return fmt.Errorf("IPv4 header with version %d", v)
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return fmt.Errorf("IPv4 header length %d", ihl)
	}
	if ihl > len(b) {
		return errShort("IPv4 options", len(b))
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	if total == 0 {
		// Segmentation offload: the host captured a super-packet before
		// the NIC split it, with total length 0 (Wireshark says "likely
		// caused by TSO"). The capture is all there is.
		total = len(b)
	}
	if total < ihl {
		return fmt.Errorf("IPv4 total length %d below header length %d", total, ihl)
	}
	if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
		return d.not(SkipFragment, 4) // a later fragment: the TCP header is in the first
	}
	// Ethernet pads short frames: the IP length wins over the capture.
	seg := b[ihl:min(total, len(b))]
	n := total - ihl
	switch b[9] {
	case 6:
		if err := d.tcp(seg, n, p); err != nil {
			return err
		}
		p.IPv6 = false
		p.Src = [16]byte{10: 0xff, 11: 0xff}
		p.Dst = [16]byte{10: 0xff, 11: 0xff}
		copy(p.Src[12:], b[12:16])
		copy(p.Dst[12:], b[16:20])
		p.TTL = b[8]
		p.IPID = binary.BigEndian.Uint16(b[4:])
		p.DF = b[6]&0x40 != 0
		p.trailer(b, total)
		return nil
	case 1:
		// ICMP errors quote the TCP header that caused them; that quote
		// is not this packet's segment.
		return d.not(SkipIPProto, 1)
	}
	return d.tunnel(b[9], seg, p, depth)
}

func (d *Decoder) ipv6(b []byte, p *Packet, depth int) error {
	if len(b) < 40 {
		return errShort("IPv6 header", len(b))
	}
	if v := b[0] >> 4; v != 6 {
		return fmt.Errorf("IPv6 header with version %d", v)
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	next := b[6]
	if n == 0 {
		// A jumbogram (RFC 2675, length in hop-by-hop) or offload
		// super-packet: the capture is all there is.
		n = len(b) - 40
	}
	seg := b[40:min(40+n, len(b))]
	for range maxExtHeaders {
		switch next {
		case 6:
			if err := d.tcp(seg, n, p); err != nil {
				return err
			}
			p.IPv6 = true
			copy(p.Src[:], b[8:24])
			copy(p.Dst[:], b[24:40])
			p.TTL = b[7]
			if plen := int(binary.BigEndian.Uint16(b[4:])); plen != 0 {
				p.trailer(b, 40+plen) // not a jumbogram's
			}
			return nil
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, destination, mobility, HIP, shim6
			if len(seg) < 2 {
				return errShort("IPv6 extension header", len(seg))
			}
			hl := (int(seg[1]) + 1) * 8
			if hl > len(seg) || hl > n {
				return errShort("IPv6 extension header", len(seg))
			}
			next, seg, n = seg[0], seg[hl:], n-hl
		case 44: // fragment (RFC 8200 §4.5)
			if len(seg) < 8 || n < 8 {
				return errShort("IPv6 fragment header", len(seg))
			}
			if binary.BigEndian.Uint16(seg[2:])&0xfff8 != 0 {
				return d.not(SkipFragment, 6) // a later fragment
			}
			next, seg, n = seg[0], seg[8:], n-8
		case 51: // authentication header: length in 4-byte units, minus 2
			if len(seg) < 2 {
				return errShort("IPv6 authentication header", len(seg))
			}
			hl := (int(seg[1]) + 2) * 4
			if hl > len(seg) || hl > n {
				return errShort("IPv6 authentication header", len(seg))
			}
			next, seg, n = seg[0], seg[hl:], n-hl
		case 58, 59, 50: // ICMPv6 (quotes are not segments), no next header, ESP
			return d.not(SkipIPProto, uint16(next))
		default:
			return d.tunnel(next, seg, p, depth)
		}
	}
	return fmt.Errorf("more than %d IPv6 extension headers", maxExtHeaders)
}

// tunnel follows an IP protocol that carries another packet.
func (d *Decoder) tunnel(proto uint8, b []byte, p *Packet, depth int) error {
	if depth++; depth > maxDepth {
		return errors.New("too many nested encapsulations")
	}
	switch proto {
	case 4: // IP in IP (RFC 2003)
		return d.ipv4(b, p, depth)
	case 41: // IPv6 in IP (RFC 4213)
		return d.ipv6(b, p, depth)
	case 47:
		return d.gre(b, p, depth)
	case 137: // MPLS in IP (RFC 4023)
		return d.mpls(b, p, depth)
	case 17:
		return d.udp(b, p, depth)
	}
	return d.not(SkipIPProto, uint16(proto))
}

// udp follows the UDP tunnels Wireshark decodes by default port: Teredo
// (3544, RFC 4380) and VXLAN (4789, RFC 7348).
func (d *Decoder) udp(b []byte, p *Packet, depth int) error {
	if len(b) < 8 {
		return d.not(SkipIPProto, 17)
	}
	sport, dport := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	b = b[8:]
	switch {
	case sport == 4789 || dport == 4789:
		if len(b) < 8 || b[0]&0x08 == 0 {
			return d.not(SkipIPProto, 17)
		}
		return d.ether(b[8:], p, depth)
	case sport == 3544 || dport == 3544:
		// Optional authentication and origin indications, then IPv6.
		if len(b) >= 4 && b[0] == 0 && b[1] == 1 {
			n := 4 + int(b[2]) + int(b[3]) + 8 + 1
			if n > len(b) {
				return d.not(SkipIPProto, 17)
			}
			b = b[n:]
		}
		if len(b) >= 8 && b[0] == 0 && b[1] == 0 {
			b = b[8:]
		}
		if len(b) < 40 || b[0]>>4 != 6 {
			return d.not(SkipIPProto, 17) // Teredo bubbles and non-IPv6 payloads
		}
		return d.ipv6(b, p, depth)
	}
	return d.not(SkipIPProto, 17)
}

// gre decodes GRE (RFC 2784, RFC 2890) and PPTP's enhanced GRE (RFC 2637).
func (d *Decoder) gre(b []byte, p *Packet, depth int) error {
	if len(b) < 4 {
		return errShort("GRE header", len(b))
	}
	flags, proto := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	hl := 4
	switch flags & 7 {
	case 0:
		if flags&0xc000 != 0 {
			hl += 4 // checksum and offset, present if C or R (RFC 1701)
		}
		if flags&0x2000 != 0 {
			hl += 4 // key
		}
		if flags&0x1000 != 0 {
			hl += 4 // sequence number
		}
		if flags&0x4000 != 0 {
			// Source routing entries (RFC 1701) until a null one.
			for {
				if len(b) < hl+4 {
					return errShort("GRE routing", len(b))
				}
				sre := int(b[hl+3])
				hl += 4 + sre
				if sre == 0 {
					break
				}
			}
		}
	case 1:
		hl += 4 // payload length and call ID
		if flags&0x1000 != 0 {
			hl += 4
		}
		if flags&0x0080 != 0 {
			hl += 4 // acknowledgment number
		}
	default:
		return d.not(SkipGRE, flags&7)
	}
	if len(b) < hl {
		return errShort("GRE header", len(b))
	}
	d.greSeq = flags&0x1000 != 0
	b = b[hl:]
	switch {
	case proto == 0x880b: // PPP (PPTP)
		return d.ppp(b, p, depth)
	case proto >= 0x8200 && proto <= 0x83ff:
		// Aruba access points tunnel 802.11 frames to their controller
		// with GRE protocol types 0x8200-0x8310 (Wireshark packet-gre.h).
		return d.wlan(b, p, depth)
	}
	return d.ethertype(proto, b, p, depth)
}

// wlan decodes an 802.11 data frame's header and hands its LLC payload on.
func (d *Decoder) wlan(b []byte, p *Packet, depth int) error {
	if len(b) < 24 {
		return errShort("802.11 header", len(b))
	}
	fc, flags := b[0], b[1]
	if fc>>2&3 != 2 {
		return d.not(SkipWLAN, uint16(fc)) // management and control frames
	}
	subtype := fc >> 4
	if subtype&4 != 0 || flags&0x40 != 0 {
		return d.not(SkipWLAN, uint16(fc)|uint16(flags&0x40)<<8) // null data, or protected (encrypted) payload
	}
	hl := 24
	if flags&3 == 3 {
		hl += 6 // fourth address (WDS)
	}
	if subtype&8 != 0 {
		hl += 2 // QoS control
		if flags&0x80 != 0 {
			hl += 4 // HT control
		}
	}
	if len(b) < hl {
		return errShort("802.11 header", len(b))
	}
	return d.llc(b[hl:], p, depth)
}

// trailer keeps, for a RST, the bytes of ip (an IP datagram as captured)
// past end, its length: a non-RST segment costs one flag test. A
// jumbogram or offload super-packet (length 0) has no end to go by and
// is not given one.
func (p *Packet) trailer(ip []byte, end int) {
	if p.Flags&RST == 0 || end >= len(ip) {
		return
	}
	p.Trailer = ip[end:min(len(ip), end+MaxTrailer):min(len(ip), end+MaxTrailer)]
}

// tcp decodes a TCP header. b is what was captured of the segment, n its
// length according to the IP header: the payload length comes from n, so a
// snap length that cut the payload still gives exact sequence arithmetic.
func (d *Decoder) tcp(b []byte, n int, p *Packet) error {
	if n < 20 {
		return fmt.Errorf("IP length leaves %d bytes for TCP", n)
	}
	if len(b) < 20 {
		return errShort("TCP header", len(b))
	}
	off := int(b[12]>>4) * 4
	if off < 20 {
		return fmt.Errorf("TCP data offset %d", off)
	}
	if off > n {
		return fmt.Errorf("TCP data offset %d past the %d-byte segment", off, n)
	}
	if off > len(b) {
		return errShort("TCP options", len(b))
	}
	p.SrcPort = binary.BigEndian.Uint16(b)
	p.DstPort = binary.BigEndian.Uint16(b[2:])
	p.Seq = binary.BigEndian.Uint32(b[4:])
	p.Ack = binary.BigEndian.Uint32(b[8:])
	p.Flags = Flags(b[13])
	p.Window = binary.BigEndian.Uint16(b[14:])
	p.Len = n - off
	p.Payload = b[off:len(b):len(b)]
	tcpOptions(b[20:off], p)
	return nil
}

// tcpOptions reads the options rstwhy uses (RFC 9293 §3.2, RFC 7323,
// RFC 2018). A malformed option list ends parsing; the header stands.
func tcpOptions(o []byte, p *Packet) {
	syn := p.Flags&SYN != 0
	shift := 0
	for len(o) > 0 {
		kind := o[0]
		if kind == 0 {
			return
		}
		if syn && shift < 64 {
			p.Layout |= uint64(kind) << shift
			shift += 8
		}
		if kind == 1 {
			o = o[1:]
			continue
		}
		if len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
			return
		}
		v := o[2:o[1]]
		switch {
		case kind == 2 && len(v) == 2:
			p.MSS = binary.BigEndian.Uint16(v)
		case kind == 3 && len(v) == 1:
			p.WScale = int8(min(v[0], 14)) // RFC 7323 §2.3: larger shifts mean 14
		case kind == 4:
			p.SACKPerm = true
		case kind == 5 && len(v) >= 8:
			p.SACK = true
		case kind == 8 && len(v) == 8:
			p.HasTS = true
			p.TSVal = binary.BigEndian.Uint32(v)
			p.TSEcr = binary.BigEndian.Uint32(v[4:])
		}
		o = o[o[1]:]
	}
}

// erspan2 decodes ERSPAN type II (an 8-byte header: version, VLAN, CoS,
// session, index) before the mirrored Ethernet frame; type I, sent with
// the same GRE protocol but without a GRE sequence number, has no header
// (Wireshark packet-erspan.c).
func (d *Decoder) erspan2(b []byte, p *Packet, depth int) error {
	if !d.greSeq {
		return d.ether(b, p, depth)
	}
	if len(b) < 8 {
		return errShort("ERSPAN II header", len(b))
	}
	return d.ether(b[8:], p, depth)
}

// erspan3 decodes ERSPAN type III: a 12-byte header whose last bit (O)
// announces an 8-byte platform subheader, and whose frame type (FT, 5
// bits) says Ethernet (0) or IP (2) follows.
func (d *Decoder) erspan3(b []byte, p *Packet, depth int) error {
	if len(b) < 12 {
		return errShort("ERSPAN III header", len(b))
	}
	hl := 12
	if b[11]&1 != 0 {
		hl += 8
	}
	if len(b) < hl {
		return errShort("ERSPAN III subheader", len(b))
	}
	switch ft := b[10] >> 2 & 0x1f; ft {
	case 0:
		return d.ether(b[hl:], p, depth)
	case 2:
		return d.ip(b[hl:], p, depth)
	default:
		return d.not(SkipEthertype, 0x22eb)
	}
}
