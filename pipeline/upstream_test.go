package pipeline

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rstwhy/rstwhy/decode"
)

// seg is a packet for the upstreams pass: from and to as "addr:port".
type seg struct {
	frame    int64
	ms       int64
	from, to string
	flags    decode.Flags
	out      bool  // outgoing on a cooked capture
	ttl      uint8 // 0: 64
	seq      uint32
}

func (s seg) packet() decode.Packet {
	f, t := netip.MustParseAddrPort(s.from), netip.MustParseAddrPort(s.to)
	ttl := s.ttl
	if ttl == 0 {
		ttl = 64
	}
	return decode.Packet{Frame: s.frame, TS: s.ms * 1e6, Src: f.Addr().As16(), Dst: t.Addr().As16(), SrcPort: f.Port(), DstPort: t.Port(),
		Flags: s.flags, Outgoing: s.out, TTL: ttl, Seq: s.seq, IPv6: f.Addr().Is6() && !f.Addr().Is4In6()}
}

// play runs segs through a fresh pass and returns the candidate of the
// last one.
func play(segs []seg) *decode.Upstream {
	var u upstreams
	var last decode.Packet
	for _, s := range segs {
		last = s.packet()
		u.see(&last, last.FlowHash())
	}
	return last.Upstream
}

const (
	syn    = decode.SYN
	synack = decode.SYN | decode.ACK
	rstack = decode.RST | decode.ACK
	finack = decode.FIN | decode.ACK
)

func TestUpstreamCandidate(t *testing.T) {
	// The client 10.0.0.5 reaches the proxy on 10.0.0.1:80; the proxy
	// reaches the upstream 10.1.0.9:8080 from 10.0.0.1 (one address) or
	// from 10.1.0.1 (two: only a cooked capture of the proxy ties them).
	down := []seg{{1, 0, "10.0.0.5:51234", "10.0.0.1:80", syn, false, 0, 0}, {2, 0, "10.0.0.1:80", "10.0.0.5:51234", synack, true, 0, 0}}
	reset := func(frame, ms int64) seg { return seg{frame, ms, "10.0.0.1:80", "10.0.0.5:51234", rstack, true, 0, 0} }
	with := func(s ...seg) []seg { return append(append([]seg(nil), down...), s...) }
	tests := []struct {
		name        string
		segs        []seg
		event       decode.UpstreamEvent // 0: no candidate
		frame, open int64
		syns        int
		why         string
	}{
		{"refused", with(seg{3, 10, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, seg{4, 11, "10.1.0.9:8080", "10.0.0.1:40000", rstack, false, 0, 0}, reset(5, 14)),
			decode.UpstreamRefused, 4, 3, 1, "RST to the SYN, same address"},
		{"rst", with(seg{3, 10, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, seg{4, 11, "10.1.0.9:8080", "10.0.0.1:40000", synack, false, 0, 0},
			seg{5, 20, "10.1.0.9:8080", "10.0.0.1:40000", rstack, false, 0, 0}, reset(6, 520)),
			decode.UpstreamRST, 5, 3, 1, "answered, then reset; 500 ms (Go's delay) is within the window"},
		{"fin", with(seg{3, 10, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, seg{4, 11, "10.1.0.9:8080", "10.0.0.1:40000", synack, false, 0, 1000},
			seg{5, 20, "10.1.0.9:8080", "10.0.0.1:40000", finack, false, 0, 1001}, reset(6, 25)),
			decode.UpstreamFIN, 5, 3, 1, "the upstream closed without a byte of answer"},
		{"fin after answer", with(seg{3, 10, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, seg{4, 11, "10.1.0.9:8080", "10.0.0.1:40000", synack, false, 0, 1000},
			seg{5, 20, "10.1.0.9:8080", "10.0.0.1:40000", finack, false, 0, 1501}, reset(6, 25)),
			0, 0, 0, 0, "500 bytes of answer, then FIN: a connection ending as it should"},
		{"timeout", with(seg{3, 10, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, seg{4, 1010, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, reset(5, 1012)),
			decode.UpstreamTimeout, 3, 3, 2, "the first SYN is the event, the retransmission counted"},
		{"two addresses", with(seg{3, 10, "10.1.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, seg{4, 11, "10.1.0.9:8080", "10.1.0.1:40000", rstack, false, 0, 0}, reset(5, 14)),
			decode.UpstreamRefused, 4, 3, 1, "both outgoing with an initial TTL: the capture host's own"},
		{"two addresses, forwarded", with(seg{3, 10, "10.1.0.1:40000", "10.1.0.9:8080", syn, true, 63, 0}, seg{4, 11, "10.1.0.9:8080", "10.1.0.1:40000", rstack, false, 0, 0}, reset(5, 14)),
			0, 0, 0, 0, "TTL 63: the SYN was forwarded, another host's"},
		{"two addresses, no direction", with(seg{3, 10, "10.1.0.1:40000", "10.1.0.9:8080", syn, false, 0, 0}, seg{4, 11, "10.1.0.9:8080", "10.1.0.1:40000", rstack, false, 0, 0}, reset(5, 14)),
			0, 0, 0, 0, "an Ethernet capture: another address is another host"},
		{"too old", with(seg{3, 10, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, seg{4, 11, "10.1.0.9:8080", "10.0.0.1:40000", rstack, false, 0, 0}, reset(5, 1012)),
			0, 0, 0, 0, "more than 1 s after the refusal"},
		{"syn too fresh", with(seg{3, 10, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, reset(4, 100)),
			0, 0, 0, 0, "a SYN 90 ms old is a connection still opening"},
		{"syn answered", with(seg{3, 10, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, seg{4, 11, "10.1.0.9:8080", "10.0.0.1:40000", synack, false, 0, 0}, reset(5, 1012)),
			0, 0, 0, 0, "an open upstream connection is no failure"},
		{"other host", with(seg{3, 10, "10.0.0.7:40000", "10.1.0.9:8080", syn, false, 0, 0}, seg{4, 11, "10.1.0.9:8080", "10.0.0.7:40000", rstack, false, 0, 0}, reset(5, 14)),
			0, 0, 0, 0, "another host's connection was refused"},
		{"own connection", []seg{{1, 0, "10.0.0.1:40000", "10.1.0.9:8080", syn, true, 0, 0}, {2, 500, "10.0.0.1:40000", "10.1.0.9:8080", decode.RST, true, 0, 0}},
			0, 0, 0, 0, "a client aborting its own attempt follows nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := play(tt.segs)
			if tt.event == 0 {
				if got != nil {
					t.Fatalf("candidate %+v, want none: %s", *got, tt.why)
				}
				return
			}
			if got == nil {
				t.Fatalf("no candidate, want %d at frame %d: %s", tt.event, tt.frame, tt.why)
			}
			if got.Event != tt.event || got.Frame != tt.frame || got.OpenFrame != tt.open || got.SYNs != tt.syns {
				t.Errorf("candidate %+v, want event %d frame %d open %d syns %d: %s", *got, tt.event, tt.frame, tt.open, tt.syns, tt.why)
			}
		})
	}
}

// TestUpstreamBounded: a capture of many connection attempts from many
// hosts keeps at most upRing attempts and upHosts hosts.
func TestUpstreamBounded(t *testing.T) {
	var u upstreams
	for i := range 3 * upHosts {
		p := decode.Packet{Frame: int64(i + 1), TS: int64(i) * 1e6, Flags: decode.SYN, TTL: 64, SrcPort: 40000, DstPort: 80}
		p.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).As16()
		p.Dst = netip.MustParseAddr("10.255.0.1").As16()
		u.see(&p, p.FlowHash())
	}
	if len(u.index) != upIndex || len(u.hosts) > upHosts || len(u.hostv) > upHosts || len(u.ring) > upRing {
		t.Errorf("index %d, %d hosts (%d), ring %d: want %d, at most %d, %d", len(u.index), len(u.hosts), len(u.hostv), len(u.ring), upIndex, upHosts, upRing)
	}
}

// BenchmarkUpstreams is the pass alone on the SYN, FIN and RST packets of
// many short connections; ns/op is per packet it sees.
func BenchmarkUpstreams(b *testing.B) {
	var edges []decode.Packet
	for _, p := range decodedPackets(b, synthCapture(b, 2000, 20)) {
		if p.Flags&(decode.SYN|decode.FIN|decode.RST) != 0 {
			edges = append(edges, p)
		}
	}
	b.ReportAllocs()
	var u upstreams
	i := 0
	for b.Loop() {
		p := &edges[i%len(edges)]
		u.see(p, p.FlowHash())
		i++
	}
}

// TestUpstreamWorkers: on the lab's proxy captures, every reset carries the
// same upstream candidate whatever the workers and however the capture is
// cut into blocks: the pass runs in frame order across chunks.
func TestUpstreamWorkers(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "pcaps-servers", "cascade-*.pcap"))
	if len(files) == 0 {
		t.Skip("no cascade captures")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		one, _ := resetsOf(t, data, Options{})
		offered := 0
		for _, r := range one {
			if r.Packet.Upstream != nil {
				offered++
			}
		}
		if offered == 0 {
			t.Errorf("%s: no reset carries an upstream candidate", filepath.Base(name))
		}
		for _, o := range []Options{{Workers: 3, chunkBytes: 300}, {Workers: 2, chunkBytes: 1}} {
			many, _ := resetsOf(t, data, o)
			if len(many) != len(one) {
				t.Fatalf("%s: %+v: %d resets, want %d", filepath.Base(name), o, len(many), len(one))
			}
			for i := range one {
				if !reflect.DeepEqual(one[i].Packet.Upstream, many[i].Packet.Upstream) {
					t.Errorf("%s: %+v: frame %d: candidate %+v, want %+v", filepath.Base(name), o, one[i].Packet.Frame, many[i].Packet.Upstream, one[i].Packet.Upstream)
				}
			}
		}
	}
}
