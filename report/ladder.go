package report

import (
	"time"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// Connection sums up a reset's connection up to the RST: what a reader
// of a ladder wants above it.
type Connection struct {
	FirstFrame int64  `json:"first_frame"`
	Start      string `json:"start"`
	// DurationMS is from the connection's first packet seen to the RST.
	DurationMS float64 `json:"duration_ms"`
	// Packets before the RST, by side; bytes are new payload,
	// retransmissions not counted again.
	ClientPackets int64 `json:"client_packets"`
	ServerPackets int64 `json:"server_packets"`
	ClientBytes   int64 `json:"client_bytes"`
	ServerBytes   int64 `json:"server_bytes"`
	// ClosedFirst is who sent the first FIN: "client", "server" or "".
	ClosedFirst string `json:"closed_first,omitempty"`
	// IdleMS is the time from the packet before the RST to the RST.
	IdleMS            float64 `json:"idle_ms"`
	ClientRetransmits int64   `json:"client_retransmits"`
	ServerRetransmits int64   `json:"server_retransmits"`
	ZeroWindows       int64   `json:"zero_window_adverts"`
	ZeroWindowProbes  int64   `json:"zero_window_probes"`
	Keepalives        int64   `json:"keepalives"`
	// History is the connection's history in Zeek's conn.log letters up
	// to and with the RST (track.Conn.History): ShADadFfR, upper case for
	// the client.
	History string `json:"history"`
	// Stage is where the connection was when the RST cut it, in the
	// vocabulary of passive tampering studies: "syn" (before the
	// handshake completed), "handshake" (completed, no data yet),
	// "first_data" (after the client's first data segment, nothing
	// more), "later", or "midstream" (no handshake in the capture).
	Stage string `json:"stage"`
}

// Ladder is a reset drawn as a sequence diagram: the connection's last
// packets before the RST, the RST, and the packets that followed it
// while the tracker gathered its aftermath.
type Ladder struct {
	// Relative: sequence and acknowledgement numbers are relative to
	// each side's initial sequence number, as Wireshark shows them (both
	// SYNs were seen); otherwise they are raw.
	Relative bool `json:"relative"`
	// Earlier is how many packets of the connection came before the
	// first one shown.
	Earlier int64          `json:"earlier_packets"`
	Packets []LadderPacket `json:"packets"`
}

// LadderPacket is one packet of a ladder.
type LadderPacket struct {
	Frame int64  `json:"frame"`
	Time  string `json:"time"`
	// SincePrevMS is the time since the packet before it in the ladder
	// (0 for the first).
	SincePrevMS float64 `json:"ms_since_previous"`
	From        string  `json:"from"` // "client" or "server"
	Flags       string  `json:"flags"`
	Seq         uint32  `json:"seq"`
	Ack         uint32  `json:"ack"` // 0 without the ACK flag
	Len         uint32  `json:"len"`
	Window      uint32  `json:"window"` // scaled when the scale is known
	// Kind is what the tracker made of the segment: "retransmission",
	// "keepalive", "zero_window_probe", "dup_ack", or "" for new data or
	// control.
	Kind string `json:"kind,omitempty"`
	// AcksUnseen: the segment acknowledges data of the other side that
	// the capture never showed (Wireshark's "ACKed segment that wasn't
	// captured"): packets are missing before it.
	AcksUnseen bool `json:"acks_unseen,omitempty"`
	// Role marks the packets the record is about: "rst" (this record's
	// RST), "answered" (the peer's packet the RST came straight after and
	// whose sequence numbers it answers, RFC 9293 §3.10.7.1), "after"
	// (what followed the RST), or "".
	Role string `json:"role,omitempty"`
}

// ladderBase is what a record keeps to draw its ladder later: the
// ISNs, whether they are known, and the packet counts.
type ladderBase struct {
	client   uint8 // side index of the client
	relative bool
	isn      [2]uint32 // by side index
	packets  int64     // the connection's packets before the RST
}

// unseenNote marks a ladder's packet that acknowledges data the capture
// never showed.
const unseenNote = "acks data not captured"

var kindNames = [...]string{track.KindNew: "", track.KindRetrans: "retransmission",
	track.KindKeepalive: "keepalive", track.KindProbe: "zero_window_probe", track.KindDupAck: "dup_ack"}

func newConnection(r *track.Reset) Connection {
	c := r.Conn
	cl, sv := &c.Sides[c.Client], &c.Sides[1-c.Client]
	out := Connection{
		FirstFrame:        c.FirstFrame,
		Start:             time.Unix(0, c.FirstTS).UTC().Format(TimeFormat),
		DurationMS:        ms(r.Packet.TS - c.FirstTS),
		ClientPackets:     cl.Packets,
		ServerPackets:     sv.Packets,
		ClientBytes:       cl.Bytes,
		ServerBytes:       sv.Bytes,
		ClientRetransmits: cl.Retrans,
		ServerRetransmits: sv.Retrans,
		ZeroWindows:       cl.ZeroWindows + sv.ZeroWindows,
		ZeroWindowProbes:  cl.Stall.Probes + sv.Stall.Probes,
		Keepalives:        cl.Keepalives + sv.Keepalives,
		History:           r.History(),
		Stage:             stageOf(c),
	}
	if c.Packets > 0 {
		out.IdleMS = ms(r.Packet.TS - c.LastTS)
	}
	if c.FirstFrame == 0 {
		out.Start = time.Unix(0, r.Packet.TS).UTC().Format(TimeFormat)
		out.DurationMS = 0
	}
	switch {
	case cl.FINFrame != 0 && (sv.FINFrame == 0 || cl.FINFrame < sv.FINFrame):
		out.ClosedFirst = "client"
	case sv.FINFrame != 0:
		out.ClosedFirst = "server"
	}
	return out
}

// stageOf says where c stood when the RST came.
func stageOf(c *track.Conn) string {
	cl, sv := &c.Sides[c.Client], &c.Sides[1-c.Client]
	switch {
	case !c.Handshake():
		return "midstream"
	case c.SYNACKFrame == 0 || c.AckedFrame == 0 && cl.DataPackets == 0:
		return "syn"
	case cl.DataPackets == 0 && sv.DataPackets == 0:
		return "handshake"
	case cl.DataPackets == 1 && sv.DataPackets == 0:
		return "first_data"
	}
	return "later"
}

// ms is a duration in milliseconds, to the microsecond.
func ms(ns int64) float64 { return float64(ns/1000) / 1000 }

func newLadderBase(r *track.Reset) ladderBase {
	c := r.Conn
	return ladderBase{
		client:   uint8(c.Client),
		relative: c.Sides[0].SYNFrame != 0 && c.Sides[1].SYNFrame != 0,
		isn:      [2]uint32{c.Sides[0].ISN, c.Sides[1].ISN},
		packets:  c.Packets,
	}
}

// BuildLadder draws the record's ladder from the packets the tracker
// kept: the last track.RingSize before the RST, the RST, and up to
// track.LaterSize after it. Records made by NewRecord have them;
// others get an empty ladder.
func (r *Record) BuildLadder() *Ladder {
	b := &r.ladder
	l := &Ladder{Relative: b.relative, Packets: make([]LadderPacket, 0, len(r.Recent)+len(r.Later))}
	if n := int64(len(r.Recent)) - 1; b.packets > n {
		l.Earlier = b.packets - n
	}
	add := func(s *track.Summary, role string, prev int64) {
		p := LadderPacket{Frame: s.Frame, Time: time.Unix(0, s.TS).UTC().Format(TimeFormat),
			From: "server", Flags: s.Flags.String(), Seq: s.Seq, Len: s.Len, Window: s.Window,
			Kind: kindNames[s.Kind], AcksUnseen: s.AcksUnseen, Role: role}
		if s.Flags&decode.ACK != 0 {
			p.Ack = s.Ack
		}
		if s.Dir == b.client {
			p.From = "client"
		}
		if b.relative {
			p.Seq -= b.isn[s.Dir&1]
			if s.Flags&decode.ACK != 0 {
				p.Ack -= b.isn[1-s.Dir&1]
			}
		}
		if prev != 0 && s.TS > prev {
			p.SincePrevMS = ms(s.TS - prev)
		}
		l.Packets = append(l.Packets, p)
	}
	var prev int64
	answered := answeredIndex(r.Recent)
	for i := range r.Recent {
		s := &r.Recent[i]
		role := ""
		switch {
		case i == len(r.Recent)-1:
			role = "rst"
		case i == answered:
			role = "answered"
		}
		add(s, role, prev)
		prev = s.TS
	}
	for i := range r.Later {
		add(&r.Later[i], "after", prev)
		prev = r.Later[i].TS
	}
	return l
}

// answeredIndex is the index in recent (whose last packet is the RST)
// of the packet the RST answers, or -1: the peer's packet straight
// before it, when the RST carries the numbers RFC 9293 §3.10.7.1 gives a
// reply to it: to a segment with ACK, seq = its ACK and no ACK flag; to
// one without, seq 0 and ack = its end. An active reset (close with data
// unread, SO_LINGER {on, 0}) always sets ACK: it answers nothing.
func answeredIndex(recent []track.Summary) int {
	n := len(recent)
	if n < 2 {
		return -1
	}
	rst, p := &recent[n-1], &recent[n-2]
	if p.Dir == rst.Dir {
		return -1
	}
	if p.Flags&decode.ACK != 0 {
		if rst.Flags&decode.ACK == 0 && rst.Seq == p.Ack {
			return n - 2
		}
		return -1
	}
	end := p.Seq + p.Len
	if p.Flags&decode.SYN != 0 {
		end++
	}
	if p.Flags&decode.FIN != 0 {
		end++
	}
	if rst.Flags&decode.ACK != 0 && rst.Seq == 0 && rst.Ack == end {
		return n - 2
	}
	return -1
}

// Cites returns the frames an evidence sentence names: the numbers after
// "frame" or "frames", and those joined to them by ",", "and", "to" or a
// dash. Renderers put a sentence beside the packets it cites.
func Cites(s string) []int64 {
	var out []int64
	for i := 0; i < len(s); i++ {
		var rest string
		switch {
		case hasWordAt(s, i, "frames "):
			rest = s[i+len("frames "):]
		case hasWordAt(s, i, "frame "):
			rest = s[i+len("frame "):]
		default:
			continue
		}
		j := len(s) - len(rest)
		for {
			n, k := number(s, j)
			if k == j {
				break
			}
			out = append(out, n)
			j = k
			joined := false
			for _, sep := range []string{", ", " and ", " to ", "–", "-", ".."} {
				if len(s) >= j+len(sep) && s[j:j+len(sep)] == sep {
					if _, k2 := number(s, j+len(sep)); k2 > j+len(sep) {
						j += len(sep)
						joined = true
					}
					break
				}
			}
			if !joined {
				break
			}
		}
		i = j - 1
	}
	return out
}

// hasWordAt reports whether s has w at i, starting a word.
func hasWordAt(s string, i int, w string) bool {
	if len(s) < i+len(w) || s[i:i+len(w)] != w {
		return false
	}
	if i == 0 {
		return true
	}
	c := s[i-1]
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_')
}

// number parses the decimal number at s[i:], returning it and the index
// after it (i when there is none).
func number(s string, i int) (int64, int) {
	var n int64
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' && j-i < 18 {
		n = n*10 + int64(s[j]-'0')
		j++
	}
	return n, j
}
