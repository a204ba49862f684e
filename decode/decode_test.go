package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/rstwhy/rstwhy/capture"
)

// The test packets are built with gopacket's serializers where it has
// them, so that the decoder is checked against an independent writer;
// headers gopacket cannot write (SLL2, loopback, FDDI, 802.11, IPv6
// extension chains) are spelled out byte by byte.

var (
	src4 = net.IP{192, 0, 2, 1}
	dst4 = net.IP{198, 51, 100, 2}
	src6 = net.ParseIP("2001:db8::1")
	dst6 = net.ParseIP("2001:db8::2")
)

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		tb.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// testTCP is the segment most cases carry: a RST+ACK with every option
// the decoder reads and a 5-byte payload.
func testTCP() *layers.TCP {
	return &layers.TCP{
		SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 2000, RST: true, ACK: true, Window: 512,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 11, 0, 0, 0, 22}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindSACK, OptionLength: 10, OptionData: []byte{0, 0, 3, 0xe8, 0, 0, 7, 0xd0}},
		},
	}
}

var testPayload = gopacket.Payload("hello")

func testIPv4() *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x1234, Flags: layers.IPv4DontFragment,
		Protocol: layers.IPProtocolTCP, SrcIP: src4, DstIP: dst4}
}

func testIPv6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 63, NextHeader: next, SrcIP: src6, DstIP: dst6}
}

// ip4TCP and ip6TCP are bare IP packets carrying testTCP.
func ip4TCP(tb testing.TB) []byte { return serialize(tb, testIPv4(), testTCP(), testPayload) }
func ip6TCP(tb testing.TB) []byte {
	return serialize(tb, testIPv6(layers.IPProtocolTCP), testTCP(), testPayload)
}

// want4 and want6 are what Decode must give for ip4TCP and ip6TCP.
func want4() Packet {
	p := Packet{
		Src: [16]byte{10: 0xff, 11: 0xff, 12: 192, 13: 0, 14: 2, 15: 1},
		Dst: [16]byte{10: 0xff, 11: 0xff, 12: 198, 13: 51, 14: 100, 15: 2},
		TTL: 64, IPID: 0x1234, DF: true,
		SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 2000, Flags: RST | ACK, Window: 512, Len: 5,
		MSS: 1460, WScale: 7, SACKPerm: true, SACK: true, HasTS: true, TSVal: 11, TSEcr: 22,
		Payload: []byte("hello"),
	}
	return p
}

func want6() Packet {
	p := want4()
	p.IPv6, p.TTL, p.IPID, p.DF = true, 63, 0, false
	copy(p.Src[:], src6)
	copy(p.Dst[:], dst6)
	return p
}

// ether prepends an Ethernet header. gopacket's serializer would pad a
// short frame to 60 bytes, which the VLAN cases cannot have mid-frame.
func ether(_ testing.TB, typ layers.EthernetType, rest []byte) []byte {
	h := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
	return append(binary.BigEndian.AppendUint16(h, uint16(typ)), rest...)
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// sllHeader is a Linux cooked header: incoming, ARPHRD_ETHER, 6-byte address.
func sllHeader(proto uint16) []byte {
	h := []byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}
	return binary.BigEndian.AppendUint16(h, proto)
}

func sll2Header(proto uint16) []byte {
	h := binary.BigEndian.AppendUint16(nil, proto)
	h = append(h, 0, 0, 0, 0, 0, 3) // reserved, interface index 3
	h = append(h, 0, 1, 0, 6)       // ARPHRD_ETHER, incoming, address length
	return append(h, 2, 0, 0, 0, 0, 1, 0, 0)
}

// ext is an IPv6 extension header of 8 bytes (a PadN option fills it).
func ext(next layers.IPProtocol) []byte { return []byte{byte(next), 0, 1, 4, 0, 0, 0, 0} }

// ip6Chain is an IPv6 packet whose extension headers come from hdrs,
// first header type first, ahead of testTCP.
func ip6Chain(tb testing.TB, first layers.IPProtocol, hdrs ...[]byte) []byte {
	tb.Helper()
	seg := serialize(tb, testTCP(), testPayload)
	body := cat(append(hdrs, seg)...)
	ip := serialize(tb, testIPv6(first))
	binary.BigEndian.PutUint16(ip[4:], uint16(len(body)))
	return append(ip, body...)
}

// withTrailer is p with the trailer a RST keeps.
func withTrailer(p Packet, t []byte) Packet {
	p.Trailer = t
	return p
}

// mutate returns a copy of b changed by f.
func mutate(b []byte, f func([]byte)) []byte {
	c := bytes.Clone(b)
	f(c)
	return c
}

func TestDecode(t *testing.T) {
	ip4 := ip4TCP(t)
	ip6 := ip6TCP(t)
	eth4 := ether(t, layers.EthernetTypeIPv4, ip4)
	// A bare RST (no payload, no options) in a minimum-size Ethernet
	// frame: 14 + 20 + 20 = 54 bytes, padded to 60.
	bare := serialize(t, testIPv4(), &layers.TCP{SrcPort: 1, DstPort: 2, Seq: 3, RST: true})
	wantBare := want4()
	wantBare.SrcPort, wantBare.DstPort, wantBare.Seq, wantBare.Ack, wantBare.Flags, wantBare.Window = 1, 2, 3, 0, RST, 0
	wantBare.Len, wantBare.Payload, wantBare.MSS, wantBare.WScale, wantBare.SACKPerm, wantBare.SACK = 0, []byte{}, 0, -1, false, false
	wantBare.HasTS, wantBare.TSVal, wantBare.TSEcr = false, 0, 0

	snapped := func(n int) []byte { return eth4[:n] } // tcpdump -s n
	wantSnap := want4()
	wantSnap.Payload = []byte("he")
	hdrEnd := 14 + 20 + 52 // the test segment's header is 52 bytes

	tests := []struct {
		name    string
		link    capture.LinkType
		data    []byte
		want    Packet // when wantErr is nil
		wantErr error  // ErrNotTCP, ErrUnsupportedLink, or errMalformed for any other
		why     string
	}{
		{"ethernet", capture.LinkTypeEthernet, eth4, want4(), nil, "the common case"},
		{"ethernet-ipv6", capture.LinkTypeEthernet, ether(t, layers.EthernetTypeIPv6, ip6), want6(), nil, "IPv6 over Ethernet"},
		{"vlan", capture.LinkTypeEthernet, cat(ether(t, layers.EthernetTypeDot1Q, nil), []byte{0, 10, 0x08, 0x00}, ip4), want4(), nil, "802.1Q tag"},
		{"qinq", capture.LinkTypeEthernet, cat(ether(t, layers.EthernetTypeQinQ, nil), []byte{0, 10, 0x81, 0x00, 0, 20, 0x86, 0xdd}, ip6), want6(), nil, "802.1ad outer tag, 802.1Q inner"},
		{"vlan-x3", capture.LinkTypeEthernet, cat(ether(t, layers.EthernetTypeDot1Q, nil), []byte{0, 1, 0x91, 0x00, 0, 2, 0x81, 0x00, 0, 3, 0x08, 0x00}, ip4), want4(), nil, "any depth, legacy 0x9100 QinQ"},
		{"vlan-cut", capture.LinkTypeEthernet, cat(ether(t, layers.EthernetTypeDot1Q, nil), []byte{0, 10}), Packet{}, errMalformed, "tag cut short"},
		{"padding", capture.LinkTypeEthernet, cat(ether(t, layers.EthernetTypeIPv4, bare), make([]byte, 6)), withTrailer(wantBare, make([]byte, 6)), nil, "Ethernet pads to 60 bytes: the IP length wins, Len stays 0; a RST keeps the padding as its trailer"},
		{"sll", capture.LinkTypeLinuxSLL, cat(sllHeader(0x0800), ip4), want4(), nil, "tcpdump -i any, old format"},
		{"sll-ipv6", capture.LinkTypeLinuxSLL, cat(sllHeader(0x86dd), ip6), want6(), nil, ""},
		{"sll-short", capture.LinkTypeLinuxSLL, sllHeader(0x0800)[:10], Packet{}, errMalformed, ""},
		{"sll-netlink", capture.LinkTypeLinuxSLL, mutate(cat(sllHeader(0x0800), ip4), func(b []byte) { b[2], b[3] = 0x03, 0x38 }), Packet{}, ErrNotTCP, "ARPHRD_NETLINK"},
		{"sll2", capture.LinkTypeLinuxSLL2, cat(sll2Header(0x0800), ip4), onIface(want4(), 3), nil, "tcpdump -i any, libpcap 1.10; the header names the interface"},
		{"sll2-ipv6", capture.LinkTypeLinuxSLL2, cat(sll2Header(0x86dd), ip6), onIface(want6(), 3), nil, ""},
		{"sll-outgoing", capture.LinkTypeLinuxSLL, mutate(cat(sllHeader(0x0800), ip4), func(b []byte) { b[1] = 4 }), outgoing(want4()), nil, "packet type 4: the capture host sent it"},
		{"sll2-outgoing", capture.LinkTypeLinuxSLL2, mutate(cat(sll2Header(0x0800), ip4), func(b []byte) { b[10] = 4 }), outgoing(onIface(want4(), 3)), nil, "packet type in byte 10"},
		{"sll2-otherhost", capture.LinkTypeLinuxSLL2, mutate(cat(sll2Header(0x0800), ip4), func(b []byte) { b[10] = 3 }), onIface(want4(), 3), nil, "PACKET_OTHERHOST is not ours"},
		{"null-le", capture.LinkTypeNull, cat([]byte{2, 0, 0, 0}, ip4), want4(), nil, "DLT_NULL, little-endian host"},
		{"null-be", capture.LinkTypeNull, cat([]byte{0, 0, 0, 2}, ip4), want4(), nil, "DLT_NULL, big-endian host"},
		{"null-v6-24", capture.LinkTypeNull, cat([]byte{24, 0, 0, 0}, ip6), want6(), nil, "AF_INET6 on NetBSD/OpenBSD"},
		{"null-v6-28", capture.LinkTypeNull, cat([]byte{28, 0, 0, 0}, ip6), want6(), nil, "AF_INET6 on FreeBSD"},
		{"null-v6-30", capture.LinkTypeNull, cat([]byte{30, 0, 0, 0}, ip6), want6(), nil, "AF_INET6 on macOS"},
		{"loop", capture.LinkTypeLoop, cat([]byte{0, 0, 0, 30}, ip6), want6(), nil, "DLT_LOOP: network byte order"},
		{"null-other", capture.LinkTypeNull, cat([]byte{7, 0, 0, 0}, ip4), Packet{}, ErrNotTCP, "unknown address family"},
		{"raw-101", capture.LinkTypeRaw, ip4, want4(), nil, "LINKTYPE_RAW"},
		{"raw-101-v6", capture.LinkTypeRaw, ip6, want6(), nil, "version nibble picks IPv6"},
		{"raw-12", 12, ip4, want4(), nil, "DLT_RAW on most systems"},
		{"raw-14", 14, ip6, want6(), nil, "DLT_RAW on OpenBSD"},
		{"ipv4-link", capture.LinkTypeIPv4, ip4, want4(), nil, ""},
		{"ipv6-link", capture.LinkTypeIPv6, ip6, want6(), nil, ""},
		{"raw-bad-version", capture.LinkTypeRaw, mutate(ip4, func(b []byte) { b[0] = 0x55 }), Packet{}, errMalformed, ""},
		{"unsupported", 147, ip4, Packet{}, ErrUnsupportedLink, "LINKTYPE_USER0"},
		{"empty", capture.LinkTypeEthernet, nil, Packet{}, errMalformed, "zero-length frame"},

		{"ipv6-ext", capture.LinkTypeRaw, ip6Chain(t, layers.IPProtocolIPv6HopByHop,
			ext(layers.IPProtocolIPv6Destination), ext(layers.IPProtocolIPv6Routing), ext(layers.IPProtocolIPv6Fragment),
			[]byte{byte(layers.IPProtocolTCP), 0, 0, 1, 0, 0, 0, 9}), want6(), nil, "hop-by-hop, destination, routing, first fragment (M set, offset 0)"},
		{"ipv6-ah", capture.LinkTypeRaw, ip6Chain(t, layers.IPProtocolAH,
			append([]byte{byte(layers.IPProtocolTCP), 4, 0, 0}, make([]byte, 20)...)), want6(), nil, "authentication header: length in 4-byte units, minus 2"},
		{"ipv4-options", capture.LinkTypeRaw, serialize(t, func() *layers.IPv4 {
			ip := testIPv4()
			ip.Options = []layers.IPv4Option{{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}}} // record route
			return ip
		}(), testTCP(), testPayload), want4(), nil, "IHL 7: options skipped, lengths still exact"},
		{"ipv6-later-fragment", capture.LinkTypeRaw, ip6Chain(t, layers.IPProtocolIPv6Fragment,
			[]byte{byte(layers.IPProtocolTCP), 0, 0, 0x10, 0, 0, 0, 9}), Packet{}, ErrNotTCP, "offset 2: no TCP header here"},
		{"ipv6-ext-loop", capture.LinkTypeRaw, ip6Chain(t, layers.IPProtocolIPv6Destination,
			bytes.Repeat(ext(layers.IPProtocolIPv6Destination), 40)), Packet{}, errMalformed, "a chain of 40 headers is cut at 16"},
		{"ipv6-ext-cut", capture.LinkTypeRaw, ip6Chain(t, layers.IPProtocolIPv6HopByHop, []byte{6, 9}), Packet{}, errMalformed, "header length past the packet"},
		{"ipv6-no-next", capture.LinkTypeRaw, ip6Chain(t, layers.IPProtocolNoNextHeader), Packet{}, ErrNotTCP, ""},
		{"ipv4-later-fragment", capture.LinkTypeRaw, mutate(ip4, func(b []byte) { b[6], b[7] = 0, 8 }), Packet{}, ErrNotTCP, "offset 64 bytes"},
		{"ipv4-first-fragment", capture.LinkTypeRaw, mutate(ip4, func(b []byte) { b[6], b[7] = 0x20, 0 }),
			func() Packet { p := want4(); p.DF = false; return p }(), nil, "MF set, offset 0: the TCP header is here"},

		{"snap-96", capture.LinkTypeEthernet, snapped(hdrEnd + 2), wantSnap, nil, "tcpdump -s 88: header whole, Len from the IP length"},
		{"snap-header", capture.LinkTypeEthernet, snapped(hdrEnd + 0), func() Packet { p := want4(); p.Payload = []byte{}; return p }(), nil, "payload all cut"},
		{"snap-options", capture.LinkTypeEthernet, snapped(hdrEnd - 4), Packet{}, errMalformed, "options cut by the snap length: no guessing"},
		{"snap-tcp", capture.LinkTypeEthernet, snapped(14 + 20 + 10), Packet{}, errMalformed, "fixed header cut"},
		{"snap-ip", capture.LinkTypeEthernet, snapped(14 + 10), Packet{}, errMalformed, "IP header cut"},
		{"ihl-4", capture.LinkTypeRaw, mutate(ip4, func(b []byte) { b[0] = 0x44 }), Packet{}, errMalformed, "IHL below 5"},
		{"ihl-past-end", capture.LinkTypeRaw, mutate(ip4[:40], func(b []byte) { b[0] = 0x4f }), Packet{}, errMalformed, "60-byte header in 40 bytes"},
		{"total-below-ihl", capture.LinkTypeRaw, mutate(ip4, func(b []byte) { b[2], b[3] = 0, 10 }), Packet{}, errMalformed, ""},
		{"total-leaves-no-tcp", capture.LinkTypeRaw, mutate(ip4, func(b []byte) { b[2], b[3] = 0, 30 }), Packet{}, errMalformed, "10 bytes for a 20-byte header"},
		{"tso-total-0", capture.LinkTypeRaw, mutate(ip4, func(b []byte) { b[2], b[3] = 0, 0 }), want4(), nil, "Linux TSO super-packet: total length 0"},
		{"doff-4", capture.LinkTypeRaw, mutate(ip4, func(b []byte) { b[20+12] = 0x40 }), Packet{}, errMalformed, "data offset below 5"},
		{"doff-past-end", capture.LinkTypeRaw, mutate(ip4, func(b []byte) { b[20+12] = 0xf0 }), Packet{}, errMalformed, "60-byte header in a 57-byte segment"},
		{"doff-ipv6-past-end", capture.LinkTypeRaw, mutate(ip6, func(b []byte) { b[40+12] = 0xf0 }), Packet{}, errMalformed, ""},
		{"icmp-quote", capture.LinkTypeRaw, serialize(t, &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: dst4, DstIP: src4},
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(ip4[:48])), Packet{}, ErrNotTCP, "a TCP header quoted in an ICMP error is not this packet's segment"},
		{"udp", capture.LinkTypeRaw, serialize(t, &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src4, DstIP: dst4},
			&layers.UDP{SrcPort: 53, DstPort: 53}, gopacket.Payload("x")), Packet{}, ErrNotTCP, ""},
		{"arp", capture.LinkTypeEthernet, ether(t, layers.EthernetTypeARP, make([]byte, 28)), Packet{}, ErrNotTCP, ""},
		{"no-wscale", capture.LinkTypeRaw, bare, wantBare, nil, "WScale is -1 without the option"},
	}
	tests = append(tests, encapTests(t)...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			p := Packet{Frame: 7, TS: 99, WScale: 3, MSS: 1, Len: 1234}
			err := d.Decode(tt.link, tt.data, &p)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Decode: %v (%s)", err, tt.why)
			case tt.wantErr == errMalformed:
				if err == nil || errors.Is(err, ErrNotTCP) || errors.Is(err, ErrUnsupportedLink) {
					t.Fatalf("Decode = %v, want a malformed-packet error (%s)", err, tt.why)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decode = %v, want %v (%s)", err, tt.wantErr, tt.why)
				}
				return
			}
			want := tt.want
			want.Frame, want.TS = 7, 99
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("Decode (-want +got):\n%s\n%s", diff, tt.why)
			}
		})
	}
}

// errMalformed stands for any error other than the two sentinels.
var errMalformed = errors.New("malformed")

type decodeTest = struct {
	name    string
	link    capture.LinkType
	data    []byte
	want    Packet
	wantErr error
	why     string
}

// encapTests covers the tunnels and old links the public corpus needs.
func encapTests(tb testing.TB) []decodeTest {
	ip4 := ip4TCP(tb)
	ip6 := ip6TCP(tb)
	outer := func(proto layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 200, Id: 7, Protocol: proto, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	}
	snap := func(typ uint16) []byte { return binary.BigEndian.AppendUint16([]byte{0xaa, 0xaa, 0x03, 0, 0, 0}, typ) }
	// An 802.11 QoS data frame to the distribution system, as an Aruba
	// access point tunnels it: 24-byte header, QoS control, LLC/SNAP.
	wlan := cat([]byte{0x88, 0x01, 0, 0}, make([]byte, 18), []byte{0x10, 0x00, 0, 0}, snap(0x0800), ip4)
	teredo := serialize(tb, outer(layers.IPProtocolUDP), &layers.UDP{SrcPort: 3544, DstPort: 50000}, gopacket.Payload(ip6))
	return []decodeTest{
		{"pppoe", capture.LinkTypeEthernet, ether(tb, layers.EthernetTypePPPoESession,
			cat([]byte{0x11, 0, 0, 1}, binary.BigEndian.AppendUint16(nil, uint16(len(ip4)+2)), []byte{0x00, 0x21}, ip4)), want4(), nil, "PPPoE session, PPP IPv4"},
		{"pppoe-vlan", capture.LinkTypeEthernet, cat(ether(tb, layers.EthernetTypeDot1Q, nil), []byte{0, 1, 0x81, 0x00, 0, 2, 0x88, 0x64},
			[]byte{0x11, 0, 0, 1}, binary.BigEndian.AppendUint16(nil, uint16(len(ip6)+2)), []byte{0x00, 0x57}, ip6), want6(), nil, "pcpp_one_http_stream_rst: two tags, PPPoE, PPP IPv6"},
		{"mpls", capture.LinkTypeEthernet, ether(tb, layers.EthernetTypeMPLSUnicast, cat([]byte{0, 1, 0x00, 64, 0, 2, 0x01, 64}, ip4)), want4(), nil, "two labels, bottom of stack, IPv4 by nibble"},
		{"mpls-pw", capture.LinkTypeEthernet, ether(tb, layers.EthernetTypeMPLSUnicast, cat([]byte{0, 1, 0x01, 64}, []byte{0, 0, 0, 0}, ether(tb, layers.EthernetTypeIPv6, ip6))), want6(), nil, "Ethernet pseudowire with control word"},
		{"mpls-cut", capture.LinkTypeEthernet, ether(tb, layers.EthernetTypeMPLSUnicast, []byte{0, 1, 0x00, 64, 0, 2}), Packet{}, errMalformed, "no bottom of stack"},
		{"gre", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE), &layers.GRE{Protocol: layers.EthernetTypeIPv4}, gopacket.Payload(ip4)), want4(), nil, "the inner IP header is the segment's"},
		{"gre-key-seq", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE),
			&layers.GRE{KeyPresent: true, SeqPresent: true, ChecksumPresent: true, Key: 5, Seq: 6, Protocol: layers.EthernetTypeIPv6}, gopacket.Payload(ip6)), want6(), nil, "checksum, key and sequence fields"},
		{"gre-teb", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE), &layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging},
			gopacket.Payload(ether(tb, layers.EthernetTypeIPv4, ip4))), want4(), nil, "Ethernet over GRE"},
		{"gre-aruba", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE), &layers.GRE{Protocol: 0x8200}, gopacket.Payload(wlan)), want4(), nil, "zeek_tunnels_gre-aruba: GRE 0x8200, 802.11 QoS data, LLC/SNAP"},
		{"gre-aruba-protected", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE), &layers.GRE{Protocol: 0x8200},
			gopacket.Payload(mutate(wlan, func(b []byte) { b[1] |= 0x40 }))), Packet{}, ErrNotTCP, "encrypted 802.11 payload"},
		{"erspan-ii", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE), &layers.GRE{SeqPresent: true, Seq: 7, Protocol: 0x88be},
			gopacket.Payload(cat([]byte{0x10, 0x01, 0x00, 0x2a, 0, 0, 0, 0}, ether(tb, layers.EthernetTypeIPv4, ip4)))), want4(), nil, "ERSPAN type II: GRE with a sequence number, 8-byte header, mirrored Ethernet"},
		{"erspan-i", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE), &layers.GRE{Protocol: 0x88be},
			gopacket.Payload(ether(tb, layers.EthernetTypeIPv6, ip6))), want6(), nil, "ERSPAN type I: no sequence number, no header"},
		{"erspan-iii", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE), &layers.GRE{SeqPresent: true, Protocol: 0x22eb},
			gopacket.Payload(cat([]byte{0x20, 0x01, 0x00, 0x2a, 1, 2, 3, 4, 0, 0, 0x00, 0x01}, make([]byte, 8), ether(tb, layers.EthernetTypeIPv4, ip4)))), want4(), nil, "ERSPAN type III with the platform subheader (O bit), frame type Ethernet"},
		{"erspan-iii-ip", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE), &layers.GRE{SeqPresent: true, Protocol: 0x22eb},
			gopacket.Payload(cat([]byte{0x20, 0x01, 0x00, 0x2a, 1, 2, 3, 4, 0, 0, 0x08, 0x00}, ip6))), want6(), nil, "ERSPAN type III, frame type IP"},
		{"pptp", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolGRE), gopacket.Payload(cat([]byte{0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0x03, 0x00, 0x21}, ip4))),
			want4(), nil, "PPTP enhanced GRE (version 1, key and sequence), PPP with HDLC address and control"},
		{"ipip", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolIPv4), gopacket.Payload(ip4)), want4(), nil, "IP in IP"},
		{"6in4", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolIPv6), gopacket.Payload(ip6)), want6(), nil, "IPv6 in IPv4"},
		{"4in6", capture.LinkTypeRaw, serialize(tb, testIPv6(layers.IPProtocolIPv4), gopacket.Payload(ip4)), want4(), nil, "IPv4 in IPv6"},
		{"fddi", capture.LinkTypeFDDI, cat([]byte{0x50}, make([]byte, 12), snap(0x0800), ip4), want4(), nil, "zeek_llc: FDDI, 802.2 LLC/SNAP"},
		{"fddi-not-snap", capture.LinkTypeFDDI, cat([]byte{0x50}, make([]byte, 12), []byte{0x42, 0x42, 0x03}, ip4), Packet{}, ErrNotTCP, "spanning tree LLC"},
		{"8023-snap", capture.LinkTypeEthernet, cat(ether(tb, layers.EthernetType(len(ip4)+8), nil), snap(0x0800), ip4), want4(), nil, "802.3 length field, SNAP"},
		{"vxlan", capture.LinkTypeRaw, serialize(tb, outer(layers.IPProtocolUDP), &layers.UDP{SrcPort: 1234, DstPort: 4789},
			&layers.VXLAN{ValidIDFlag: true, VNI: 42}, gopacket.Payload(ether(tb, layers.EthernetTypeIPv4, ip4))), want4(), nil, ""},
		{"teredo", capture.LinkTypeRaw, teredo, want6(), nil, "IPv6 in UDP 3544"},
		{"ppp", capture.LinkTypePPP, cat([]byte{0xff, 0x03, 0x00, 0x21}, ip4), want4(), nil, "PPP with HDLC framing"},
		{"cisco-hdlc", capture.LinkTypeC_HDLC, cat([]byte{0x0f, 0x00, 0x08, 0x00}, ip4), want4(), nil, "Cisco HDLC, an ethertype"},
		{"nflog", linkNFLOG, nflog(binary.LittleEndian, 2, ip4), want4(), nil, "tcpdump -i nflog: iptables logging, TLVs little-endian"},
		{"nflog-be", linkNFLOG, nflog(binary.BigEndian, 10, ip6), want6(), nil, "big-endian host"},
		{"nflog-no-payload", linkNFLOG, nflog(binary.LittleEndian, 2, nil), Packet{}, ErrNotTCP, "only the packet header TLV"},
		{"pktap", linkPKTAP, cat(pktap(capture.LinkTypeEthernet), ether(tb, layers.EthernetTypeIPv4, ip4)), want4(), nil, "macOS tcpdump -i pktap"},
		{"pktap-unsupported", linkPKTAP, cat(pktap(147), ip4), Packet{}, ErrUnsupportedLink, "inner link unknown"},
		{"pktap-loop", linkPKTAP, cat(pktap(linkPKTAP), ip4), Packet{}, errMalformed, "PKTAP in PKTAP"},
		{"null-23", capture.LinkTypeNull, cat([]byte{23, 0, 0, 0}, ip6), Packet{}, ErrNotTCP, "AF_IPX on the BSDs, as Wireshark reads it, though Windows' AF_INET6"},
		{"nested-too-deep", capture.LinkTypeRaw, func() []byte {
			b := ip4
			for range 20 {
				b = serialize(tb, outer(layers.IPProtocolIPv4), gopacket.Payload(b))
			}
			return b
		}(), Packet{}, errMalformed, "20 levels of IP in IP: tshark decodes them, we stop at 16"},
		{"nested-deep", capture.LinkTypeRaw, func() []byte {
			b := ip4
			for range 12 {
				b = serialize(tb, outer(layers.IPProtocolIPv4), gopacket.Payload(b))
			}
			return b
		}(), want4(), nil, "12 levels of IP in IP"},
	}
}

// nflog builds an NFLOG record: packet header TLV, a prefix TLV of odd
// length (padded), then the payload TLV, in the given host byte order.
func nflog(order binary.AppendByteOrder, family byte, pkt []byte) []byte {
	b := []byte{family, 0, 0, 1}
	tlv := func(typ uint16, v []byte) {
		b = order.AppendUint16(b, uint16(4+len(v)))
		b = order.AppendUint16(b, typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	tlv(1, []byte{0x08, 0x00, 3, 0}) // NFULA_PACKET_HDR
	tlv(10, []byte("rst\x00x"))      // NFULA_PREFIX
	if pkt != nil {
		tlv(9, pkt)
	}
	return b
}

// pktap is a minimal Apple PKTAP header (108 bytes) for link.
func pktap(link capture.LinkType) []byte {
	h := make([]byte, 108)
	binary.LittleEndian.PutUint32(h, 108)
	binary.LittleEndian.PutUint32(h[4:], 1) // PTH_TYPE_PACKET
	binary.LittleEndian.PutUint32(h[8:], uint32(link))
	return h
}

// TestDecodeAllocs holds the fast path to zero allocations per packet.
func TestDecodeAllocs(t *testing.T) {
	ip4 := ip4TCP(t)
	frames := []struct {
		link capture.LinkType
		data []byte
	}{
		{capture.LinkTypeEthernet, ether(t, layers.EthernetTypeIPv4, ip4)},
		{capture.LinkTypeEthernet, cat(ether(t, layers.EthernetTypeDot1Q, nil), []byte{0, 10, 0x86, 0xdd}, ip6TCP(t))},
		{capture.LinkTypeLinuxSLL, cat(sllHeader(0x0800), ip4)},
		{capture.LinkTypeLinuxSLL2, cat(sll2Header(0x0800), ip4)},
		{capture.LinkTypeNull, cat([]byte{2, 0, 0, 0}, ip4)},
		{capture.LinkTypeRaw, ip4},
	}
	var d Decoder
	var p Packet
	for _, f := range frames {
		n := testing.AllocsPerRun(100, func() {
			if err := d.Decode(f.link, f.data, &p); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("link %v: %v allocations per packet, want 0", f.link, n)
		}
	}
}

// onIface sets the capture interface a link header names.
func outgoing(p Packet) Packet {
	p.Outgoing = true
	return p
}

func onIface(p Packet, iface uint32) Packet {
	p.Iface = iface
	return p
}

// TestDecodeSkipNames: a frame without TCP says what it carried, so that
// captures of encapsulations rstwhy does not follow are never silently
// empty.
func TestDecodeSkipNames(t *testing.T) {
	tb := t
	for _, tt := range []struct {
		name  string
		link  capture.LinkType
		data  []byte
		want  string
		hides bool
	}{
		{"arp", capture.LinkTypeEthernet, ether(tb, layers.EthernetTypeARP, make([]byte, 28)), "ethertype 0x0806 (ARP)", false},
		{"udp", capture.LinkTypeRaw, serialize(tb, udpIPv4(), &layers.UDP{SrcPort: 53, DstPort: 5353}, gopacket.Payload{1}), "UDP", false},
		{"unknown-ethertype", capture.LinkTypeEthernet, ether(tb, 0x88b5, make([]byte, 40)), "ethertype 0x88b5", true},
		{"wlan-beacon", capture.LinkTypeIEEE802_11, cat([]byte{0x80, 0, 0, 0}, make([]byte, 40)), "802.11 management", false},
		{"wlan-protected", capture.LinkTypeIEEE802_11, cat([]byte{0x08, 0x40, 0, 0}, make([]byte, 40)), "802.11 protected (encrypted)", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			var p Packet
			if err := d.Decode(tt.link, tt.data, &p); !errors.Is(err, ErrNotTCP) {
				t.Fatalf("Decode: %v, want ErrNotTCP", err)
			}
			if got := d.Last().String(); got != tt.want {
				t.Errorf("Last() = %q, want %q", got, tt.want)
			}
			if got := d.Last().Hides(); got != tt.hides {
				t.Errorf("Hides() = %v, want %v", got, tt.hides)
			}
		})
	}
}

func udpIPv4() *layers.IPv4 {
	ip := testIPv4()
	ip.Protocol = layers.IPProtocolUDP
	return ip
}
