package heuristics_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

const gapSentence = "that no captured packet carried"

// labFrame is one frame of a lab capture, as read back.
type labFrame struct {
	ci   gopacket.CaptureInfo
	data []byte
	tcp  *layers.TCP
	len  uint32 // TCP payload bytes, from the IP header: the capture may have cut them
}

func readLabPcap(t *testing.T, path string) ([]labFrame, layers.LinkType) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out []labFrame
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		f := labFrame{ci: ci, data: data}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		if l, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			f.tcp = l
			hdr := int(l.DataOffset) * 4
			switch ip := p.NetworkLayer().(type) {
			case *layers.IPv4:
				f.len = uint32(max(0, int(ip.Length)-int(ip.IHL)*4-hdr))
			case *layers.IPv6:
				f.len = uint32(max(0, int(ip.Length)-hdr))
			}
		}
		out = append(out, f)
	}
	return out, r.LinkType()
}

func verdicts(t *testing.T, data []byte) map[int64]heuristics.Verdict {
	t.Helper()
	out := map[int64]heuristics.Verdict{}
	_, err := pipeline.Run(context.Background(), bytes.NewReader(data), pipeline.Options{}, func(r *track.Reset) {
		out[r.Packet.Frame] = heuristics.Explain(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCaptureGapHoldsConfidence takes the lab's captures of real kernels,
// which miss nothing, and drops from each the last segment of data the
// resetter's RST acknowledges, as a capture that drops packets would: the
// verdict on that RST must then say so and promise at most 0.6, where on
// the whole capture it said nothing of a gap.
func TestCaptureGapHoldsConfidence(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(testcap.LabDir(), "*.pcap"))
	servers, _ := filepath.Glob(filepath.Join(testcap.LabDir(), "..", "pcaps-servers", "*.pcap"))
	paths = append(paths, servers...)
	if len(paths) == 0 {
		t.Skip("no lab captures")
	}
	tried := 0
	for _, path := range paths {
		whole, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		before := verdicts(t, whole)
		for frame, v := range before {
			for _, e := range v.Evidence {
				if strings.Contains(e, gapSentence) {
					t.Errorf("%s frame %d: a gap in a capture that misses nothing: %s", filepath.Base(path), frame, e)
				}
			}
		}
		frames, link := readLabPcap(t, path)
		// The first RST judged above 0.6 by a cause the gap bears on, and
		// the last data segment before it that it acknowledges.
		rst, drop := -1, -1
		var dropHi uint32 // the peer's highest byte before the dropped segment
		for i, f := range frames {
			if f.tcp == nil || !f.tcp.RST {
				continue
			}
			v, ok := before[int64(i+1)]
			if !ok || v.Followup || v.Confidence <= 0.6 {
				continue
			}
			switch v.Cause {
			case heuristics.ConnectionRefused, heuristics.MiddleboxReset, heuristics.InvalidSegment:
				continue
			}
			if !f.tcp.ACK {
				continue
			}
			// The last segment of the peer's before the RST that carried
			// bytes none before it had, and that the RST acknowledges.
			var hi uint32
			seen := false
			for j := 0; j < i; j++ {
				g := frames[j].tcp
				if g == nil || g.RST || g.SrcPort != f.tcp.DstPort || g.DstPort != f.tcp.SrcPort {
					continue
				}
				end := g.Seq + frames[j].len
				if g.SYN {
					end++
				} else if frames[j].len == 0 {
					continue
				}
				if !seen || int32(end-hi) > 0 {
					if int32(f.tcp.Ack-end) >= 0 && seen && !g.SYN {
						drop, dropHi = j, hi
					}
					hi, seen = end, true
				}
			}
			if drop >= 0 {
				rst = i
				break
			}
		}
		if rst < 0 {
			continue
		}
		tried++
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		if err := w.WriteFileHeader(262144, link); err != nil {
			t.Fatal(err)
		}
		// A router's -i any capture holds each forwarded segment twice:
		// the capture missed the segment only if it missed both.
		// Every later segment that carried any of its bytes goes too, so
		// that no capture holds them.
		d := frames[drop].tcp
		missed := func(f labFrame) bool {
			g := f.tcp
			return g != nil && g.SrcPort == d.SrcPort && g.DstPort == d.DstPort && !g.RST && f.len > 0 &&
				int32(g.Seq+f.len-dropHi) > 0
		}
		shift := 0
		for i, f := range frames {
			if i < rst && missed(f) {
				shift++
				continue
			}
			if err := w.WritePacket(f.ci, f.data); err != nil {
				t.Fatal(err)
			}
		}
		after := verdicts(t, buf.Bytes())
		now := int64(rst + 1 - shift)
		v, ok := after[now]
		if !ok {
			t.Errorf("%s: no verdict for the RST (frame %d, now %d) after dropping frame %d", filepath.Base(path), rst+1, now, drop+1)
			continue
		}
		said := false
		for _, e := range v.Evidence {
			said = said || strings.Contains(e, gapSentence)
		}
		if v.Confidence > 0.6 || !said {
			t.Errorf("%s: frame %d dropped: the RST (frame %d, was %d, %s %.2f) is judged %s at %.2f; gap named: %v",
				filepath.Base(path), drop+1, now, rst+1, before[int64(rst+1)].Cause, before[int64(rst+1)].Confidence, v.Cause, v.Confidence, said)
		}
	}
	if tried < 30 {
		t.Errorf("only %d lab captures had a RST to try: the test proves little", tried)
	}
	t.Logf("%d lab captures with a segment dropped", tried)
}

// TestAckBurstGap: RST+ACKs in the server's name at three ACK numbers
// (forge_acks-silent, frames 16 to 18) read as an injector's burst (0.8);
// with the client's request (frame 14) missing from the capture, as a
// capture that drops packets would lose it, the server's ACK of it (frame
// 15) shows the gap, and a stack's RSTs answering segments the capture
// never had could differ the same way: the burst is held to 0.5, and
// nothing is said above 0.6 (an abortive close, itself held for the gap,
// reads as likely).
func TestAckBurstGap(t *testing.T) {
	path := filepath.Join(testcap.LabDir(), "forge_acks-silent-v4-eth-client.pcap")
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Skip(err)
	}
	if v := verdicts(t, whole)[16]; v.Cause != heuristics.MiddleboxReset || v.Confidence != 0.8 {
		t.Fatalf("whole capture: frame 16 %s at %.2f, want middlebox_reset at 0.8", v.Cause, v.Confidence)
	}
	frames, link := readLabPcap(t, path)
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(262144, link); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if i+1 == 14 {
			continue
		}
		if err := w.WritePacket(f.ci, f.data); err != nil {
			t.Fatal(err)
		}
	}
	v := verdicts(t, buf.Bytes())[15] // frame 16, one earlier
	said := false
	for _, e := range v.Evidence {
		said = said || strings.Contains(e, "the capture missed packets") || strings.Contains(e, gapSentence)
	}
	if v.Confidence > 0.6 || !said {
		t.Errorf("request dropped: the first RST is %s at %.2f (gap named: %v), want no cause above 0.6 and the gap named", v.Cause, v.Confidence, said)
	}
}
