package main

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// small is a capture long enough in capture time for most connections,
// keepalive timeouts included, to end inside it.
var small = config{Size: 6 << 20, Seed: 1, Conns: 150, Format: "pcap"}

func genTB(tb testing.TB, cfg config) ([]byte, stats) {
	tb.Helper()
	var buf bytes.Buffer
	st, err := generate(&buf, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if int64(buf.Len()) > cfg.Size {
		tb.Fatalf("wrote %d bytes, over -size %d", buf.Len(), cfg.Size)
	}
	return buf.Bytes(), st
}

func TestDeterministic(t *testing.T) {
	a, _ := genTB(t, small)
	b, _ := genTB(t, small)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with seed 1 differ")
	}
	other := small
	other.Seed = 2
	c, _ := genTB(t, other)
	if bytes.Equal(a, c) {
		t.Fatal("seeds 1 and 2 give the same bytes")
	}
}

// packetSource is what pcapgo.Reader and NgReader share.
type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

func open(tb testing.TB, format string, b []byte) packetSource {
	tb.Helper()
	var (
		src packetSource
		err error
	)
	if format == "pcapng" {
		src, err = pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	} else {
		src, err = pcapgo.NewReader(bytes.NewReader(b))
	}
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

var readBackTests = []struct {
	name    string
	format  string
	snaplen int
	nanos   bool
	why     string
}{
	{"pcap", "pcap", 0, false, "the default output"},
	{"pcap-snap96", "pcap", 96, false, "tcpdump -s 96: cut frames, real IP lengths"},
	{"pcap-nanos", "pcap", 0, true, "nanosecond magic"},
	{"pcapng", "pcapng", 0, false, "enhanced packet blocks"},
	{"pcapng-snap96", "pcapng", 96, false, "cut frames in pcapng"},
}

func TestReadBack(t *testing.T) {
	for _, tt := range readBackTests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config{Size: 2 << 20, Seed: 3, Conns: 300, Format: tt.format, Snaplen: tt.snaplen, Nanos: tt.nanos}
			b, st := genTB(t, cfg)
			src := open(t, tt.format, b)
			var (
				eth     layers.Ethernet
				ip4     layers.IPv4
				ip6     layers.IPv6
				tcp     layers.TCP
				decoded []gopacket.LayerType
				n, cut  int64
				v6      int64
				last    int64
			)
			p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp)
			p.IgnoreUnsupported = true
			for {
				data, ci, err := src.ZeroCopyReadPacketData()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("frame %d: %v", n+1, err)
				}
				n++
				if ts := ci.Timestamp.UnixNano(); ts < last {
					t.Fatalf("frame %d: time goes back", n)
				} else {
					last = ts
				}
				if tt.snaplen > 0 && len(data) > tt.snaplen {
					t.Fatalf("frame %d: %d bytes captured, snaplen %d", n, len(data), tt.snaplen)
				}
				if ci.Length < len(data) {
					t.Fatalf("frame %d: length %d < captured %d", n, ci.Length, len(data))
				}
				if ci.Length > len(data) {
					cut++
				}
				// The IP length says how long the packet was, cut or not.
				if len(data) < 14+40 {
					t.Fatalf("frame %d: only %d bytes", n, len(data))
				}
				var ipLen int
				switch eth := data[12:14]; {
				case eth[0] == 0x08 && eth[1] == 0x00:
					ipLen = int(data[16])<<8 | int(data[17])
				case eth[0] == 0x86 && eth[1] == 0xdd:
					ipLen = 40 + (int(data[18])<<8 | int(data[19]))
					v6++
				default:
					t.Fatalf("frame %d: ethertype %x", n, eth)
				}
				if 14+ipLen != ci.Length {
					t.Fatalf("frame %d: IP says %d bytes, capture says %d", n, 14+ipLen, ci.Length)
				}
				if tt.snaplen == 0 {
					if err := p.DecodeLayers(data, &decoded); err != nil {
						t.Fatalf("frame %d: %v", n, err)
					}
					if len(decoded) != 3 || decoded[2] != layers.LayerTypeTCP {
						t.Fatalf("frame %d: decoded %v", n, decoded)
					}
				}
			}
			if n != st.Packets {
				t.Errorf("read %d packets, wrote %d", n, st.Packets)
			}
			if tt.snaplen > 0 && cut == 0 {
				t.Errorf("snaplen %d cut no frame", tt.snaplen)
			}
			if tt.snaplen == 0 && cut != 0 {
				t.Errorf("%d frames cut without a snaplen", cut)
			}
			if f := float64(v6) / float64(n); f < 0.1 || f > 0.3 {
				t.Errorf("IPv6 share %.2f, want about 0.2", f)
			}
		})
	}
}

// TestResetShare counts from the file itself: among connections that end
// (a FIN or RST seen), about a fifth should end with a RST.
func TestResetShare(t *testing.T) {
	b, st := genTB(t, small)
	src := open(t, "pcap", b)
	type key struct {
		a, b    [16]byte
		pa, pb  uint16
		hasIPv6 bool
	}
	type end struct{ fin, rst bool }
	flows := map[key]*end{}
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		decoded []gopacket.LayerType
	)
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp)
	p.IgnoreUnsupported = true
	for {
		data, _, err := src.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := p.DecodeLayers(data, &decoded); err != nil {
			t.Fatal(err)
		}
		var k key
		var src, dst []byte
		if decoded[1] == layers.LayerTypeIPv6 {
			src, dst, k.hasIPv6 = ip6.SrcIP, ip6.DstIP, true
		} else {
			src, dst = ip4.SrcIP.To16(), ip4.DstIP.To16()
		}
		sp, dp := uint16(tcp.SrcPort), uint16(tcp.DstPort)
		// Order the ends so both directions share a key.
		if c := bytes.Compare(src, dst); c > 0 || (c == 0 && sp > dp) {
			src, dst, sp, dp = dst, src, dp, sp
		}
		copy(k.a[:], src)
		copy(k.b[:], dst)
		k.pa, k.pb = sp, dp
		e := flows[k]
		if e == nil {
			e = &end{}
			flows[k] = e
		}
		e.fin = e.fin || tcp.FIN
		e.rst = e.rst || tcp.RST
	}
	var ended, reset int
	for _, e := range flows {
		if e.fin || e.rst {
			ended++
		}
		if e.rst {
			reset++
		}
	}
	if ended < 500 {
		t.Fatalf("only %d connections ended; the test needs more", ended)
	}
	share := float64(reset) / float64(ended)
	t.Logf("%d flows, %d ended, %d by RST (%.3f); %s", len(flows), ended, reset, share, st)
	if share < 0.15 || share > 0.25 {
		t.Errorf("RST share %.3f, want about 0.2", share)
	}
	for k := kind(1); k < numKinds; k++ {
		if st.Ends[k] == 0 {
			t.Errorf("no connection ended as %s", k)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{{"4096", 4096}, {"100K", 100 << 10}, {"100M", 100 << 20}, {"1G", 1 << 30}, {"4g", 4 << 30}, {"1GiB", 1 << 30}, {"1.5M", 3 << 19}} {
		got, err := parseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseSize("lots"); err == nil {
		t.Error("parseSize(\"lots\"): no error")
	}
}
