package heuristics

import (
	"fmt"
	"strings"
	"time"

	"github.com/rstwhy/rstwhy/appctx"
	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// Cause is a stable identifier for why a RST was sent. The strings are
// data: reports, tests and users' scripts match on them.
type Cause string

const (
	UnreadDataClose       Cause = "unread_data_close"
	LingerAbort           Cause = "linger_abort"
	ZeroWindowAbort       Cause = "zero_window_abort"
	ConnectionRefused     Cause = "connection_refused"
	NoSocket              Cause = "no_socket"
	DataAfterClose        Cause = "data_after_close"
	KeepaliveTimeout      Cause = "keepalive_timeout"
	RetransmissionTimeout Cause = "retransmission_timeout"
	TimewaitRST           Cause = "timewait_rst"
	MiddleboxReset        Cause = "middlebox_reset"
	InvalidSegment        Cause = "invalid_segment"
	Unknown               Cause = "unknown"
)

// Causes lists every cause, in the order reports summarize them.
func Causes() []Cause {
	return []Cause{UnreadDataClose, LingerAbort, ZeroWindowAbort, ConnectionRefused, NoSocket,
		DataAfterClose, KeepaliveTimeout, RetransmissionTimeout, TimewaitRST, MiddleboxReset,
		InvalidSegment, Unknown}
}

// Verdict is what rstwhy says about one RST.
type Verdict struct {
	Cause      Cause
	Confidence float64 // 0..1
	// KernelReason is the Linux sk_rst_reason (include/net/rstreason.h)
	// that this evidence points to, or "" when no kernel sent it or the
	// evidence does not say.
	KernelReason string
	Evidence     []string
	Resetter     Role
	State        track.State
	Followup     bool
	// FollowupOf is the frame of the first RST a follow-up is the
	// consequence of, when the tracker no longer held it as Reset.First
	// (the connection had been let go of after that RST); 0 otherwise.
	FollowupOf int64
	Signals    Signals
	// Vendor is a device's own reason for the reset, written in the RST
	// (an F5 BIG-IP's cause, a Citrix NetScaler's code); Device is ""
	// when the RST carries none.
	Vendor VendorReason
}

// Signals are the raw measurements at the RST, whatever the cause; package
// report owns their names in the output (report.Signals).
type Signals struct {
	// PeerUnanswered is the data the peer sent after the resetter last
	// sent data: data in flight toward the resetter, acknowledged or not,
	// that it never answered.
	PeerUnanswered int64
	// PeerUnacked is the peer's data the resetter had not acknowledged.
	PeerUnacked int64
	// ResetterUnacked is the resetter's data the peer had not yet
	// acknowledged: what the peer may now lose (the "ERROR" reply that
	// never gets read).
	ResetterUnacked int64
	ZeroWindow      bool
	ZeroWindowBy    string
	ResetterFIN     bool
	PeerFIN         bool
	// SinceLast is the time from the previous packet of either side to
	// the RST: how immediate it was.
	SinceLastMS    float64
	SincePeerMS    float64
	Retransmits    int64
	KeepaliveRun   int64
	Handshake      bool
	TTL            uint8
	ResetterTTLMin uint8
	ResetterTTLMax uint8
	IPID           uint16
}

// Rule recognizes one cause.
type Rule struct {
	Cause Cause
	// Kernel is the sk_rst_reason the signature points to on Linux.
	Kernel string
	// Match returns a Finding with a confidence in (0, 1] when the reset
	// fits, or the zero Finding. It formats Evidence only when explain is
	// set, and its confidence and kernel must not depend on explain:
	// Explain asks every rule without it and then only the winner with
	// it, because most rules lose and formatting is most of what a rule
	// costs.
	Match func(v *View, explain bool) Finding
}

// Finding is a rule's answer for one reset.
type Finding struct {
	Confidence float64
	Evidence   []string
	Kernel     string // overrides Rule.Kernel when the evidence says more; "-": none
}

func rules() []Rule {
	return []Rule{
		vendorRule,
		refusedRule,
		middleboxRule,
		keepaliveRule,
		zeroWindowRule,
		retransRule,
		timewaitRule,
		dataAfterCloseRule,
		invalidRule,
		noSocketRule,
		unreadRule,
		lingerRule,
	}
}

// Explain judges one reset.
func Explain(r *track.Reset) Verdict {
	v := newView(r)
	out := Verdict{
		Resetter: v.Me,
		State:    r.Conn.StateOf(r.Sender),
		Signals:  v.signals(),
	}
	v.judge(&out, true)
	v.withVendor(&out, true)
	return out
}

// judge sets the verdict's cause, confidence, kernel reason and followup
// flag, and with explain its evidence.
func (v *View) judge(out *Verdict, explain bool) {
	if v.R.First != nil || v.R.CopyOf != 0 {
		v.followup(out, explain)
		return
	}
	v.match(out, explain)
	if f := v.C.Forgotten; v.afterForgottenRST() {
		// A RST never draws a RST, but what its sender sends afterwards
		// does: the other side's socket went with the first RST, and each
		// later segment meets no socket (RFC 9293 §3.10.7.1). The first
		// RST's snapshot went with the connection, so the cause is this
		// RST's own reading.
		out.Followup, out.FollowupOf = true, f.RSTFrame
		if explain {
			out.Evidence = append(out.Evidence, fmt.Sprintf(
				"follow-up of the %s's RST at frame %d: the %s's segment at frame %d came after that reset, on the same ports, and a reset connection has no socket left to take it",
				v.nameOf(int(f.RSTSide)), f.RSTFrame, v.Peer, v.LastPeer.Frame))
		}
	}
}

// afterForgottenRST: the tracker had let go of this four-tuple after a
// RST from the peer (Conn.Forgotten), the peer sent on it again, and this
// RST answers that segment the way a host with no socket does. A host
// that reset cannot be reset back by its own later segment unless its
// peer's socket went with the first RST.
func (v *View) afterForgottenRST() bool {
	f := v.C.Forgotten
	return f.Why == track.ForgotEnded && f.RSTFrame != 0 && int(f.RSTSide) != v.R.Sender &&
		v.C.Resets == 0 && v.LastPeer != nil && v.replyShape()
}

// match asks every rule for its confidence alone; the highest wins, the
// first listed on a tie, and only the winner is asked again for its
// evidence. When no rule fits the cause is Unknown.
func (v *View) match(out *Verdict, explain bool) {
	var win Rule
	var f Finding
	crafted := v.crafted()
	bsd := stackOf(v.M) == StackBSD
	for _, rule := range rules() {
		if crafted && rule.Cause != InvalidSegment && rule.Cause != MiddleboxReset {
			// A crafted RST is no stack's reset: no cause of a stack's
			// applies to it.
			continue
		}
		if bsd && rule.Cause == UnreadDataClose {
			// A BSD stack closes with FIN whatever it left unread.
			continue
		}
		if g := rule.Match(v, false); g.Confidence > f.Confidence {
			win, f = rule, g
		}
	}
	if f.Confidence == 0 {
		out.Cause = Unknown
		if explain {
			out.Evidence = v.unknownEvidence()
			if v.RST.Len > 0 {
				// What a device wrote into its RST is the best clue left.
				out.Evidence = append(out.Evidence, v.payloadSentence(""))
			}
		}
		return
	}
	if explain {
		f = win.Match(v, true)
	}
	out.Cause, out.Confidence, out.KernelReason, out.Evidence = win.Cause, f.Confidence, win.Kernel, f.Evidence
	if f.Kernel == "-" {
		out.KernelReason = ""
	} else if f.Kernel != "" {
		out.KernelReason = f.Kernel
	}
	v.listenerReason(out, explain)
	v.notLinux(out, explain)
	if bsd {
		out.KernelReason = ""
		if out.Cause == LingerAbort {
			// With data left unread ruled out, an active reset at
			// close is SO_LINGER {on, 0}; a timer's abort stays possible.
			out.Confidence = max(out.Confidence, 0.6)
		}
		if explain {
			out.Evidence = append(out.Evidence, v.bsdEvidence(v.M, v.Me))
		}
	}
	v.withPayload(out, explain)
	v.oneWriter(out, explain)
	v.networkGear(out, explain)
	v.windowsHabit(out, explain)
	v.captureGap(out, explain)
}

// captureGap: the capture missed packets of this connection near the
// reset. A receiver acknowledges only bytes it received (RFC 9293 §3.4),
// so a segment among the last before the RST (the ring of recent
// packets), or the RST itself, that acknowledges bytes no captured packet
// carried shows packets the capture never had: dropped by it (a busy
// host's tcpdump, a SPAN port) or sent on a path it does not see. The
// readings of a stack's close and abort paths rest as much on what is
// absent (no FIN, no answer, nothing acknowledged) as on what is there,
// and the missing packets may be exactly those: such a verdict is held
// to 0.6. A refusal, a middlebox's reset and a segment no stack sends
// are read from the RST and what answered it, and keep their
// confidence.
func (v *View) captureGap(out *Verdict, explain bool) {
	if out.Confidence <= 0.6 {
		return
	}
	switch out.Cause {
	case ConnectionRefused, MiddleboxReset, InvalidSegment, Unknown:
		return
	}
	frame, side := v.unseenNearRST()
	if frame == 0 {
		return
	}
	holdTo(out, 0.6, false, explain, func() string {
		return fmt.Sprintf("frame %d acknowledges bytes of the %s that no captured packet carried: the capture missed packets near the reset (dropped by the capture, or sent on a path it does not see), and the reading above rests partly on what the wire does not show, so it is held to 0.6",
			frame, side)
	})
}

// unseenNearRST returns the latest frame at or after the oldest recent
// packet that acknowledged bytes of a side beyond all the capture showed
// it send (track.Side.UnseenFrame), or the RST when it does, and that
// side's role; 0 when there is none.
func (v *View) unseenNearRST() (int64, Role) {
	if v.RST.Flags&decode.ACK != 0 && v.P.HasSeq && int32(v.RST.Ack-v.P.NextSeq) > 0 {
		return v.RST.Frame, v.Peer
	}
	if len(v.Recent) == 0 {
		return 0, ""
	}
	oldest := v.Recent[0].Frame
	var frame int64
	var side Role
	for i := range v.C.Sides {
		if f := v.C.Sides[i].UnseenFrame; f >= oldest && f > frame {
			frame, side = f, v.nameOf(i)
		}
	}
	return frame, side
}

// windowsHabit: the RST's TTL fits Windows' initial 128. Windows resets
// on a close with data unread as Linux does, but its programs also close
// abortively as a habit (a server acknowledging the client's FIN and
// resetting, a client resetting after the last reply, a process exit
// resetting every connection), so data left unread and an abortive
// close cannot be told apart by what was acknowledged: the one is
// stated at even odds, the other at 0.6 at most.
func (v *View) windowsHabit(out *Verdict, explain bool) {
	if initialTTL(v.RST.TTL) != 128 {
		return
	}
	limit := 0.0
	switch out.Cause {
	case UnreadDataClose:
		limit = 0.5
	case LingerAbort:
		limit = 0.6
	default:
		return
	}
	if out.Confidence <= limit {
		return
	}
	holdTo(out, limit, false, explain, func() string {
		return fmt.Sprintf("the RST's TTL %d fits Windows (initial 128), whose programs close abortively as a habit: whether the %s left data unread or read it and aborted, the wire cannot show",
			v.RST.TTL, v.Me)
	})
}

// networkGear: the RST's TTL fits an initial TTL of 255, which routers,
// switches and appliances use (Cisco IOS, Junos, load balancers), not
// the host stacks whose close and abort paths the rules read. How such
// a stack ends a session (a vty closed abortively after its FIN, a
// health check cut short) is its vendor's, so a reading of the host's
// socket calls is capped at 0.6. What any stack does by the RFC (a
// refusal, a reply to a segment for no connection) and what a
// middlebox does keep their confidence.
func (v *View) networkGear(out *Verdict, explain bool) {
	if initialTTL(v.RST.TTL) != 255 || out.Confidence <= 0.6 {
		return
	}
	switch out.Cause {
	case ConnectionRefused, NoSocket, MiddleboxReset, InvalidSegment, Unknown:
		return
	}
	holdTo(out, 0.6, false, explain, func() string {
		return fmt.Sprintf("the RST's TTL %d fits an initial TTL of 255: network gear or an appliance, whose way of ending a session is its vendor's, not a host stack's: the reading above is capped at 0.6",
			v.RST.TTL)
	})
}

// oneWriter: every packet of both hosts carries one and the same IP ID.
// Two TCP stacks draw their IP IDs each on its own (a counter per socket
// or per destination, a random start; RFC 6864), so a shared non-zero
// value on every packet of both sides says one program wrote the whole
// conversation: a test generator or a crafted replay (scapy's default
// is 1). What a stack's reset path would mean cannot be read from it: no
// kernel reason, and even odds at best.
func (v *View) oneWriter(out *Verdict, explain bool) {
	if out.Cause == Unknown || !v.oneProgram() {
		return
	}
	holdTo(out, 0.5, true, explain, func() string {
		return fmt.Sprintf("frames %d to %d: every packet of both hosts carries IP ID %d, which two TCP stacks never share: one program wrote both sides (a test generator or a crafted replay), so the reading above is a guess at even odds at best",
			v.Recent[0].Frame, v.RST.Frame, v.RST.IPID)
	})
}

// oneProgram reports whether every recent packet of both hosts carries
// the RST's own non-zero IP ID (see oneWriter).
func (v *View) oneProgram() bool {
	if v.RST.IPID == 0 || len(v.Recent) < 2 {
		return false
	}
	var sides [2]bool
	for _, s := range v.Recent {
		if s.IPID != v.RST.IPID {
			return false
		}
		sides[s.Dir&1] = true
	}
	return sides[0] && sides[1]
}

// holdTo caps out's confidence at limit, withdraws its kernel reason when
// dropKernel, and with explain says why.
func holdTo(out *Verdict, limit float64, dropKernel, explain bool, why func() string) {
	if dropKernel {
		out.KernelReason = ""
	}
	out.Confidence = min(out.Confidence, limit)
	if explain {
		out.Evidence = append(out.Evidence, why())
	}
}

// withPayload: a RST that carries data. RFC 9293 §3.5.3 lets a RST carry
// diagnostic text, but no common stack sends any: Linux's
// tcp_v4_send_reset and tcp_send_active_reset build bare headers, and so
// do Windows and the BSDs. Whatever sent it (an IPS announcing itself, a
// test generator, a stack nobody here knows) is not the kernel whose code
// paths the rules describe: its kernel reason is withdrawn and the
// verdict promises no more than even odds.
//
// Where the claimed sender's own packets on the connection show a common
// host stack (a steady TTL of an initial 64 or 128) and no one program
// wrote the whole conversation, that stack did not write this RST: a
// device, or a program with a raw socket, did in its name. The cause is
// then middlebox_reset at even odds, and what the packets alone would
// say is named beside it: an exact RST that mimics the sender's TTL
// leaves nothing else on the wire to decide by. A lone RST (no baseline)
// or one from network gear (initial 255, itself often the endpoint, as a
// load balancer) keeps the packets' cause.
func (v *View) withPayload(out *Verdict, explain bool) {
	if v.RST.Len == 0 || out.Cause == Unknown {
		return
	}
	if v.vendor.Where == "payload" && out.Cause == MiddleboxReset {
		return // a BIG-IP's reason (vendorRule): the payload is its, not a stack's
	}
	if out.Cause != MiddleboxReset && v.commonStackSender() {
		was := out.Cause
		out.Cause, out.Confidence, out.KernelReason = MiddleboxReset, 0.5, ""
		if explain {
			init := initialTTL(v.M.MaxTTL)
			s := v.payloadSentence(fmt.Sprintf(": the %s's own packets here came from a common host stack (TTL %s, an initial %d, %s away), which never writes one, so a device or a program with a raw socket sent this RST in its name; read on its packets alone it would be %s, also at even odds",
				v.Me, ttlRange(v.M.MinTTL, v.M.MaxTTL), init, hopsAway(init-int(v.M.MaxTTL), init-int(v.M.MinTTL)), was))
			out.Evidence = append([]string{s}, out.Evidence...)
		}
		return
	}
	holdTo(out, 0.5, true, explain, func() string {
		return v.payloadSentence(": whatever sent it, the reading above is a guess at even odds at best")
	})
}

// commonStackSender reports whether the RST's claimed sender sent other
// packets on the connection with a steady TTL of a host stack's initial
// 64 or 128, in a conversation not written by one program.
func (v *View) commonStackSender() bool {
	if v.M == nil || v.C == nil {
		return false
	}
	lo, hi := v.M.MinTTL, v.M.MaxTTL
	if hi == 0 || v.M.Packets-int64(v.C.Resets) < 1 || hi-lo > 3 || initialTTL(lo) != initialTTL(hi) {
		return false
	}
	if i := initialTTL(hi); i != 64 && i != 128 {
		return false
	}
	return !v.oneProgram()
}

// hopsAway renders a hop distance or range: "1 hop", "3 hops", "1-2 hops".
func hopsAway(lo, hi int) string {
	if lo == 1 && hi == 1 {
		return "1 hop"
	}
	return hopRange(lo, hi) + " hops"
}

// payloadSentence shows the RST's payload: decoded where it follows the
// IETF draft's format, else as text.
func (v *View) payloadSentence(tail string) string {
	shown := ""
	if d, ok := DiagPayload(v.RST.Payload); ok {
		shown = " in the IETF draft's RST diagnostic format (draft-boucadair-tcpm-rst-diagnostic-payload), " + d
	} else if len(v.RST.Payload) > 0 {
		shown = fmt.Sprintf(" (\"%s\")", Printable(v.RST.Payload, 64))
	}
	return fmt.Sprintf("frame %d: the RST carries %d bytes of payload%s; no common TCP stack sends any (RFC 1122 4.2.2.12 allows diagnostic text)%s",
		v.RST.Frame, v.RST.Len, shown, tail)
}

// Printable renders at most n bytes of b as text a terminal and a JSON
// reader show safely (appctx.Printable: printable ASCII as it is, every
// other byte as \xNN, and "..." when b was longer).
func Printable(b []byte, n int) string { return appctx.Printable(b, n) }

// initialTTL is the standard initial TTL a packet seen with ttl was most
// likely sent with: 64 (Linux, the BSDs, macOS), 128 (Windows) or 255
// (network gear, Solaris). What it is less the TTL seen is the hop count.
func initialTTL(ttl uint8) int {
	switch {
	case ttl <= 64:
		return 64
	case ttl <= 128:
		return 128
	}
	return 255
}

// systemOf names the systems that start packets at an initial TTL.
func systemOf(initial int) string {
	switch initial {
	case 64:
		return "Linux, a BSD or macOS"
	case 128:
		return "Windows"
	}
	return "network gear or Solaris"
}

// linuxLike: the RST's own TTL fits Linux's initial TTL of 64. The
// BSDs and macOS start at 64 too: the TTL cannot tell them from Linux.
func (v *View) linuxLike() bool { return initialTTL(v.RST.TTL) == 64 }

// notLinux withdraws a Linux kernel reason from a RST whose TTL says
// another system sent it: sk_rst_reason names Linux's code paths.
func (v *View) notLinux(out *Verdict, explain bool) {
	if v.linuxLike() || out.KernelReason == "" {
		return
	}
	out.KernelReason = ""
	if explain {
		init := initialTTL(v.RST.TTL)
		out.Evidence = append(out.Evidence, fmt.Sprintf(
			"the RST's TTL %d fits an initial TTL of %d (%d hops): the sender looks like %s, not Linux, so no Linux kernel reason is given",
			v.RST.TTL, init, init-int(v.RST.TTL), systemOf(init)))
	}
}

// followup labels a RST of a connection that was already reset: it takes
// the first reset's cause, and says what it answered.
func (v *View) followup(out *Verdict, explain bool) {
	r := v.R
	first := r.First
	if r.CopyOf != 0 && first == nil {
		first = r
	}
	out.Followup = true
	if r.CopyOf != 0 && explain {
		if o := v.LastMe; o != nil && o.Frame == r.CopyOf && o.TTL == r.Packet.TTL {
			out.Evidence = append(out.Evidence, fmt.Sprintf(
				"frame %d is the RST of frame %d captured a second time (the same TTL %d and IP ID %d): a duplicate in the capture, not a new reset",
				r.Packet.Frame, r.CopyOf, r.Packet.TTL, r.Packet.IPID))
		} else {
			out.Evidence = append(out.Evidence, fmt.Sprintf(
				"frame %d is the RST of frame %d captured a second time (TTL %d): a copy seen on another interface, not a new reset",
				r.Packet.Frame, r.CopyOf, r.Packet.TTL))
		}
	}
	var fv Verdict
	if first == r {
		// A copy of the first reset: the rules judge it as they would the
		// original, since none reads CopyOf.
		v.match(&fv, false)
		out.Cause, out.Confidence, out.KernelReason = fv.Cause, fv.Confidence, fv.KernelReason
		return
	}
	newView(first).judge(&fv, false)
	out.Cause, out.Confidence = fv.Cause, fv.Confidence
	if r.CopyOf != 0 && first.Packet.Frame == r.CopyOf {
		// A copy of the first reset; a copy of a follow-up goes on as
		// the follow-up it copies.
		out.KernelReason = fv.KernelReason
		return
	}
	if explain {
		out.Evidence = append(out.Evidence, fmt.Sprintf(
			"follow-up of the RST at frame %d (%s, %s)", first.Packet.Frame, fv.Cause, v.nameOf(first.Sender)))
	}
	if v.replyShape() {
		out.KernelReason = "NO_SOCKET"
		if explain {
			out.Evidence = append(out.Evidence, fmt.Sprintf(
				"it answers the %s's segment at frame %d: a reset connection has no socket left, so each later segment draws a RST",
				v.Peer, v.LastPeer.Frame))
		}
		v.listenerReason(out, explain)
		v.notLinux(out, explain)
	}
}

// listenerReason: a reset from a port that was still accepting. Linux
// answers a segment for no connection (an ACK, a FIN, data) with
// NO_SOCKET when no socket at all has its port, but where a listener has
// it the segment reaches the listener, which resets it with TCP_FLAGS
// (tcp_rcv_state_process in TCP_LISTEN: an ACK). A server whose program
// closed one connection goes on listening; one that exited does not. The
// wire shows a listener only by its SYN-ACKs: one sent from the RST's
// port to another peer after this connection's own handshake
// (decode.Packet.Accepting) says the port was still accepting then. A
// refusal answers a SYN and is left alone.
func (v *View) listenerReason(out *Verdict, explain bool) {
	if out.KernelReason != "NO_SOCKET" || out.Cause == ConnectionRefused {
		return
	}
	after := v.C.SYNACKFrame
	if after == 0 {
		after = v.C.FirstFrame
	}
	if v.RST.Accepting <= after {
		return
	}
	out.KernelReason = "TCP_FLAGS"
	if explain {
		out.Evidence = append(out.Evidence, fmt.Sprintf(
			"frame %d: the %s's SYN-ACK from port %d to another peer, after this connection's handshake: its listener was still accepting, and a segment for no connection that reaches a listener is reset with TCP_FLAGS on Linux, NO_SOCKET only where no listener is left",
			v.RST.Accepting, v.Me, v.RST.SrcPort))
	}
}

// View is a reset with the facts every rule needs worked out once.
type View struct {
	R         *track.Reset
	C         *track.Conn
	RST       *decode.Packet
	Me, Peer  Role // the resetter's and its peer's
	M, P      *track.Side
	Recent    []track.Summary
	LastPeer  *track.Summary // the peer's last packet before the RST, RSTs left out
	LastMe    *track.Summary // the resetter's last packet before the RST
	LastAny   *track.Summary
	Exchanged bool // both sides had sent packets

	recent [track.RingSize]track.Summary // Recent's array: one allocation a view

	vendor     VendorReason // a device's reason in the RST (vendorOf)
	vendorSaid bool         // vendorRule put it in the evidence
}

func newView(r *track.Reset) *View {
	v := &View{R: r, C: r.Conn, RST: &r.Packet}
	v.M, v.P = &r.Conn.Sides[r.Sender], &r.Conn.Sides[1-r.Sender]
	v.Me, v.Peer = v.nameOf(r.Sender), v.nameOf(1-r.Sender)
	v.Recent = r.Conn.AppendRecent(v.recent[:0])
	for i := len(v.Recent) - 1; i >= 0; i-- {
		s := &v.Recent[i]
		if v.LastAny == nil {
			v.LastAny = s
		}
		if int(s.Dir) == r.Sender && v.LastMe == nil {
			v.LastMe = s
		}
		// A RST is never what a RST answers (RFC 9293 §3.10.7): the
		// peer's last segment is its last other than a RST.
		if int(s.Dir) != r.Sender && v.LastPeer == nil && s.Flags&decode.RST == 0 {
			v.LastPeer = s
		}
	}
	v.Exchanged = v.M.Packets > 0 && v.P.Packets > 0
	v.vendor = vendorOf(v)
	return v
}

func (v *View) nameOf(side int) Role {
	if side == v.R.Conn.Client {
		return Client
	}
	return Server
}

// Role is a side's part in its connection: the client opened it (its SYN,
// or where no SYN was seen, the higher port), the server answered. It is
// stable data in the output, and a word in the evidence.
type Role string

const (
	Client Role = "client"
	Server Role = "server"
)

// replyShape: the RST answers the peer's last segment the way a host
// with no matching socket does (tcp_v4_send_reset, RFC 9293 §3.5.2): seq
// is that segment's ACK, and no ACK flag; or, for a segment without ACK,
// seq 0 and an ACK of the segment.
func (v *View) replyShape() bool {
	if v.LastPeer == nil {
		return false
	}
	lp := v.LastPeer
	if lp.Flags&decode.ACK != 0 {
		return v.RST.Flags&decode.ACK == 0 && v.RST.Seq == lp.Ack
	}
	return v.RST.Flags&decode.ACK != 0 && v.RST.Seq == 0 && v.RST.Ack == lp.Seq+lp.Len+synfin(lp.Flags)
}

// answered returns the peer's segment a reply-shaped RST answers: a RST
// without ACK takes its seq from the ack of the segment it answers (RFC
// 9293 §3.10.7.1, Linux tcp_v4_send_reset), so it is the latest of the
// peer's recent segments with ACK whose ack is the RST's seq, whatever
// came between them in the capture (a segment captured on the peer's
// side before the resetter's FIN may reach the resetter after it). nil
// for a RST with ACK or when none fits.
func (v *View) answered() *track.Summary {
	if v.RST.Flags&decode.ACK != 0 {
		return nil
	}
	for i := len(v.Recent) - 1; i >= 0; i-- {
		s := &v.Recent[i]
		if int(s.Dir) != v.R.Sender && s.Flags&decode.RST == 0 && s.Flags&decode.ACK != 0 && s.Ack == v.RST.Seq {
			return s
		}
	}
	return nil
}

// activeShape: the RST continues the resetter's own sequence space, as an
// abort from an open socket does (tcp_send_active_reset: seq = snd_nxt,
// RST+ACK).
func (v *View) activeShape() bool {
	return v.M.HasSeq && v.RST.Flags&decode.ACK != 0 && v.RST.Seq == v.M.NextSeq
}

func synfin(f decode.Flags) uint32 {
	n := uint32(0)
	if f&decode.SYN != 0 {
		n++
	}
	if f&decode.FIN != 0 {
		n++
	}
	return n
}

// sinceLast is the time from the previous packet of either side to the RST.
func (v *View) sinceLast() time.Duration {
	if v.LastAny == nil {
		return 0
	}
	return time.Duration(v.RST.TS - v.LastAny.TS)
}

func (v *View) signals() Signals {
	s := Signals{
		PeerUnanswered: v.P.Unanswered,
		ResetterFIN:    v.M.FINFrame != 0,
		PeerFIN:        v.P.FINFrame != 0,
		Retransmits:    v.M.RetransRun,
		KeepaliveRun:   v.M.KeepaliveRun,
		Handshake:      v.C.Handshake(),
		TTL:            v.RST.TTL,
		ResetterTTLMin: v.M.MinTTL,
		ResetterTTLMax: v.M.MaxTTL,
		IPID:           v.RST.IPID,
	}
	if v.P.HasSeq && v.M.HasAck {
		s.PeerUnacked = max(0, track.SeqDiff(v.M.AckHi, v.P.NextSeq))
	}
	if v.M.HasSeq && v.P.HasAck {
		s.ResetterUnacked = max(0, track.SeqDiff(v.P.AckHi, v.M.NextSeq))
	}
	switch {
	case v.M.Stall.StartFrame != 0:
		s.ZeroWindow, s.ZeroWindowBy = true, string(v.Me)
	case v.P.Stall.StartFrame != 0:
		s.ZeroWindow, s.ZeroWindowBy = true, string(v.Peer)
	}
	s.SinceLastMS = ms(v.sinceLast())
	if v.LastPeer != nil {
		s.SincePeerMS = ms(time.Duration(v.RST.TS - v.LastPeer.TS))
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// unknownEvidence says what was seen when no rule fits, so the user can
// judge for themselves.
func (v *View) unknownEvidence() []string {
	ev := make([]string, 0, 3) // one allocation for at most three sentences
	if !v.C.Handshake() {
		ev = append(ev, v.midConnection())
	}
	if v.LastPeer != nil {
		ev = append(ev, fmt.Sprintf("the %s's last packet before it was frame %d (%s, %d bytes)",
			v.Peer, v.LastPeer.Frame, v.LastPeer.Flags, v.LastPeer.Len))
	} else {
		ev = append(ev, fmt.Sprintf("no packet of the %s precedes it", v.Peer))
	}
	ev = append(ev, fmt.Sprintf("RST seq %d ack %d from the %s matches no known signature",
		v.RST.Seq, v.RST.Ack, v.Me))
	return ev
}

// byteCount renders a byte count for evidence.
func byteCount(n int64) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// since renders the time from a to b. Capture clocks can go backwards (a
// merged file, a clock stepped while capturing): a negative gap is said
// so, never printed as a negative time.
func since(a, b int64) string {
	d := time.Duration(b - a)
	if d < 0 {
		return "no measurable time (the capture's timestamps go backwards by " + since(b, a) + " here)"
	}
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	// Whole seconds read "1 s", not "1.00 s" (nor, as they once did, "1").
	return strings.Replace(fmt.Sprintf("%.2f s", d.Seconds()), ".00 s", " s", 1)
}

// midConnection says why the view of a connection has no handshake: the
// capture began after it, or rstwhy had let go of the connection's
// earlier packets (idle past the tracker's Idle, evicted at --max-conns,
// or closed and quiet), which were in the capture all the same.
func (v *View) midConnection() string {
	f := v.C.Forgotten
	if f.Frame == 0 {
		return "the capture starts mid-connection: no handshake seen"
	}
	why := "it had been silent longer than rstwhy keeps a silent connection (10 minutes)"
	switch f.Why {
	case track.ForgotCap:
		why = "the table of connections was full (--max-conns)"
	case track.ForgotEnded:
		why = "it had been reset or closed, then quiet"
	}
	return fmt.Sprintf("no handshake in this view: rstwhy had let go of this connection's earlier packets (up to frame %d), as %s; its history before frame %d is not weighed here",
		f.Frame, why, v.C.FirstFrame)
}
