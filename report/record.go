package report

import (
	"net/netip"
	"time"

	"github.com/rstwhy/rstwhy/correlate"
	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/track"
)

// SchemaVersion is the version of the JSON record schema. Fields may be
// added within a version; changing or removing one makes a new version.
const SchemaVersion = 1

// TimeFormat is RFC 3339 with nanoseconds, always nine digits, so that
// times sort as strings.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Record is one RST, explained. Field names are the stable schema.
type Record struct {
	Capture       string   `json:"capture"`
	Frame         int64    `json:"frame"` // 1-based, as Wireshark numbers frames
	Time          string   `json:"time"`
	Src           string   `json:"src"`
	Sport         uint16   `json:"sport"`
	Dst           string   `json:"dst"`
	Dport         uint16   `json:"dport"`
	Flags         string   `json:"flags"`
	Seq           uint32   `json:"seq"`
	Ack           uint32   `json:"ack"`
	Client        string   `json:"client"` // address:port
	Server        string   `json:"server"`
	Resetter      string   `json:"resetter"` // "client" or "server"
	ClientGuessed bool     `json:"client_guessed"`
	State         string   `json:"state"`
	Cause         string   `json:"cause"`
	Confidence    float64  `json:"confidence"`
	KernelReason  string   `json:"kernel_reason"`
	Evidence      []string `json:"evidence"`
	Signals       Signals  `json:"signals"`
	Followup      bool     `json:"followup"`
	FollowupOf    int64    `json:"followup_of,omitempty"` // frame of the connection's first RST
	CopyOf        int64    `json:"copy_of,omitempty"`     // frame of the same RST captured earlier
	// CausedBy is, for a proxy's reset of its own client, the upstream
	// event it follows: a cascade (see CausedBy).
	CausedBy *CausedBy `json:"caused_by,omitempty"`
	// Group is the reset's group in its capture (package correlate): a
	// storm, a repeat, a scan, or a group of its own. Summaries of the
	// groups are in the capture's block.
	Group int64 `json:"group,omitempty"`
	// RSTPayload is the RST's own payload, which some devices fill with
	// diagnostic text (RFC 1122 4.2.2.12): its first 256 bytes captured,
	// printable ASCII as it is, other bytes as \xNN. Empty for a bare RST.
	RSTPayload string `json:"rst_payload,omitempty"`
	// VendorReason is a device's own reason for the reset, written in the
	// RST: an F5 BIG-IP's cause, a Citrix NetScaler's reset code. Nil when
	// the RST carries none.
	VendorReason *VendorReason `json:"vendor_reason,omitempty"`
	// Connection sums up the connection up to the RST.
	Connection Connection `json:"connection"`
	// App is what the application was doing (see App): set by whoever
	// runs with application context, nil (left out) otherwise.
	App *App `json:"app,omitempty"`
	// Ladder is the reset drawn packet by packet: set by whoever wants it
	// in the output (analyze --ladder), from BuildLadder.
	Ladder *Ladder `json:"ladder,omitempty"`

	// corr is what correlate needs of the reset, taken from the tracker's
	// view when the record is made.
	corr correlate.Reset

	// Recent is the connection's last packets up to the RST, the RST
	// last, and Later what followed it: what BuildLadder draws.
	Recent []track.Summary `json:"-"`
	Later  []track.Summary `json:"-"`
	ladder ladderBase
	// followupOwn: a follow-up whose first RST the tracker had let go
	// of; its cause is its own reading, not the first's.
	followupOwn bool
}

// VendorReason is heuristics.VendorReason as the output names it.
type VendorReason struct {
	Device string `json:"device"` // "F5 BIG-IP" or "Citrix NetScaler"
	// Code is a NetScaler's reset code (the RST's window); 0 and left out
	// for F5.
	Code int `json:"code,omitempty"`
	// Text is F5's cause in F5's words, or what Citrix documents a
	// NetScaler code to mean.
	Text string `json:"text"`
	// Where is "ethernet_trailer", "payload" or "tcp_window".
	Where string `json:"where"`
	// Peer: F5 decided the reset for the peer flow (the proxy's other
	// side).
	Peer bool `json:"peer,omitempty"`
	// Corroborated: a NetScaler code backed by more than the window's
	// value; false, the code is only a possibility.
	Corroborated bool `json:"corroborated"`
}

func vendorReason(v heuristics.VendorReason) *VendorReason {
	if v.Device == "" {
		return nil
	}
	return &VendorReason{Device: v.Device, Code: v.Code, Text: v.Text, Where: v.Where, Peer: v.Peer, Corroborated: v.Corroborated}
}

// NewRecord joins a reset and its verdict.
func NewRecord(capture string, r *track.Reset, v heuristics.Verdict) Record {
	p := &r.Packet
	c := r.Conn
	cl, sv := &c.Sides[c.Client], &c.Sides[1-c.Client]
	rec := Record{
		Capture:       capture,
		Frame:         p.Frame,
		Time:          time.Unix(0, p.TS).UTC().Format(TimeFormat),
		Src:           p.SrcAddr().String(),
		Sport:         p.SrcPort,
		Dst:           p.DstAddr().String(),
		Dport:         p.DstPort,
		Flags:         p.Flags.String(),
		Seq:           p.Seq,
		Ack:           p.Ack,
		Client:        endpoint(cl.Addr, cl.Port, c.IPv6),
		Server:        endpoint(sv.Addr, sv.Port, c.IPv6),
		Resetter:      string(v.Resetter),
		ClientGuessed: c.ClientGuessed,
		State:         string(v.State),
		Cause:         string(v.Cause),
		Confidence:    round2(v.Confidence),
		KernelReason:  v.KernelReason,
		Evidence:      v.Evidence,
		Signals:       Signals(v.Signals),
		Followup:      v.Followup,
		CopyOf:        r.CopyOf,
		Connection:    newConnection(r),
		RSTPayload:    heuristics.Printable(p.Payload, len(p.Payload)),
		VendorReason:  vendorReason(v.Vendor),
		ladder:        newLadderBase(r),
	}
	// One allocation for the packets before the RST, the RST and after.
	pk := make([]track.Summary, 0, c.RingLen()+1+len(r.Later))
	win := uint32(p.Window) << c.WindowShift(r.Sender)
	pk = append(c.AppendRecent(pk), track.Summary{Frame: p.Frame, TS: p.TS, Seq: p.Seq, Ack: p.Ack, Flags: p.Flags, Dir: uint8(r.Sender), TTL: p.TTL, IPID: p.IPID, Window: win, Len: uint32(p.Len)})
	rec.Recent = pk[:len(pk):len(pk)]
	rec.Later = append(pk[len(pk):], r.LaterPackets()...)
	if r.First != nil {
		rec.FollowupOf = r.First.Packet.Frame
	} else if v.FollowupOf != 0 {
		rec.FollowupOf, rec.followupOwn = v.FollowupOf, true
	}
	rec.corr = correlateReset(r, v)
	if cb, s := causedBy(r, v.Followup || r.CopyOf != 0); cb != nil {
		rec.CausedBy = cb
		rec.Evidence = append(rec.Evidence[:len(rec.Evidence):len(rec.Evidence)], s)
	}
	if rec.Evidence == nil {
		rec.Evidence = []string{}
	}
	return rec
}

func endpoint(a [16]byte, port uint16, v6 bool) string {
	p := decode.Packet{Src: a, IPv6: v6}
	addr := p.SrcAddr()
	if v6 {
		return "[" + addr.String() + "]:" + itoa(int(port))
	}
	return addr.String() + ":" + itoa(int(port))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [8]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// correlateReset is what package correlate reads of a judged reset.
func correlateReset(r *track.Reset, v heuristics.Verdict) correlate.Reset {
	p, c := &r.Packet, r.Conn
	me, peer := &c.Sides[r.Sender], &c.Sides[1-r.Sender]
	sv := &c.Sides[1-c.Client]
	cr := correlate.Reset{
		Frame:    p.Frame,
		TS:       p.TS,
		Resetter: addrPort(me.Addr, me.Port),
		Peer:     addrPort(peer.Addr, peer.Port),
		Server:   addrPort(sv.Addr, sv.Port),
		Cause:    string(v.Cause),
		// The RST answered a SYN: the peer's SYN is the last thing it
		// sent and no SYN-ACK came, a refusal whatever its cause.
		AnswersSYN: peer.SYNFrame != 0 && c.SYNACKFrame == 0 && peer.LastFrame == peer.SYNFrame,
		Followup:   v.Followup || r.CopyOf != 0,
	}
	switch {
	case r.First != nil: // a copy of a follow-up too: the group is the first reset's
		cr.FollowupOf = r.First.Packet.Frame
	case r.CopyOf != 0:
		cr.FollowupOf = r.CopyOf
	case v.FollowupOf != 0:
		cr.FollowupOf = v.FollowupOf
	}
	return cr
}

func addrPort(a [16]byte, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(a).Unmap(), port)
}

// Correlate gives the record its group from c, which must see every
// record of one capture in frame order.
func (r *Record) Correlate(c *correlate.Correlator) {
	r.Group = c.Add(r.corr).Group
}

// Signals are the raw measurements of a record, whatever its cause: the
// output schema's names for heuristics.Signals, field for field (the
// conversion in NewRecord compiles only while the two stay alike).
type Signals struct {
	// PeerUnanswered is the data the peer sent after the resetter last
	// sent data: data in flight toward the resetter, acknowledged or not,
	// that it never answered.
	PeerUnanswered int64 `json:"peer_bytes_unanswered"`
	// PeerUnacked is the peer's data the resetter had not acknowledged.
	PeerUnacked int64 `json:"peer_bytes_unacked"`
	// ResetterUnacked is the resetter's data the peer had not yet
	// acknowledged: what the peer may now lose (the "ERROR" reply that
	// never gets read).
	ResetterUnacked int64  `json:"resetter_bytes_unacked"`
	ZeroWindow      bool   `json:"zero_window_before"`
	ZeroWindowBy    string `json:"zero_window_by,omitempty"`
	ResetterFIN     bool   `json:"resetter_sent_fin"`
	PeerFIN         bool   `json:"peer_sent_fin"`
	// SinceLast is the time from the previous packet of either side to
	// the RST: how immediate it was.
	SinceLastMS    float64 `json:"ms_since_last_packet"`
	SincePeerMS    float64 `json:"ms_since_peer_packet"`
	Retransmits    int64   `json:"resetter_retransmits"`
	KeepaliveRun   int64   `json:"resetter_keepalives_unanswered"`
	Handshake      bool    `json:"handshake_seen"`
	TTL            uint8   `json:"ttl"`
	ResetterTTLMin uint8   `json:"resetter_ttl_min,omitempty"`
	ResetterTTLMax uint8   `json:"resetter_ttl_max,omitempty"`
	IPID           uint16  `json:"ip_id"`
}
