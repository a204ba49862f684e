package truth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture says a file is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// Frame is a RST frame as the capture holds it.
type Frame struct {
	Frame int64
	Time  time.Time
	Src   string
	Sport uint16
	Dst   string
	Dport uint16
	Seq   uint32
	Ack   uint32
	Flags string
	TTL   uint8 // hop limit for IPv6; tells the two copies a router sees apart
}

// pcapgo.Reader and NgReader both fit.
type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// Packets calls fn with every frame of the pcap or pcapng file name, in
// order, numbered from 1 and decoded lazily by gopacket (p is valid during
// the call only). It wraps ErrNotCapture when the file is neither, and
// names the frame where reading stopped early.
func Packets(name string, fn func(frame int64, ci gopacket.CaptureInfo, p gopacket.Packet)) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		return fmt.Errorf("%s: %w", name, ErrNotCapture)
	}
	var src packetSource
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		src, err = pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
	} else {
		src, err = pcapgo.NewReader(br)
	}
	if err != nil {
		return fmt.Errorf("%s: %w: %v", name, ErrNotCapture, err)
	}
	for n := int64(1); ; n++ {
		data, ci, err := src.ZeroCopyReadPacketData()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: frame %d: %w", name, n, err)
		}
		fn(n, ci, gopacket.NewPacket(data, src.LinkType(), gopacket.DecodeOptions{Lazy: true, NoCopy: true}))
	}
}

// Resets lists the RST frames of the pcap or pcapng file name, in order.
func Resets(name string) ([]Frame, error) {
	var out []Frame
	err := Packets(name, func(n int64, ci gopacket.CaptureInfo, p gopacket.Packet) {
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok || !tcp.RST {
			return
		}
		fr := Frame{Frame: n, Time: ci.Timestamp.UTC(), Sport: uint16(tcp.SrcPort), Dport: uint16(tcp.DstPort),
			Seq: tcp.Seq, Ack: tcp.Ack, Flags: Flags(tcp)}
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			fr.Src, fr.Dst, fr.TTL = ip.SrcIP.String(), ip.DstIP.String(), ip.TTL
		case *layers.IPv6:
			fr.Src, fr.Dst, fr.TTL = ip.SrcIP.String(), ip.DstIP.String(), ip.HopLimit
		default:
			return
		}
		out = append(out, fr)
	})
	return out, err
}

// Flags renders TCP flags the way tcpdump does: "S", "S.", "R.", "FP.".
func Flags(t *layers.TCP) string {
	var b []byte
	for _, f := range []struct {
		on bool
		c  byte
	}{{t.SYN, 'S'}, {t.FIN, 'F'}, {t.PSH, 'P'}, {t.RST, 'R'}, {t.URG, 'U'}, {t.ECE, 'E'}, {t.CWR, 'W'}, {t.ACK, '.'}} {
		if f.on {
			b = append(b, f.c)
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}
