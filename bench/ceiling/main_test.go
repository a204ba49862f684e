package main

import (
	"bufio"
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// frames builds three packets of one connection, seen both ways: a
// VLAN-tagged IPv4 SYN, its RST+ACK answer, and an IPv6 RST, plus a UDP
// datagram that is not TCP.
func frames(tb testing.TB) [][]byte {
	tb.Helper()
	a4, b4 := net.IP{192, 0, 2, 1}, net.IP{192, 0, 2, 2}
	a6, b6 := net.ParseIP("2001:db8::1"), net.ParseIP("2001:db8::2")
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	ser := func(ls ...gopacket.SerializableLayer) []byte {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
			tb.Fatal(err)
		}
		return append([]byte(nil), buf.Bytes()...)
	}
	return [][]byte{
		ser(&layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: a4, DstIP: b4},
			&layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, DataOffset: 5}),
		ser(&layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: b4, DstIP: a4},
			&layers.TCP{SrcPort: 443, DstPort: 40000, RST: true, ACK: true, DataOffset: 5}),
		ser(&layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv6},
			&layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: a6, DstIP: b6},
			&layers.TCP{SrcPort: 40001, DstPort: 443, RST: true, DataOffset: 5}),
		ser(&layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: a4, DstIP: b4},
			&layers.UDP{SrcPort: 53, DstPort: 53}),
	}
}

func TestCount(t *testing.T) {
	for _, tt := range []struct{ name, why string }{
		{"pcap", "tcpdump's format"},
		{"pcapng", "Wireshark's format, found by its magic"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			var write func(gopacket.CaptureInfo, []byte) error
			flush := func() error { return nil }
			if tt.name == "pcapng" {
				w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
				if err != nil {
					t.Fatal(err)
				}
				write, flush = w.WritePacket, w.Flush
			} else {
				w := pcapgo.NewWriter(&buf)
				if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
					t.Fatal(err)
				}
				write = w.WritePacket
			}
			var size int64
			for i, f := range frames(t) {
				ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, int64(i)), CaptureLength: len(f), Length: len(f)}
				if err := write(ci, f); err != nil {
					t.Fatal(err)
				}
				size += int64(len(f))
			}
			if err := flush(); err != nil {
				t.Fatal(err)
			}
			got, err := count(bufio.NewReader(&buf))
			if err != nil {
				t.Fatal(err)
			}
			want := counts{Packets: 4, Bytes: size, RSTs: 2, Undecoded: 1, Flows: 2}
			if got != want {
				t.Errorf("count = %+v, want %+v (%s)", got, want, tt.why)
			}
		})
	}
}
