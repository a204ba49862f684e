package decode

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/rstwhy/rstwhy/capture"
)

// The F5 trailers below are laid out field by field from Wireshark's
// dissector (epan/dissectors/packet-f5ethtrailer.c): no capture of a
// BIG-IP is public, so the dissector's description is the reference.

// f5Cause builds a RST cause: version 0 and the peer flag, the 48-bit
// value and the line, then the text.
func f5CauseBytes(peer bool, value uint64, line uint16, text string) []byte {
	b := []byte{0}
	if peer {
		b[0] = 1
	}
	b = binary.BigEndian.AppendUint64(b, value<<16|uint64(line))
	return append(b, text...)
}

// f5LegacyMed builds a legacy medium trailer of version 3: type, length
// (of what follows it, less one), version, flow ID and peer ID (8 bytes
// each), flags2 and flags (4 each), flow type, HA unit, ingress slot and
// port (2 each), priority, then the cause's length and the cause.
func f5LegacyMed(cause []byte) []byte {
	b := []byte{f5Med, 0, 3}
	b = binary.BigEndian.AppendUint64(b, 0x1111)
	b = binary.BigEndian.AppendUint64(b, 0x2222)
	b = append(b, make([]byte, 4+4+1+1+2+2+1)...)
	if len(b) != f5MedLegacyMin[3]-1 {
		panic(len(b))
	}
	b = append(b, byte(len(cause)))
	b = append(b, cause...)
	b[1] = byte(len(b) - 2)
	return b
}

// f5LegacyLow builds a legacy low trailer of version 1: type, length,
// version, ingress, slot, tmm, the virtual server name's length and name.
func f5LegacyLow(vip string) []byte {
	b := []byte{f5Low, 0, 1, 1, 0, 3, byte(len(vip))}
	b = append(b, vip...)
	b[1] = byte(len(b) - 2)
	return b
}

// f5TLV builds a DPT TLV: provider 1 (noise), type, length (with the
// header), version, then the body.
func f5TLV(typ, ver uint16, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, 1)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(f5TLVHdr+len(body)))
	b = binary.BigEndian.AppendUint16(b, ver)
	return append(b, body...)
}

// f5DPTBlock builds a DPT trailer: magic, length, version 1, TLVs: a low
// noise TLV (version 3) and a medium one (version 4) with the cause.
func f5DPTBlock(cause []byte) []byte {
	low := f5TLV(f5Low, 3, append([]byte{1, 0, 2, 4}, "/vip"...))
	med := binary.BigEndian.AppendUint64(nil, 0x3333) // flow ID
	med = binary.BigEndian.AppendUint64(med, 0x4444)  // peer ID
	med = append(med, make([]byte, 4+4+1+1+2+2+1)...)
	if len(med) != f5MedV4Min-1 {
		panic(len(med))
	}
	med = append(med, byte(len(cause)))
	med = append(med, cause...)
	b := binary.BigEndian.AppendUint32(nil, f5DPTMagic)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, low...)
	b = append(b, f5TLV(f5Med, 4, med)...)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	return b
}

func rstFrame(tb testing.TB, ipv6 bool, trailer []byte) []byte {
	tcp := testTCP()
	if ipv6 {
		ip := testIPv6(layers.IPProtocolTCP)
		_ = tcp.SetNetworkLayerForChecksum(ip)
		return cat(ether(tb, layers.EthernetTypeIPv6, serialize(tb, ip, tcp)), trailer)
	}
	return cat(ether(tb, layers.EthernetTypeIPv4, serialize(tb, testIPv4(), tcp)), trailer)
}

func TestF5ResetCause(t *testing.T) {
	const text = "No server selected"
	for _, tc := range []struct {
		name    string
		ipv6    bool
		trailer []byte
		peer    bool
	}{
		{"legacy", false, cat(f5LegacyLow("/Common/vs_http"), f5LegacyMed(f5CauseBytes(false, 0x11c5672, 3045, text))), false},
		{"legacy after padding", false, cat(make([]byte, 6), f5LegacyMed(f5CauseBytes(true, 0x11c5672, 3045, text))), true},
		{"dpt", false, f5DPTBlock(f5CauseBytes(true, 0x11c5672, 3045, text)), true},
		{"dpt ipv6", true, cat(f5DPTBlock(f5CauseBytes(false, 0x11c5672, 3045, text)), []byte{0xde, 0xad, 0xbe, 0xef}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var p Packet
			if err := d.Decode(capture.LinkTypeEthernet, rstFrame(t, tc.ipv6, tc.trailer), &p); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Trailer, tc.trailer) {
				t.Fatalf("Trailer = % x, want % x", p.Trailer, tc.trailer)
			}
			c, ok := F5ResetCause(p.Trailer)
			if !ok {
				t.Fatal("no cause found")
			}
			if string(c.Text) != text || c.Value != 0x11c5672 || c.Line != 3045 || c.Peer != tc.peer {
				t.Errorf("cause = %#x:%d peer %v %q, want %#x:%d peer %v %q", c.Value, c.Line, c.Peer, c.Text, 0x11c5672, 3045, tc.peer, text)
			}
		})
	}
}

func TestF5ResetCauseRejects(t *testing.T) {
	good := f5LegacyMed(f5CauseBytes(false, 1, 2, "Idle timeout"))
	for _, tc := range []struct {
		name    string
		trailer []byte
	}{
		{"padding", make([]byte, 6)},
		{"fcs", []byte{0x12, 0x34, 0x56, 0x78}},
		{"wrong cause length", mutate(good, func(b []byte) { b[f5MedLegacyMin[3]-1]++ })},
		{"unknown cause version", mutate(good, func(b []byte) { b[f5MedLegacyMin[3]] = 2 << 1 })},
		{"text not printable", mutate(good, func(b []byte) { b[len(b)-1] = 0x07 })},
		{"no cause", f5LegacyMed(nil)},
		{"dpt cut short", f5DPTBlock(f5CauseBytes(false, 1, 2, "x"))[:30]},
		{"dpt cause past its TLV", mutate(f5DPTBlock(f5CauseBytes(false, 1, 2, "Idle timeout")), func(b []byte) {
			b[len(b)-len("Idle timeout")-f5CauseHead-1] = 200
		})},
	} {
		if c, ok := F5ResetCause(tc.trailer); ok {
			t.Errorf("%s: found a cause %q in % x", tc.name, c.Text, tc.trailer)
		}
	}
}

// TestTrailerOnlyOnRST: the bytes past the IP datagram are kept for a
// RST, bounded, and never for other segments.
func TestTrailerOnlyOnRST(t *testing.T) {
	var d Decoder
	var p Packet
	long := bytes.Repeat([]byte{0xaa}, MaxTrailer+100)
	if err := d.Decode(capture.LinkTypeEthernet, rstFrame(t, false, long), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Trailer) != MaxTrailer || cap(p.Trailer) != MaxTrailer {
		t.Errorf("trailer of %d bytes kept as %d (cap %d), want %d", len(long), len(p.Trailer), cap(p.Trailer), MaxTrailer)
	}
	tcp := testTCP()
	tcp.RST = false
	frame := cat(ether(t, layers.EthernetTypeIPv4, serialize(t, testIPv4(), tcp)), f5DPTBlock(f5CauseBytes(false, 1, 2, "x")))
	if err := d.Decode(capture.LinkTypeEthernet, frame, &p); err != nil {
		t.Fatal(err)
	}
	if p.Trailer != nil {
		t.Errorf("a segment without RST kept a trailer: % x", p.Trailer)
	}
	if err := d.Decode(capture.LinkTypeEthernet, rstFrame(t, false, nil), &p); err != nil {
		t.Fatal(err)
	}
	if p.Trailer != nil {
		t.Errorf("a RST without trailer has one: % x", p.Trailer)
	}
}

// FuzzF5ResetCause: any trailer is read without a panic, and a cause
// found lies within it.
func FuzzF5ResetCause(f *testing.F) {
	f.Add(f5DPTBlock(f5CauseBytes(true, 1, 2, "No server selected")))
	f.Add(cat(f5LegacyLow("/vs"), f5LegacyMed(f5CauseBytes(false, 1, 2, "Idle timeout"))))
	f.Add(make([]byte, 6))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok := F5ResetCause(b)
		if !ok {
			return
		}
		if len(c.Text) == 0 || !bytes.Contains(b, c.Text) {
			t.Fatalf("cause text %q not in the trailer", c.Text)
		}
	})
}
