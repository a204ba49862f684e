package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/rstwhy/rstwhy/capture"
	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// synthCapture writes a pcap of n interleaved connections: handshake, a
// request, a response of resp segments, and a close; every fifth ends in
// a RST instead of FINs. Headers are built by hand (Ethernet, IPv4, TCP
// with timestamps), 20 connections open at a time. It is load for
// benchmarks, not evidence that any rule is right.
func synthCapture(tb testing.TB, n, resp int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	type conn struct {
		cport    uint16
		cip      uint32
		cseq     uint32
		sseq     uint32
		step, of int
	}
	ts := time.Unix(1_700_000_000, 0)
	frame := make([]byte, 0, 1600)
	payload := make([]byte, 1400)
	put := func(c *conn, fromClient bool, flags decode.Flags, seq, ack uint32, plen int) {
		frame = frame[:0]
		frame = append(frame, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0)
		ip := make([]byte, 20)
		ip[0], ip[8], ip[9] = 0x45, 64, 6
		binary.BigEndian.PutUint16(ip[2:], uint16(20+32+plen))
		src, dst := c.cip, uint32(0x0a000001)
		sp, dp := c.cport, uint16(80)
		if !fromClient {
			src, dst, sp, dp = dst, src, dp, sp
		}
		binary.BigEndian.PutUint32(ip[12:], src)
		binary.BigEndian.PutUint32(ip[16:], dst)
		tcp := make([]byte, 32)
		binary.BigEndian.PutUint16(tcp[0:], sp)
		binary.BigEndian.PutUint16(tcp[2:], dp)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		binary.BigEndian.PutUint32(tcp[8:], ack)
		tcp[12], tcp[13] = 8<<4, byte(flags)
		binary.BigEndian.PutUint16(tcp[14:], 502)
		copy(tcp[20:], []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
		frame = append(append(append(frame, ip...), tcp...), payload[:plen]...)
		ts = ts.Add(37 * time.Microsecond)
		if err := w.WritePacket(ciOf(ts, len(frame)), frame); err != nil {
			tb.Fatal(err)
		}
	}
	var open []*conn
	next := 0
	for next < n || len(open) > 0 {
		for len(open) < 20 && next < n {
			open = append(open, &conn{cport: uint16(1024 + next%60000), cip: 0x0b000000 + uint32(next), cseq: uint32(next) * 7919, sseq: uint32(next) * 104729, of: next})
			next++
		}
		c := open[int(ts.UnixNano()/37000%int64(len(open)))]
		switch s := c.step; {
		case s == 0:
			put(c, true, decode.SYN, c.cseq, 0, 0)
		case s == 1:
			put(c, false, decode.SYN|decode.ACK, c.sseq, c.cseq+1, 0)
		case s == 2:
			put(c, true, decode.ACK|decode.PSH, c.cseq+1, c.sseq+1, 200)
		case s < 3+resp:
			put(c, false, decode.ACK|decode.PSH, c.sseq+1+uint32(s-3)*1400, c.cseq+201, 1400)
		case s == 3+resp:
			put(c, true, decode.ACK, c.cseq+201, c.sseq+1+uint32(resp)*1400, 0)
		case s == 4+resp && c.of%5 == 0:
			put(c, true, decode.RST|decode.ACK, c.cseq+201, c.sseq+1+uint32(resp)*1400, 0)
			c.step = 99
		case s == 4+resp:
			put(c, true, decode.FIN|decode.ACK, c.cseq+201, c.sseq+1+uint32(resp)*1400, 0)
		case s == 5+resp:
			put(c, false, decode.FIN|decode.ACK, c.sseq+1+uint32(resp)*1400, c.cseq+202, 0)
		default:
			put(c, true, decode.ACK, c.cseq+202, c.sseq+2+uint32(resp)*1400, 0)
			c.step = 99
		}
		c.step++
		if c.step >= 99 {
			for i := range open {
				if open[i] == c {
					open = append(open[:i], open[i+1:]...)
					break
				}
			}
		}
	}
	return buf.Bytes()
}

// BenchmarkRun is the whole per-capture pipeline: read, decode, track,
// judge nothing (emit only counts), on one worker and on two.
func BenchmarkRun(b *testing.B) {
	data := synthCapture(b, 2000, 20)
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				if _, err := Run(context.Background(), bytes.NewReader(data), Options{Workers: workers}, func(*track.Reset) { n++ }); err != nil {
					b.Fatal(err)
				}
				if n != 400 {
					b.Fatalf("%d resets, want 400", n)
				}
			}
		})
	}
}

// BenchmarkTrack is the tracker alone on decoded packets.
func BenchmarkTrack(b *testing.B) {
	pkts := decodedPackets(b, synthCapture(b, 2000, 20))
	b.ReportAllocs()
	for b.Loop() {
		t := &track.Tracker{}
		for i := range pkts {
			t.Add(&pkts[i])
		}
		t.Flush()
	}
}

func decodedPackets(tb testing.TB, data []byte) []decode.Packet {
	tb.Helper()
	rd, err := capture.NewReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	var d decode.Decoder
	var out []decode.Packet
	for {
		raw, err := rd.Next()
		if err != nil {
			return out
		}
		var p decode.Packet
		p.Frame, p.TS = raw.Frame, raw.TS
		if d.Decode(raw.Link, raw.Data, &p) == nil {
			p.Payload, p.Trailer = nil, nil
			out = append(out, p)
		}
	}
}

// TestPerPacketAllocs: once a connection is known, its packets cost no
// heap allocation on the way through the reader's host table and the
// tracker (the decoder's own test covers decoding).
func TestPerPacketAllocs(t *testing.T) {
	pkts := decodedPackets(t, synthCapture(t, 40, 200))
	// Warm up on the first half (every connection opens), then measure
	// data segments of connections already in the table.
	tr := &track.Tracker{}
	hosts := hostTTLs{}
	half := len(pkts) / 2
	for i := range pkts[:half] {
		hosts.see(&pkts[i])
		tr.Add(&pkts[i])
	}
	var steady []decode.Packet
	for _, p := range pkts[half:] {
		if p.Flags&(decode.SYN|decode.FIN|decode.RST) == 0 {
			steady = append(steady, p)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(len(steady)-1, func() {
		hosts.see(&steady[i])
		tr.Add(&steady[i])
		i++
	})
	if allocs != 0 {
		t.Errorf("%.2f allocations per packet, want 0", allocs)
	}
}

func ciOf(ts time.Time, n int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: ts, CaptureLength: n, Length: n}
}
