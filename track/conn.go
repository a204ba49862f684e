package track

import "github.com/rstwhy/rstwhy/decode"

// RingSize is how many packet summaries a connection keeps: enough for a
// ladder diagram of the moments before a reset, small enough that a table
// of many connections stays cheap.
const RingSize = 12

// Kind classifies a segment the way the tracker understood it.
type Kind uint8

const (
	KindNew       Kind = iota // new data or a pure control segment
	KindRetrans               // repeats bytes already sent
	KindKeepalive             // seq = snd_una-1, at most one byte, window open
	KindProbe                 // zero-window probe: into a zero window
	KindDupAck                // no data, same ACK and window as before
)

// Summary is what a connection remembers of one packet.
type Summary struct {
	Frame  int64
	TS     int64
	Seq    uint32
	Ack    uint32
	Len    uint32
	Window uint32 // scaled when the scale is known
	IPID   uint16
	TTL    uint8
	Flags  decode.Flags
	Dir    uint8 // index in Conn.Sides of the sender
	Kind   Kind
	// AcksUnseen: the segment acknowledged bytes of the peer that no
	// captured packet carried (Side.UnseenFrame): the capture missed some.
	AcksUnseen bool
}

// IPIDStep is the largest step between two packets of one side that
// still counts as its IP ID counter running on (Side.IPIDRun): a few of
// its packets may have missed the capture.
const IPIDStep = 8

// Stall is a zero-window period advertised by one side.
type Stall struct {
	StartFrame int64 // first zero-window advertisement
	StartTS    int64
	EndFrame   int64 // first advertisement that opened the window again; 0 while stalled
	EndTS      int64
	Adverts    int64 // zero-window segments in the stall
	Probes     int64 // the peer's probes into it
}

// Active reports whether the stall was still going on.
func (s Stall) Active() bool { return s.StartFrame != 0 && s.EndFrame == 0 }

// Side is one endpoint of a connection, as seen in its own packets.
type Side struct {
	// The small fields come first, packed without padding: a connection
	// lives in a table of tens of thousands (its size is the flow
	// table's), and most of what a packet reads and writes is here, in
	// the side's first two cache lines.
	Addr [16]byte
	Port uint16
	// IPIDRun counts the steps of the latest run of this side's non-RST
	// IPv4 packets whose IP IDs went up as a counter does, each 1 to
	// IPIDStep past the one before (IDs 0 left out: Linux sends its
	// SYN-ACKs so), up to 65535; CounterIPID (below) is the run's last
	// ID. A per-connection counter (Linux's inet_id) or a quiet host's
	// global one runs so; random IDs (BSD, macOS) do not.
	IPIDRun   uint16
	TSPackets uint16
	MSS       uint16

	WScale   int8 // announced in the SYN; -1 when unknown
	SACKPerm bool
	TSOpt    bool
	TSBack   bool
	HasSeq   bool
	TSOnLast bool
	HasAck   bool
	Scaled   bool // Window is scaled (both SYNs carried the option)

	FirstTTL, LastTTL uint8 // of packets other than RSTs
	MinTTL, MaxTTL    uint8
	LastIPID          uint16
	CounterIPID       uint16

	ISN        uint32
	TSFirstVal uint32
	NextSeq    uint32 // highest seq+len (with SYN and FIN) sent: snd_nxt as seen
	AckHi      uint32 // highest ACK sent: the peer's bytes below it were received
	Window     uint32 // last advertised window
	MaxWindow  uint32
	TSLastVal  uint32
	FINSeq     uint32

	Packets     int64
	DataPackets int64
	Bytes       int64 // new payload bytes; retransmissions not counted again

	SYNFrame int64  // first SYN; 0 when none was seen
	Layout   uint64 // the SYN's option kinds in order (decode.Packet.Layout)

	FINFrame int64
	FINTS    int64
	// FINAckedFrame is the peer's first packet that acknowledged this
	// side's FIN.
	FINAckedFrame int64
	RSTFrame      int64 // first RST this side sent

	Retrans          int64
	LastRetransFrame int64
	// RetransRun counts retransmissions since the peer last acknowledged
	// new data: the unanswered tail of a retransmission timeout.
	RetransRun      int64
	RetransRunFrame int64

	ZeroWindows int64 // zero-window advertisements in all
	Stall       Stall // the latest zero-window period this side advertised

	Keepalives int64 // keepalive probes in all
	// KeepaliveRun counts probes since the peer last sent data, SYN or
	// FIN. Bare ACKs answering the probes do not end it: a prober that
	// got them would not keep probing at the interval, so where they are
	// captured they were lost on the way (KeepaliveAnswers counts them).
	KeepaliveRun     int64
	KeepaliveFrame   int64 // first probe of that run
	KeepaliveAnswers int64

	IPIDs     int64 // non-RST IPv4 packets, for LastIPID's meaning
	ZeroIPIDs int64

	// The timestamp clock (RFC 7323) as this side's non-RST packets
	// show it: the first that carried the option (TSFirstFrame, at
	// capture time TSFirstTS, TSval TSFirstVal) and the latest
	// (TSLastVal; it is the side's last packet, LastFrame at LastTS,
	// when TSOnLast), and how many carried it (TSPackets, up to 65535).
	// TSBack is set when a TSval ran backward: no single clock, so no
	// baseline (a scanner's hand-crafted packets).
	TSFirstFrame int64
	TSFirstTS    int64

	FirstDataFrame int64
	LastDataFrame  int64
	LastDataTS     int64
	LastFrame      int64
	LastTS         int64

	// Unanswered counts new payload bytes this side sent since the peer
	// last sent data; UnansweredFrame is the first frame of that run.
	Unanswered      int64
	UnansweredFrame int64
	// UnansweredMsgs counts the pushed segments (application writes, as
	// far as the wire shows them) in that run.
	UnansweredMsgs int64
	// AnsweredMsgs is how many of the peer's messages this side's latest
	// run of data answered: one reply to six requests says something.
	AnsweredMsgs int64

	// UnseenFrame is the latest of the peer's segments that acknowledged
	// bytes of this side beyond all the capture showed it send
	// (Wireshark's "ACKed segment that wasn't captured"), or 0. A
	// receiver acknowledges only what it received, so the capture missed
	// this side's packets: dropped by the capture, or sent by a path it
	// does not see. (Tracker.Stats counts them.)
	UnseenFrame int64
}

// Conn is the tracker's view of one TCP connection. The tracker hands
// heuristics a copy taken at a reset, never the live value.
type Conn struct {
	Sides       [2]Side // Sides[0] sent the first packet seen
	Client      int     // index of the client in Sides
	SYNACKFrame int64
	AckedFrame  int64 // the client's ACK completing the handshake
	AckedTS     int64 // and its time: the server could accept from then on

	FirstFrame, LastFrame int64
	FirstTS, LastTS       int64
	Packets               int64
	Copies                int64 // packets captured twice (forwarded copies), ignored
	Resets                int   // RSTs seen before this view was taken
	// Forgotten is set on a connection that began without a handshake on
	// a four-tuple the tracker had let go of: the earlier packets were
	// there, only no longer tracked.
	Forgotten Forgotten

	ring [RingSize]Summary

	// ObserverMark is the Observer's (Tracker.Observer), for its own
	// index of the connection, so that a packet costs it no lookup: zero
	// when the connection begins, never read by the tracker.
	ObserverMark uint32
	// hist is the connection's history in Zeek's letters (see History),
	// each lower case with the sender's side in the high bit; histSeen
	// has a bit per letter and side already written.
	histSeen [2]uint16
	hist     [historyMax]byte
	histLen  uint8
	// lastAt is, for each side, 1 + the slot of its latest summary in
	// the ring, or 0 when the ring holds none of its packets.
	lastAt        [2]int8
	ringLen       int8
	ringPos       int8 // next slot to write
	IPv6          bool
	ClientGuessed bool // no SYN seen: the client was guessed from the ports
}

// historyMax bounds the history: eight letters once a side, and the
// retransmission and zero-window letters again at 10, 100 and 1000.
const historyMax = 32

// History letters, as Zeek's conn.log writes them: upper case for the
// client (Zeek's originator), lower case for the server.
const (
	histSYN     = iota // s: a SYN without ACK
	histSYNACK         // h: a SYN-ACK
	histACK            // a: a pure ACK
	histData           // d: a segment with payload
	histFIN            // f
	histRST            // r
	histRetrans        // t: a retransmission
	histZeroWin        // w: a zero window advertised
)

var histLetters = [...]byte{'s', 'h', 'a', 'd', 'f', 'r', 't', 'w'}

// note adds letter l of side dir to the history once; repeat, for t and
// w, adds it again when the count reaches 10, 100 and 1000, as Zeek does.
func (c *Conn) note(dir uint8, l int, count int64) {
	bit := uint16(1) << l
	if c.histSeen[dir]&bit != 0 && count != 10 && count != 100 && count != 1000 {
		return
	}
	c.histSeen[dir] |= bit
	if int(c.histLen) < historyMax {
		c.hist[c.histLen] = histLetters[l] | dir<<7
		c.histLen++
	}
}

// noteHistory adds what a packet of side dir shows to the history.
func (c *Conn) noteHistory(dir uint8, f decode.Flags, payload int, kind Kind, window uint32) {
	me := &c.Sides[dir]
	switch {
	case f&(decode.SYN|decode.ACK) == decode.SYN:
		c.note(dir, histSYN, 0)
	case f&decode.SYN != 0:
		c.note(dir, histSYNACK, 0)
	case f&(decode.ACK|decode.FIN|decode.RST) == decode.ACK && payload == 0:
		c.note(dir, histACK, 0)
	}
	if payload > 0 {
		c.note(dir, histData, 0)
	}
	if f&decode.FIN != 0 {
		c.note(dir, histFIN, 0)
	}
	if f&decode.RST != 0 {
		c.note(dir, histRST, 0)
		return
	}
	if kind == KindRetrans {
		c.note(dir, histRetrans, me.Retrans)
	}
	if window == 0 && f&decode.SYN == 0 {
		c.note(dir, histZeroWin, me.ZeroWindows)
	}
}

// History is the connection's history as Zeek's conn.log writes it:
// one letter for the first SYN (S), SYN-ACK (H), pure ACK (A), data (D),
// FIN (F) and RST (R) of each side, retransmission (T) and zero window
// (W) again at the 10th, 100th and 1000th; upper case for the client,
// lower case for the server, and a leading ^ when the first packet seen
// was the server's (Zeek's flipped direction).
func (c *Conn) History() string {
	b := make([]byte, 0, c.histLen+1)
	if c.Client != 0 {
		b = append(b, '^')
	}
	for _, h := range c.hist[:c.histLen] {
		l := h &^ 0x80
		if int(h>>7) == c.Client {
			l -= 'a' - 'A'
		}
		b = append(b, l)
	}
	return string(b)
}

// Handshake reports whether the client's SYN was seen.
func (c *Conn) Handshake() bool { return c.Sides[c.Client].SYNFrame != 0 }

// Recent returns the last packets of the connection, oldest first, at most
// RingSize of them. It allocates; heuristics call it once per reset.
func (c *Conn) Recent() []Summary { return c.AppendRecent(make([]Summary, 0, c.ringLen)) }

// RingLen is how many packets Recent returns.
func (c *Conn) RingLen() int { return int(c.ringLen) }

// AppendRecent appends what Recent returns to out.
func (c *Conn) AppendRecent(out []Summary) []Summary {
	start := int(c.ringPos) - int(c.ringLen)
	if start < 0 {
		start += RingSize
	}
	for i := 0; i < int(c.ringLen); i++ {
		out = append(out, c.ring[(start+i)%RingSize])
	}
	return out
}

// last returns the most recent summary from side dir, if any.
func (c *Conn) last(dir uint8) (*Summary, bool) {
	if i := c.lastAt[dir&1]; i > 0 {
		return &c.ring[i-1], true
	}
	return nil, false
}

func (c *Conn) push(s Summary) {
	if c.ringLen == RingSize {
		// The oldest summary goes. If it was a side's latest, the ring
		// holds nothing newer of that side: everything after it is the
		// other side's.
		for d := range c.lastAt {
			if int(c.lastAt[d]) == int(c.ringPos)+1 {
				c.lastAt[d] = 0
			}
		}
	}
	c.ring[c.ringPos] = s
	c.lastAt[s.Dir&1] = c.ringPos + 1
	c.ringPos = (c.ringPos + 1) % RingSize
	if c.ringLen < RingSize {
		c.ringLen++
	}
}

// State is where a connection stood, from the resetter's point of view.
type State string

const (
	StateSynSent     State = "syn_sent"     // the client's SYN is unanswered
	StateSynReceived State = "syn_received" // SYN-ACK sent, handshake not complete
	StateEstablished State = "established"
	StateFinWait     State = "fin_wait"   // the resetter had sent FIN, the peer had not
	StateCloseWait   State = "close_wait" // the peer had sent FIN, the resetter had not
	StateClosing     State = "closing"    // both had sent FIN
	StateUnknown     State = "unknown"
)

// StateOf returns the connection's state as seen by side dir.
func (c *Conn) StateOf(dir int) State {
	me, peer := &c.Sides[dir], &c.Sides[1-dir]
	switch {
	case me.FINFrame != 0 && peer.FINFrame != 0:
		return StateClosing
	case me.FINFrame != 0:
		return StateFinWait
	case peer.FINFrame != 0:
		return StateCloseWait
	case c.Packets == 0:
		return StateUnknown
	case c.SYNACKFrame != 0 && c.AckedFrame == 0:
		return StateSynReceived
	case c.Handshake() && c.SYNACKFrame == 0 && !c.Sides[c.Client].HasAck:
		// A client that sends ACKs got the SYN-ACK, whether or not the
		// capture holds it (one direction only, asymmetric routing).
		return StateSynSent
	}
	return StateEstablished
}

// seq comparisons modulo 2^32 (RFC 9293 §3.4).
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }

// SeqDiff returns b-a as a signed distance in sequence space.
func SeqDiff(a, b uint32) int64 { return int64(int32(b - a)) }

// Forgotten says when and why the tracker let go of a connection.
type Forgotten struct {
	Frame int64 // its last packet; 0: none remembered
	Why   Forgot
	// RSTFrame is the first RST of the connection let go of, 0 when it
	// had none; RSTSide is, in this connection's Sides, who sent it.
	RSTSide  int8
	RSTFrame int64
}

// Forgot is why the tracker let go of a connection.
type Forgot uint8

const (
	ForgotIdle  Forgot = iota + 1 // silent for Idle
	ForgotCap                     // evicted at MaxConns
	ForgotEnded                   // reset or closed, then quiet for Linger
)

// goneTable remembers, in a fixed 40 KiB, the four-tuples the tracker
// let go of most recently, by flow hash: direct-mapped, a newer entry
// takes an older one's slot. A flow it no longer holds starts without
// the note, as before; one it holds under a colliding hash's slot is not
// found (the hash is compared whole).
type goneTable struct {
	slots []goneSlot
}

type goneSlot struct {
	hash uint64
	f    Forgotten
	// rstLower: the RST was sent by the flow key's lower endpoint (a);
	// Tracker.open turns it into f.RSTSide of the connection after.
	rstLower bool
}

const goneSlots = 1 << 10

func (g *goneTable) note(h uint64, f Forgotten, rstLower bool) {
	if g.slots == nil {
		g.slots = make([]goneSlot, goneSlots)
	}
	g.slots[h&(goneSlots-1)] = goneSlot{h, f, rstLower}
}

func (g *goneTable) find(h uint64) (Forgotten, bool) {
	if g.slots == nil {
		return Forgotten{}, false
	}
	if s := g.slots[h&(goneSlots-1)]; s.hash == h {
		return s.f, s.rstLower
	}
	return Forgotten{}, false
}
