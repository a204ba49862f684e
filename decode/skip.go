package decode

import "fmt"

// Skip says what a frame carried instead of a TCP segment: the layer at
// which the decoder stopped and the value it stopped at. Callers count
// frames by it (Decoder.Last) so that nothing is silently left out: UDP
// and ARP are expected, an unknown ethertype or GRE protocol may hide TCP.
type Skip struct {
	Kind SkipKind
	Code uint16 // the ethertype, IP protocol, ... (see Kind)
}

// SkipKind is the layer a Skip stopped at.
type SkipKind uint8

const (
	SkipNone      SkipKind = iota
	SkipEthertype          // Code: an ethertype the decoder does not follow (ARP, LLDP, ...)
	SkipIPProto            // Code: an IP protocol other than TCP and the tunnels (UDP, ICMP, ...)
	SkipFragment           // a later IP fragment: its TCP header was in the first
	SkipLLC                // 802.2 LLC without SNAP (spanning tree, NetBIOS, ...)
	SkipSLL                // Code: a Linux cooked protocol below 1536, or netlink (824)
	SkipLoopback           // Code: a BSD loopback address family other than IP
	SkipNFLOG              // Code: an NFLOG record of another family, or without payload
	SkipPPP                // Code: a PPP protocol other than IP and MPLS (LCP, IPCP, ...)
	SkipWLAN               // Code: 802.11 frame control: management, control, null or protected frames
	SkipGRE                // Code: a GRE version other than 0 and 1
)

// Hides reports whether frames of this kind may carry TCP that rstwhy
// does not read: an encapsulation it does not follow, or encrypted 802.11.
// UDP, ARP, ICMP and routing protocols are just other traffic.
func (s Skip) Hides() bool {
	switch s.Kind {
	case SkipEthertype:
		switch s.Code {
		case 0x0806, 0x8035, 0x88cc, 0x8809, 0x888e, 0x88f7, 0x9000, 0x8899, 0x88e5, 0x8863,
			0x2000, 0x2003, 0x2004, 0x8808, 0x88a2, 0x8892, 0x88a4, 0x88ab, 0x88b8, 0x88ba, 0x88e1,
			0x88f5, 0x88f6, 0x8906, 0x8914, 0x8137, 0x809b, 0x80f3, 0x0842, 0x6002, 0x6003, 0x6004:
			// ARP, RARP, LLDP, LACP, 802.1X, PTP, loopback, Realtek, MACsec,
			// PPPoE discovery, Cisco CDP/VTP/DTP, pause frames, AoE,
			// PROFINET, EtherCAT, POWERLINK, GOOSE, SV, HomePlug, MRP,
			// FCoE, FIP, IPX, AppleTalk, AARP, Wake-on-LAN, DEC: not TCP.
			return false
		}
		return s.Code >= 1536
	case SkipWLAN:
		return s.Code&0x4000 != 0 // protected: encrypted payload
	case SkipGRE:
		return true
	}
	return false
}

var ipProtos = map[uint16]string{1: "ICMP", 2: "IGMP", 17: "UDP", 50: "ESP", 51: "AH", 58: "ICMPv6", 59: "no next header",
	88: "EIGRP", 89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP"}

var ethertypes = map[uint16]string{0x0806: "ARP", 0x8035: "RARP", 0x88cc: "LLDP", 0x8809: "LACP", 0x888e: "802.1X",
	0x88f7: "PTP", 0x9000: "loopback", 0x8863: "PPPoE discovery", 0x88be: "ERSPAN", 0x22eb: "ERSPAN III",
	0x8915: "RoCE", 0x88e7: "PBB", 0x2000: "CDP", 0x8902: "CFM", 0x890d: "802.11 over Ethernet", 0x22f0: "AVTP"}

// String names the skip the way the summary counts it: "UDP", "ethertype
// 0x88be (ERSPAN)", "802.11 management".
func (s Skip) String() string {
	switch s.Kind {
	case SkipEthertype:
		if n, ok := ethertypes[s.Code]; ok {
			return fmt.Sprintf("ethertype 0x%04x (%s)", s.Code, n)
		}
		return fmt.Sprintf("ethertype 0x%04x", s.Code)
	case SkipIPProto:
		if n, ok := ipProtos[s.Code]; ok {
			return n
		}
		return fmt.Sprintf("IP protocol %d", s.Code)
	case SkipFragment:
		return "IP fragment"
	case SkipLLC:
		return "LLC without SNAP"
	case SkipSLL:
		if s.Code == 824 {
			return "netlink"
		}
		return fmt.Sprintf("Linux cooked protocol %d", s.Code)
	case SkipLoopback:
		return fmt.Sprintf("loopback family %d", s.Code)
	case SkipNFLOG:
		return fmt.Sprintf("NFLOG family %d", s.Code)
	case SkipPPP:
		return fmt.Sprintf("PPP protocol 0x%04x", s.Code)
	case SkipWLAN:
		switch {
		case s.Code&0x4000 != 0:
			return "802.11 protected (encrypted)"
		case s.Code>>2&3 == 0:
			return "802.11 management"
		case s.Code>>2&3 == 1:
			return "802.11 control"
		}
		return "802.11 null data"
	case SkipGRE:
		return fmt.Sprintf("GRE version %d", s.Code)
	}
	return "not TCP"
}

// not records why the frame is not a TCP segment and returns ErrNotTCP.
func (d *Decoder) not(kind SkipKind, code uint16) error {
	d.last = Skip{kind, code}
	return ErrNotTCP
}

// Last says what the frame of the latest Decode that returned ErrNotTCP
// carried instead.
func (d *Decoder) Last() Skip { return d.last }
