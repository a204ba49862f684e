// Command ceiling is rstwhy's decoding ceiling: the least work that still
// reads every packet of a capture, decodes it down to TCP and finds its
// flow. rstwhy does more per packet, so its throughput stays below this
// program's on the same file; the gap is what the analysis costs.
//
//	go run ./bench/ceiling bench.pcap
//
// It prints packets, captured bytes, RSTs and flows, one "name value" per
// line, for bench/compare.sh to read. Reading is pcapgo with
// ZeroCopyReadPacketData (pcap or pcapng, found by magic); decoding is one
// gopacket.DecodingLayerParser over reused Ethernet, Dot1Q, IPv4, IPv6 and
// TCP layers; flows are a map keyed by a fixed-size array.
//
// Not a goal: being an analyzer. It checks nothing, keeps no per-flow
// state beyond a RST count, and a frame it cannot decode is only counted.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// packetSource is what pcapgo.Reader and NgReader share.
type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// flowKey holds both endpoints in a canonical order, so that the two
// directions of a connection share one entry. Fixed arrays: it hashes
// without allocating.
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
}

type counts struct {
	Packets, Bytes, RSTs int64
	Undecoded            int64 // frames that did not decode down to TCP: other protocols, damage, cut headers
	Flows                int
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: ceiling FILE\n\nexample: go run ./bench/ceiling bench.pcap")
		return 2
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "ceiling: %v\n", err)
		return 1
	}
	defer f.Close()
	c, err := count(bufio.NewReaderSize(f, 1<<20))
	fmt.Fprintf(stdout, "packets %d\nbytes %d\nrsts %d\nflows %d\nundecoded %d\n",
		c.Packets, c.Bytes, c.RSTs, c.Flows, c.Undecoded)
	if err != nil {
		fmt.Fprintf(stderr, "ceiling: %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// count reads r to the end. On damage it returns what was read before.
func count(r *bufio.Reader) (counts, error) {
	var c counts
	magic, err := r.Peek(4)
	if err != nil {
		return c, fmt.Errorf("not a capture: %w", err)
	}
	var src packetSource
	if string(magic) == "\x0a\x0d\x0d\x0a" { // pcapng section header block
		src, err = pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	} else {
		src, err = pcapgo.NewReader(r)
	}
	if err != nil {
		return c, err
	}

	var (
		eth     layers.Ethernet
		vlan    layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		decoded = make([]gopacket.LayerType, 0, 8)
	)
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &vlan, &ip4, &ip6, &tcp)
	p.IgnoreUnsupported = true // UDP, ARP and the rest end the decode quietly
	flows := make(map[flowKey]uint32)

	for {
		data, ci, err := src.ZeroCopyReadPacketData() // data dies at the next call
		if err != nil {
			c.Flows = len(flows)
			if errors.Is(err, io.EOF) {
				return c, nil
			}
			return c, fmt.Errorf("frame %d: %w", c.Packets+1, err)
		}
		c.Packets++
		c.Bytes += int64(ci.CaptureLength)
		if err := p.DecodeLayers(data, &decoded); err != nil || len(decoded) == 0 || decoded[len(decoded)-1] != layers.LayerTypeTCP {
			c.Undecoded++
			continue
		}
		var k flowKey
		var src, dst []byte
		if decoded[len(decoded)-2] == layers.LayerTypeIPv6 {
			src, dst = ip6.SrcIP, ip6.DstIP
		} else {
			src, dst = ip4.SrcIP, ip4.DstIP
		}
		sp, dp := uint16(tcp.SrcPort), uint16(tcp.DstPort)
		if x := bytes.Compare(src, dst); x > 0 || (x == 0 && sp > dp) {
			src, dst, sp, dp = dst, src, dp, sp
		}
		copy(k.a[16-len(src):], src) // IPv4 lands in the last 4 bytes
		copy(k.b[16-len(dst):], dst)
		k.pa, k.pb = sp, dp
		n := flows[k]
		if tcp.RST {
			n++
			c.RSTs++
		}
		flows[k] = n
	}
}
