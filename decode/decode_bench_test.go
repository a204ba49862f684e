package decode

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/rstwhy/rstwhy/capture"
	"github.com/rstwhy/rstwhy/internal/testcap"
)

// benchFrame is one captured frame for the benchmarks.
type benchFrame struct {
	link capture.LinkType
	data []byte
}

// corpusFrames reads every frame of a corpus capture, copied.
func corpusFrames(tb testing.TB, name string) []benchFrame {
	tb.Helper()
	fh, err := os.Open(testcap.Corpus(name))
	if err != nil {
		tb.Skipf("corpus capture: %v", err)
	}
	defer fh.Close()
	r, err := capture.NewReader(fh)
	if err != nil {
		tb.Fatal(err)
	}
	var out []benchFrame
	for {
		raw, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, benchFrame{raw.Link, bytes.Clone(raw.Data)})
	}
}

// mtuFrames are full-size Ethernet/IPv4/TCP data segments, the bulk of
// any capture of a transfer, with a bare ACK between each pair.
func mtuFrames(tb testing.TB) []benchFrame {
	tb.Helper()
	tcp := testTCP()
	data := serialize(tb, testIPv4(), tcp, gopacket.Payload(make([]byte, 1500-20-len(tcp.Contents))))
	full := ether(tb, layers.EthernetTypeIPv4, data)
	ack := ether(tb, layers.EthernetTypeIPv4, serialize(tb, testIPv4(), &layers.TCP{SrcPort: 80, DstPort: 40000, ACK: true, DataOffset: 5}))
	var out []benchFrame
	for range 64 {
		out = append(out, benchFrame{capture.LinkTypeEthernet, full}, benchFrame{capture.LinkTypeEthernet, full}, benchFrame{capture.LinkTypeEthernet, ack})
	}
	return out
}

func frameBytes(fs []benchFrame) int64 {
	var n int64
	for _, f := range fs {
		n += int64(len(f.data))
	}
	return n
}

// BenchmarkDecode reports per-frame cost as ns/op divided by the frame
// count the sub-benchmark name gives, and MB/s of captured bytes.
func BenchmarkDecode(b *testing.B) {
	sets := []struct {
		name   string
		frames func(testing.TB) []benchFrame
	}{
		{"mtu", mtuFrames},
		{"ssh", func(tb testing.TB) []benchFrame { return corpusFrames(tb, "zeek_ssh_ssh.pcap") }},
		{"smb2", func(tb testing.TB) []benchFrame { return corpusFrames(tb, "sv_smb2-07.pcap") }},
		{"gre-aruba", func(tb testing.TB) []benchFrame { return corpusFrames(tb, "zeek_tunnels_gre-aruba.pcap") }},
	}
	for _, s := range sets {
		b.Run(s.name, func(b *testing.B) {
			frames := s.frames(b)
			b.SetBytes(frameBytes(frames))
			b.ReportAllocs()
			var d Decoder
			var p Packet
			for b.Loop() {
				for _, f := range frames {
					d.Decode(f.link, f.data, &p)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(frames)), "ns/frame")
		})
	}
}

// BenchmarkDecodeLayerParser is the alternative the decoder was measured
// against: gopacket's DecodingLayerParser with reused layers, on the same
// frames, extracting nothing beyond what it decodes.
func BenchmarkDecodeLayerParser(b *testing.B) {
	frames := mtuFrames(b)
	var (
		eth   layers.Ethernet
		dot1q layers.Dot1Q
		ip4   layers.IPv4
		ip6   layers.IPv6
		tcp   layers.TCP
		pl    gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &pl)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	b.SetBytes(frameBytes(frames))
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range frames {
			parser.DecodeLayers(f.data, &decoded)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(frames)), "ns/frame")
}
