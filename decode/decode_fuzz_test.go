package decode

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/rstwhy/rstwhy/capture"
	"github.com/rstwhy/rstwhy/internal/testcap"
)

func FuzzDecode(f *testing.F) {
	ip4 := ip4TCP(f)
	f.Add(uint16(capture.LinkTypeEthernet), ether(f, layers.EthernetTypeIPv4, ip4))
	f.Add(uint16(capture.LinkTypeLinuxSLL2), cat(sll2Header(0x86dd), ip6TCP(f)))
	f.Add(uint16(capture.LinkTypeNull), cat([]byte{2, 0, 0, 0}, ip4))
	f.Add(uint16(capture.LinkTypeEthernet), rstFrame(f, false, f5DPTBlock(f5CauseBytes(true, 1, 2, "No server selected"))))
	f.Add(uint16(capture.LinkTypeEthernet), rstFrame(f, true, cat(f5LegacyLow("/vs"), f5LegacyMed(f5CauseBytes(false, 1, 2, "Idle timeout")))))
	for _, tt := range encapTests(f) {
		f.Add(uint16(tt.link), tt.data)
	}
	// The first frames of every corpus capture, and its RSTs.
	if names, err := testcap.CorpusGlob(); err == nil {
		for _, n := range names {
			fh, err := os.Open(n)
			if err != nil {
				f.Fatal(err)
			}
			r, err := capture.NewReader(fh)
			if err != nil {
				f.Fatal(err)
			}
			var d Decoder
			var p Packet
			for i := 0; ; i++ {
				raw, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					f.Fatal(err)
				}
				if i < 3 || d.Decode(raw.Link, raw.Data, &p) == nil && p.Flags.Has(RST) && i < 50 {
					f.Add(uint16(raw.Link), append([]byte(nil), raw.Data...))
				}
			}
			fh.Close()
		}
	}
	f.Fuzz(func(t *testing.T, link uint16, b []byte) {
		var d Decoder
		p := Packet{Frame: 3, TS: 4}
		err := d.Decode(capture.LinkType(link), b, &p)
		if p.Frame != 3 || p.TS != 4 {
			t.Fatalf("Decode changed Frame or TS: %d %d", p.Frame, p.TS)
		}
		if err != nil {
			// PKTAP names each packet's own link, which may be unsupported.
			if errors.Is(err, ErrUnsupportedLink) && Supported(capture.LinkType(link)) && capture.LinkType(link) != linkPKTAP {
				t.Fatalf("link %d is supported but Decode says %v", link, err)
			}
			return
		}
		if !Supported(capture.LinkType(link)) {
			t.Fatalf("link %d decoded but the reader would skip it", link)
		}
		if p.Len < 0 || len(p.Payload) > p.Len || len(p.Payload) > len(b) {
			t.Fatalf("Len %d, %d payload bytes captured, %d-byte frame", p.Len, len(p.Payload), len(b))
		}
		if len(p.Trailer) > MaxTrailer || len(p.Trailer) > 0 && p.Flags&RST == 0 {
			t.Fatalf("trailer of %d bytes on a segment with flags %v", len(p.Trailer), p.Flags)
		}
		if c, ok := F5ResetCause(p.Trailer); ok && (len(c.Text) == 0 || c.Value >= 1<<48) {
			t.Fatalf("F5 cause %+v", c)
		}
		if p.WScale < -1 || p.WScale > 14 {
			t.Fatalf("WScale %d", p.WScale)
		}
		if !p.IPv6 && (p.Src[10] != 0xff || p.Src[11] != 0xff || p.Dst[10] != 0xff || p.Dst[11] != 0xff) {
			t.Fatalf("IPv4 address not IPv4-mapped: %x %x", p.Src, p.Dst)
		}
		if p.IPv6 && (p.IPID != 0 || p.DF) {
			t.Fatalf("IPv6 packet with IPv4 fields: %+v", p)
		}
		if !p.SrcAddr().IsValid() || !p.DstAddr().IsValid() {
			t.Fatalf("invalid addresses %v %v", p.SrcAddr(), p.DstAddr())
		}
		// The same frame decodes the same way: no state leaks between calls.
		var q Packet
		q.Frame, q.TS = 3, 4
		if err := d.Decode(capture.LinkType(link), b, &q); err != nil || q.Seq != p.Seq || q.Len != p.Len || q.Flags != p.Flags {
			t.Fatalf("second decode differs: %v", err)
		}
	})
}
