package appctx_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/appctx"
	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// conv scripts one connection through a real Tracker with an Observer:
// client 10.0.0.1:40000, server 10.0.0.2:80, ISNs 1000 and 5000.
type conv struct {
	tb    testing.TB
	t     *track.Tracker
	o     *appctx.Observer
	frame int64
}

const clientISN, serverISN = 1000, 5000

func newConv(tb testing.TB, bytes int) *conv {
	o := &appctx.Observer{Bytes: bytes}
	c := &conv{tb: tb, o: o, t: &track.Tracker{Observer: o}}
	c.send(0, decode.SYN, clientISN, 0, "")
	c.send(1, decode.SYN|decode.ACK, serverISN, clientISN+1, "")
	c.send(0, decode.ACK, clientISN+1, serverISN+1, "")
	return c
}

// send adds a segment from the client (from 0) or the server; seq is
// absolute.
func (c *conv) send(from int, flags decode.Flags, seq, ack uint32, payload string) int64 {
	c.frame++
	p := decode.Packet{Frame: c.frame, TS: c.frame * int64(time.Millisecond), WScale: -1, TTL: 64,
		Flags: flags, Seq: seq, Ack: ack, Window: 65535, Len: len(payload), Payload: []byte(payload)}
	a := [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}
	b := [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 2}
	p.Src, p.Dst, p.SrcPort, p.DstPort = a, b, 40000, 80
	if from == 1 {
		p.Src, p.Dst, p.SrcPort, p.DstPort = b, a, 80, 40000
	}
	c.t.Add(&p)
	return c.frame
}

// reset sends a RST from the server and returns the Context taken for it.
func (c *conv) reset() appctx.Context {
	c.tb.Helper()
	f := c.send(1, decode.RST, serverISN+1000, 0, "")
	got, ok := c.o.Take(f)
	if !ok {
		c.tb.Fatalf("no Context for the RST at frame %d", f)
	}
	return got
}

// TestReassembly: the bytes kept are the stream's, in sequence order,
// whatever order the segments came in, as long as a hole is filled before
// what follows it is dropped.
func TestReassembly(t *testing.T) {
	req := "POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello"
	for _, tc := range []struct {
		name string
		segs []struct {
			at, end int
		}
		wantKept int
		why      string
	}{
		{"in order", []struct{ at, end int }{{0, 20}, {20, 40}, {40, len(req)}}, len(req), "the plain case"},
		{"retransmitted", []struct{ at, end int }{{0, 20}, {0, 20}, {20, 40}, {40, len(req)}}, len(req), "a copy of bytes kept adds nothing"},
		{"overlapping", []struct{ at, end int }{{0, 30}, {20, 50}, {45, len(req)}}, len(req), "each segment adds only what is past the bytes kept"},
		{"hole filled", []struct{ at, end int }{{0, 20}, {40, len(req)}, {20, 40}, {40, len(req)}}, len(req), "the segment past the hole is dropped, and kept when retransmitted after the hole is filled"},
		{"hole", []struct{ at, end int }{{0, 20}, {40, len(req)}, {20, 40}}, 40, "what came past the hole before it was filled is not kept"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConv(t, 0)
			for _, s := range tc.segs {
				c.send(0, decode.ACK|decode.PSH, clientISN+1+uint32(s.at), serverISN+1, req[s.at:s.end])
			}
			got := c.reset()
			if got.Kept[0] != tc.wantKept {
				t.Errorf("kept %d bytes of the client's, want %d (%s)", got.Kept[0], tc.wantKept, tc.why)
			}
			if got.Request != "POST /upload HTTP/1.1" {
				t.Errorf("request %q: the bytes were put together wrong (%s)", got.Request, tc.why)
			}
			whole := tc.wantKept == len(req)
			if whole && (got.Host != "example.com" || got.RequestHead != int64(len(req)-5) || got.RequestLength != 5) {
				t.Errorf("host %q head %d length %d, want example.com, %d and 5 (%s)", got.Host, got.RequestHead, got.RequestLength, len(req)-5, tc.why)
			}
			if !whole && (got.Host != "" || got.RequestHead != -1) {
				t.Errorf("host %q head %d from bytes cut in the Host line: a header counts once its line ends", got.Host, got.RequestHead)
			}
			if !got.FromStart[0] {
				t.Error("FromStart false: the SYN was seen")
			}
		})
	}
}

// TestBounded: no more than Bytes of a direction is kept, and a long
// exchange settles (its buffer given back) with its Context intact.
func TestBounded(t *testing.T) {
	c := newConv(t, 64)
	req := "GET /" + strings.Repeat("a", 200) + " HTTP/1.1\r\n\r\n"
	c.send(0, decode.ACK|decode.PSH, clientISN+1, serverISN+1, req)
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("b", 1000)
	c.send(1, decode.ACK|decode.PSH, serverISN+1, clientISN+1+uint32(len(req)), resp)
	got := c.reset()
	if got.Kept != [2]int{64, 64} {
		t.Errorf("kept %v, want 64 each way", got.Kept)
	}
	if got.Request != "" {
		t.Errorf("request %q from a line cut at 64 bytes: a request line needs its version", got.Request)
	}
	if got.Status != 200 || got.ResponseLength != 1000 {
		t.Errorf("status %d length %d, want 200 and 1000 (the head fits in 64 bytes)", got.Status, got.ResponseLength)
	}
	if got.AnsweredAfter != int64(len(req)) {
		t.Errorf("answered after %d bytes, want %d", got.AnsweredAfter, len(req))
	}
}

// TestMidstream: without the SYN, the bytes kept start at the first
// segment seen, and say so.
func TestMidstream(t *testing.T) {
	o := &appctx.Observer{}
	c := &conv{tb: t, o: o, t: &track.Tracker{Observer: o}}
	c.send(0, decode.ACK|decode.PSH, 77777, 5555, "SSH-2.0-OpenSSH_9.6\r\n")
	got := c.reset()
	if got.FromStart[0] || got.Banner[0] != "SSH-2.0-OpenSSH_9.6" || got.Protocol != "ssh" {
		t.Errorf("got %+v, want the banner, not from the start", got)
	}
}

// TestTLSServerTail: a TLS server's bytes (certificates, encrypted
// records) are not kept, only its last record followed; with Grep they
// are searched as they come, still not kept: the match spans segments.
func TestTLSServerTail(t *testing.T) {
	hello := "\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00"
	flight := "\x16\x03\x03\x00\x04\x02\x00\x00\x00"
	alert := "\x15\x03\x03\x00\x02\x02\x28"
	for _, grep := range []string{"", "\x02\x28", "\x00\x00\x15\x03", "\x28\x15"} {
		c := newConv(t, 0)
		c.o.Grep = []byte(grep)
		c.send(0, decode.ACK|decode.PSH, clientISN+1, serverISN+1, hello)
		c.send(1, decode.ACK|decode.PSH, serverISN+1, clientISN+1+uint32(len(hello)), flight)
		c.send(1, decode.ACK|decode.PSH, serverISN+1+uint32(len(flight)), clientISN+1+uint32(len(hello)), alert)
		got := c.reset()
		wantKept := [2]int{len(hello), 0}
		if got.Protocol != "tls" || got.TLS != [2]string{"handshake", "alert fatal handshake_failure"} || got.Kept != wantKept {
			t.Errorf("grep %q: protocol %q, last records %q, kept %v; want tls, handshake and the fatal alert, kept %v",
				grep, got.Protocol, got.TLS, got.Kept, wantKept)
		}
		// The last is in neither direction: the flight ends and the
		// alert begins \x00\x15, the alert ends \x28.
		if want := grep != "" && grep != "\x28\x15"; got.Match != want {
			t.Errorf("grep %q: matched %v, want %v", grep, got.Match, want)
		}
	}
}
