package heuristics

import (
	"strings"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// convo builds a connection packet by packet and runs it through the
// tracker, so that a rule's unit test sees exactly the view the tracker
// would give it for such a capture. The packets are hand-built: they
// test a rule's reading of a wire signature, and that the signature is
// what the kernel sends is the lab's to show (testdata/pcaps, labelled by
// the tcp_send_reset tracepoint), not these tests'.
type convo struct {
	tb      testing.TB
	pkts    []decode.Packet
	frame   int64
	ts      time.Duration
	nxt     [2]uint32 // next sequence number of the client (0) and the server (1)
	ttl     [2]uint8
	ipid    [2]uint16
	window  [2]uint16
	wscale  int8
	noScale bool
}

const (
	cli = true
	srv = false
)

func newConvo(tb testing.TB) *convo {
	return &convo{tb: tb, nxt: [2]uint32{1000, 5000}, ttl: [2]uint8{64, 64}, ipid: [2]uint16{100, 2000},
		window: [2]uint16{502, 509}, wscale: 7}
}

func side(fromClient bool) int {
	if fromClient {
		return 0
	}
	return 1
}

// after moves the clock on.
func (c *convo) after(d time.Duration) *convo { c.ts += d; return c }

// raw adds a segment with the given fields as they are; it returns it for
// the caller to adjust before the next one.
func (c *convo) raw(fromClient bool, flags decode.Flags, seq, ack uint32, n int) *decode.Packet {
	c.frame++
	s := side(fromClient)
	p := decode.Packet{Frame: c.frame, TS: int64(c.ts) + 1_700_000_000_000_000_000, Flags: flags, Seq: seq, Ack: ack, Len: n,
		TTL: c.ttl[s], IPID: c.ipid[s], DF: true, Window: c.window[s], WScale: -1, SrcPort: 40000, DstPort: 80}
	c.ipid[s]++
	p.Src = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}
	p.Dst = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 2}
	if !fromClient {
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
	}
	if flags&decode.SYN != 0 && !c.noScale {
		p.WScale = c.wscale
	}
	c.pkts = append(c.pkts, p)
	return &c.pkts[len(c.pkts)-1]
}

// send adds a segment continuing the sender's sequence space and, with
// ACK, acknowledging everything the other side sent.
func (c *convo) send(fromClient bool, flags decode.Flags, n int) *decode.Packet {
	s := side(fromClient)
	var ack uint32
	if flags&decode.ACK != 0 {
		ack = c.nxt[1-s]
	}
	p := c.raw(fromClient, flags, c.nxt[s], ack, n)
	c.nxt[s] += uint32(n)
	if flags&(decode.SYN|decode.FIN) != 0 {
		c.nxt[s]++
	}
	return p
}

// handshake opens the connection, 100 µs a packet.
func (c *convo) handshake() *convo {
	c.send(cli, decode.SYN, 0)
	c.after(100*time.Microsecond).send(srv, decode.SYN|decode.ACK, 0)
	c.after(100*time.Microsecond).send(cli, decode.ACK, 0)
	return c
}

// active adds the RST of an open socket: RST+ACK at the sender's snd_nxt
// (tcp_send_active_reset).
func (c *convo) active(fromClient bool) *decode.Packet {
	s := side(fromClient)
	return c.raw(fromClient, decode.RST|decode.ACK, c.nxt[s], c.nxt[1-s], 0)
}

// reply adds the RST answering a segment that carried ACK: no ACK flag,
// seq = that segment's ack (tcp_v4_send_reset).
func (c *convo) reply(fromClient bool, answers *decode.Packet) *decode.Packet {
	return c.raw(fromClient, decode.RST, answers.Ack, 0, 0)
}

// resets runs the packets through a tracker and returns its resets.
func (c *convo) resets() []*track.Reset {
	var out []*track.Reset
	tr := &track.Tracker{Emit: func(r *track.Reset) { out = append(out, r) }}
	defer tr.Close()
	for i := range c.pkts {
		p := c.pkts[i]
		tr.Add(&p)
	}
	tr.Flush()
	return out
}

// verdict judges the reset at frame.
func (c *convo) verdict(frame int64) Verdict {
	c.tb.Helper()
	for _, r := range c.resets() {
		if r.Packet.Frame == frame {
			return Explain(r)
		}
	}
	c.tb.Fatalf("no reset at frame %d", frame)
	return Verdict{}
}

// wantVerdict checks a verdict's cause and its confidence bounds, and
// that its evidence never prints a negative time.
func wantVerdict(tb testing.TB, v Verdict, cause Cause, minConf, maxConf float64) {
	tb.Helper()
	if v.Cause != cause || v.Confidence < minConf || v.Confidence > maxConf {
		tb.Errorf("cause %s %.2f (kernel %q), want %s in [%.2f, %.2f]\n\t%s", v.Cause, v.Confidence, v.KernelReason,
			cause, minConf, maxConf, strings.Join(v.Evidence, "\n\t"))
	}
	for _, e := range v.Evidence {
		if strings.Contains(e, "-") && negativeTime(e) {
			tb.Errorf("negative time in evidence: %q", e)
		}
	}
}

// negativeTime finds "-N µs", "-N ms" or "-N s" in a sentence.
func negativeTime(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '-' || s[i+1] < '0' || s[i+1] > '9' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		rest := s[j:]
		if strings.HasPrefix(rest, " µs") || strings.HasPrefix(rest, " ms") || strings.HasPrefix(rest, " s") {
			return true
		}
	}
	return false
}

func evidenceHas(v Verdict, sub string) bool {
	for _, e := range v.Evidence {
		if strings.Contains(e, sub) {
			return true
		}
	}
	return false
}
