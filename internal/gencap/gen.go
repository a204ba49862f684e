package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// config is what the flags set. The zero Snaplen means whole packets.
type config struct {
	Size    int64  // stop before the output passes this many bytes
	Seed    uint64 // same seed, same bytes
	Conns   int    // connections open at once
	Format  string // "pcap" or "pcapng"
	Nanos   bool   // nanosecond pcap
	Snaplen int    // 0: whole packets
	Short   bool   // mostly handshake + one small exchange + close
}

// stats summarizes one run for stderr and for the test.
type stats struct {
	Packets, Bytes int64
	Started, Ended int64           // connections begun; connections whose last packet was written
	Ends           [numKinds]int64 // ended connections by how they ended
	Span           time.Duration   // capture time from first to last packet
}

func (s stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gencap: %d packets, %d bytes, %d connections begun, %d ended over %v",
		s.Packets, s.Bytes, s.Started, s.Ended, s.Span.Round(time.Millisecond))
	rst := int64(0)
	for k := kind(1); k < numKinds; k++ {
		rst += s.Ends[k]
	}
	if s.Ended > 0 {
		fmt.Fprintf(&b, "; %.1f%% ended by RST:", 100*float64(rst)/float64(s.Ended))
		for k := kind(1); k < numKinds; k++ {
			fmt.Fprintf(&b, " %s=%d", k, s.Ends[k])
		}
	}
	return b.String()
}

// epoch is the first connection's start: fixed, so that output never
// depends on when it was made.
const epoch = int64(1767225600) * 1e9 // 2026-01-01T00:00:00Z

// Record overheads, for stopping at -size without counting the writer.
const (
	pcapFileHeader   = 24
	pcapRecordHeader = 16
	ngRecordOverhead = 32 // enhanced packet block: 28 header + 4 trailer
)

// packetWriter is what generate needs of pcapgo.Writer and NgWriter.
type packetWriter interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

// generator owns the merge: a min-heap of connections ordered by the time
// of each one's next packet. Everything random is drawn from one PCG in
// heap order, which is itself deterministic, so a seed fixes the bytes.
type generator struct {
	cfg    config
	rng    *rand.Rand
	heap   []*conn
	nextID uint64
	spare  [][]seg // segment slices of ended connections, reused
	b      builder
	frame  [2048]byte
	data   []byte   // the payload pattern, period dataPeriod
	sum    []uint32 // sum[o*(maxData+1)+n]: ones' complement sum of data[o:o+n] as 16-bit words
}

// Payload bytes are a fixed text repeated: cheap, printable, like no
// protocol (dissectors spend no time on it), and a function of the
// sequence number, so a retransmission carries the bytes it repeats.
const (
	dataText   = "rstwhy gencap synthetic payload "
	dataPeriod = len(dataText)
	maxData    = 1500
)

// payloadSums fills g.data and the checksum sums for every start offset
// and length, so that encoding never sums payload bytes.
func (g *generator) payloadSums() {
	g.data = make([]byte, maxData+dataPeriod)
	for i := range g.data {
		g.data[i] = dataText[i%dataPeriod]
	}
	g.sum = make([]uint32, dataPeriod*(maxData+1))
	for o := range dataPeriod {
		s := g.sum[o*(maxData+1):][:maxData+1]
		p := g.data[o:]
		for n := 1; n <= maxData; n++ {
			if n%2 == 1 {
				s[n] = s[n-1] + uint32(p[n-1])<<8
			} else {
				s[n] = s[n-2] + uint32(binary.BigEndian.Uint16(p[n-2:]))
			}
		}
	}
}

func generate(w io.Writer, cfg config) (stats, error) {
	var st stats
	if err := cfg.check(); err != nil {
		return st, err
	}
	snap := cfg.Snaplen
	if snap == 0 {
		snap = 262144
	}
	var pw packetWriter
	var flush func() error
	written := int64(0)
	recordOverhead := int64(pcapRecordHeader)
	switch cfg.Format {
	case "pcap":
		var pc *pcapgo.Writer
		if cfg.Nanos {
			pc = pcapgo.NewWriterNanos(w)
		} else {
			pc = pcapgo.NewWriter(w)
		}
		if err := pc.WriteFileHeader(uint32(snap), layers.LinkTypeEthernet); err != nil {
			return st, fmt.Errorf("write header: %w", err)
		}
		written = pcapFileHeader
		pw = pc
		flush = func() error { return nil }
	case "pcapng":
		// Fixed section and interface fields: the default ones name the
		// machine's OS and architecture, which would break determinism
		// across machines.
		ng, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{
			Name:                "gencap0",
			LinkType:            layers.LinkTypeEthernet,
			SnapLength:          uint32(cfg.Snaplen),
			TimestampResolution: 9,
		}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "rstwhy gencap"}})
		if err != nil {
			return st, fmt.Errorf("write header: %w", err)
		}
		written = 100 // section and interface blocks, about
		recordOverhead = ngRecordOverhead
		pw = ng
		flush = ng.Flush
	}

	g := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6765_6e63_6170))}
	g.payloadSums()

	// Open the first connections over half a second, as if the capture
	// began on a busy link, not on an idle one.
	for range cfg.Conns {
		g.push(g.start(epoch + g.rng.Int64N(500e6)))
	}
	first, last := int64(-1), int64(0)
	for len(g.heap) > 0 {
		c := g.heap[0]
		s := &c.segs[c.next]
		data, wire := g.encode(c, s)
		caplen := len(data)
		if caplen > snap {
			caplen = snap
		}
		pad := int64(0)
		if cfg.Format == "pcapng" {
			pad = int64(-caplen & 3)
		}
		rec := recordOverhead + int64(caplen) + pad
		if written+rec > cfg.Size {
			break
		}
		ts := s.t
		if !cfg.Nanos && cfg.Format == "pcap" {
			ts -= ts % 1000
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, ts), CaptureLength: caplen, Length: wire}
		if err := pw.WritePacket(ci, data[:caplen]); err != nil {
			return st, fmt.Errorf("write frame %d: %w", st.Packets+1, err)
		}
		written += rec
		st.Packets++
		if first < 0 {
			first = s.t
		}
		last = s.t
		c.next++
		if c.next < len(c.segs) {
			g.down(0)
			continue
		}
		st.Ended++
		st.Ends[c.kind]++
		if cap(c.segs) <= 64 {
			// Reuse only small slices: keeping every bulk
			// connection's would let memory creep up with -size.
			g.spare = append(g.spare, c.segs[:0])
		}
		// A new connection takes the slot, so that about cfg.Conns
		// stay open at once.
		g.heap[0] = g.start(last + g.rng.Int64N(2e6))
		g.heap[0].idx = 0
		g.down(0)
	}
	st.Bytes = written
	st.Started = int64(g.nextID)
	if first >= 0 {
		st.Span = time.Duration(last - first)
	}
	if err := flush(); err != nil {
		return st, fmt.Errorf("flush: %w", err)
	}
	return st, nil
}

// start builds the next connection, beginning at t.
func (g *generator) start(t int64) *conn {
	id := g.nextID
	g.nextID++
	var segs []seg
	if n := len(g.spare); n > 0 {
		segs = g.spare[n-1]
		g.spare = g.spare[:n-1]
	}
	c := &conn{segs: segs}
	g.b.build(c, id, t, g.rng, g.cfg.Short)
	return c
}

func (g *generator) less(a, b *conn) bool {
	ta, tb := a.segs[a.next].t, b.segs[b.next].t
	if ta != tb {
		return ta < tb
	}
	return a.id < b.id
}

func (g *generator) push(c *conn) {
	c.idx = len(g.heap)
	g.heap = append(g.heap, c)
	i := c.idx
	for i > 0 {
		p := (i - 1) / 2
		if !g.less(g.heap[i], g.heap[p]) {
			break
		}
		g.swap(i, p)
		i = p
	}
}

func (g *generator) down(i int) {
	n := len(g.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && g.less(g.heap[r], g.heap[l]) {
			m = r
		}
		if !g.less(g.heap[m], g.heap[i]) {
			return
		}
		g.swap(i, m)
		i = m
	}
}

func (g *generator) swap(i, j int) {
	g.heap[i], g.heap[j] = g.heap[j], g.heap[i]
	g.heap[i].idx = i
	g.heap[j].idx = j
}

// encode writes s as an Ethernet frame into g.frame and returns the frame
// and its length on the wire. TCP options that depend on time (timestamps)
// and per-packet IP fields (ID) are filled here, in output order.
func (g *generator) encode(c *conn, s *seg) ([]byte, int) {
	b := g.frame[:]
	d := int(s.dir)
	o := 1 - d
	// MACs: the capture sits next to the server, so client packets come
	// from the router.
	if d == cli {
		copy(b[0:6], c.mac[srv][:])
		copy(b[6:12], c.mac[cli][:])
	} else {
		copy(b[0:6], c.mac[cli][:])
		copy(b[6:12], c.mac[srv][:])
	}

	// TCP header and options first, so that the IP header knows the length.
	var opt [40]byte
	ol := 0
	tsval := c.tsBase[d] + uint32((s.t-c.t0)/1e6)
	switch s.opt {
	case optSYN:
		if c.ts {
			// Linux order: MSS, SACK permitted, timestamps, NOP, window scale.
			opt[0], opt[1] = 2, 4
			binary.BigEndian.PutUint16(opt[2:], c.mss[d])
			opt[4], opt[5] = 4, 2
			opt[6], opt[7] = 8, 10
			binary.BigEndian.PutUint32(opt[8:], tsval)
			binary.BigEndian.PutUint32(opt[12:], c.lastTS[o])
			opt[16], opt[17], opt[18], opt[19] = 1, 3, 3, c.wscale[d]
			ol = 20
		} else {
			// Windows order: MSS, NOP, window scale, NOP, NOP, SACK permitted.
			opt[0], opt[1] = 2, 4
			binary.BigEndian.PutUint16(opt[2:], c.mss[d])
			opt[4], opt[5], opt[6], opt[7] = 1, 3, 3, c.wscale[d]
			opt[8], opt[9], opt[10], opt[11] = 1, 1, 4, 2
			ol = 12
		}
	case optTS, optSACK:
		if c.ts {
			opt[0], opt[1], opt[2], opt[3] = 1, 1, 8, 10
			binary.BigEndian.PutUint32(opt[4:], tsval)
			binary.BigEndian.PutUint32(opt[8:], c.lastTS[o])
			ol = 12
		}
		if s.opt == optSACK {
			opt[ol], opt[ol+1], opt[ol+2], opt[ol+3] = 1, 1, 5, 10
			binary.BigEndian.PutUint32(opt[ol+4:], s.sackL)
			binary.BigEndian.PutUint32(opt[ol+8:], s.sackR)
			ol += 12
		}
	}
	if s.opt != optNone && c.ts {
		c.lastTS[d] = tsval
	}
	thl := 20 + ol
	n := int(s.n)
	tcpLen := thl + n

	ip := 14
	var tcp int
	ttl := c.ttl[d]
	if s.forged {
		ttl = c.forgedTTL
	}
	var pseudo uint32
	if !c.v6 {
		binary.BigEndian.PutUint16(b[12:], 0x0800)
		h := b[ip : ip+20]
		h[0], h[1] = 0x45, 0
		binary.BigEndian.PutUint16(h[2:], uint16(20+tcpLen))
		id := uint16(0)
		if !s.forged {
			c.ipid[d]++
			id = c.ipid[d]
		}
		binary.BigEndian.PutUint16(h[4:], id)
		if s.forged {
			binary.BigEndian.PutUint16(h[6:], 0)
		} else {
			binary.BigEndian.PutUint16(h[6:], 0x4000) // DF
		}
		h[8], h[9] = ttl, 6
		h[10], h[11] = 0, 0
		copy(h[12:16], c.addr[d][12:])
		copy(h[16:20], c.addr[o][12:])
		h[10], h[11] = csum16(sumWords(h, 0))
		pseudo = sumWords(h[12:20], 0) + 6 + uint32(tcpLen)
		tcp = ip + 20
	} else {
		binary.BigEndian.PutUint16(b[12:], 0x86DD)
		h := b[ip : ip+40]
		binary.BigEndian.PutUint32(h[0:], 0x6000_0000|c.flow)
		binary.BigEndian.PutUint16(h[4:], uint16(tcpLen))
		h[6], h[7] = 6, ttl
		copy(h[8:24], c.addr[d][:])
		copy(h[24:40], c.addr[o][:])
		pseudo = sumWords(h[8:40], 0) + 6 + uint32(tcpLen)
		tcp = ip + 40
	}
	t := b[tcp : tcp+thl]
	binary.BigEndian.PutUint16(t[0:], c.port[d])
	binary.BigEndian.PutUint16(t[2:], c.port[o])
	binary.BigEndian.PutUint32(t[4:], s.seq)
	binary.BigEndian.PutUint32(t[8:], s.ack)
	t[12] = byte(thl/4) << 4
	t[13] = s.flags
	binary.BigEndian.PutUint16(t[14:], s.win)
	t[16], t[17], t[18], t[19] = 0, 0, 0, 0
	copy(t[20:], opt[:ol])
	off := int((s.seq - c.isn[d] - 1) % uint32(dataPeriod))
	copy(b[tcp+thl:], g.data[off:off+n])
	t[16], t[17] = csum16(sumWords(t, pseudo) + g.sum[off*(maxData+1)+n])
	end := tcp + tcpLen
	return b[:end], end
}

// sumWords adds p as big-endian 16-bit words to acc; len(p) is even.
func sumWords(p []byte, acc uint32) uint32 {
	for i := 0; i+1 < len(p); i += 2 {
		acc += uint32(p[i])<<8 | uint32(p[i+1])
	}
	return acc
}

// csum16 folds a ones' complement sum and returns the checksum bytes.
func csum16(acc uint32) (byte, byte) {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	c := ^uint16(acc)
	return byte(c >> 8), byte(c)
}
