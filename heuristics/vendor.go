package heuristics

import (
	"bytes"
	"fmt"

	"github.com/rstwhy/rstwhy/decode"
)

// vendorRule: a load balancer (an application delivery controller) said
// why it reset, in the RST itself.
//
// Wire: an F5 BIG-IP's own capture carries the reset's cause in the
// Ethernet trailer of the RST it sent (decode.F5ResetCause), and a
// BIG-IP with the tm.rstcause.pkt setting writes it as the RST's payload
// ("BIG-IP: [0x11c5672:3045] {peer} TCP RST from remote system"); a
// Citrix NetScaler (ADC) writes a reset code into the RST's window field.
// Both are full proxies: the device is the resetter, under the address
// of the server it stands in for (the virtual server) or of the client
// toward the server. Linux: none; the device's own TCP stack sent it.
//
// How sure: F5's cause has a structure (lengths that must agree, a
// version, text) that nothing else writes: 0.9. A window is a number any
// RST carries, so a NetScaler code is named as one only when something
// else says so (see netscalerCorroborated), and then at 0.5: the
// NetScaler may be the connection's own endpoint (its LDAP connection
// for authentication, zeek_ldap_simpleauth frame 12, idle 181 s against
// its default idle timeout of 180 s) as well as a proxy in the middle.
// Uncorroborated, it is only mentioned, as a possibility. Codes that
// answer a segment for no connection (stray packets) or pass on the far
// side's RST decide nothing either: the rules for replies read those
// (zeek_tcp_fin_retransmission frame 5 is a NetScaler's 8201 refusing an
// ACK that reuses the ISN: invalid_segment or no_socket).
var vendorRule = Rule{Cause: MiddleboxReset, Kernel: "", Match: func(v *View, explain bool) Finding {
	vr := &v.vendor
	conf := 0.9
	if vr.Device == NetScaler {
		if !vr.Corroborated || netscalerCodes[uint16(vr.Code)].kind != nsDecided {
			return Finding{}
		}
		conf = 0.5
	}
	if vr.Device == "" {
		return Finding{}
	}
	var ev []string
	if explain {
		v.vendorSaid = true
		ev = append(ev, v.vendorSentence())
	}
	return Finding{Confidence: conf, Evidence: ev}
}}

// Devices named in VendorReason.Device.
const (
	F5BigIP   = "F5 BIG-IP"
	NetScaler = "Citrix NetScaler"
)

// VendorReason is a device's own statement, in the RST, of why it reset.
type VendorReason struct {
	Device string // F5BigIP or NetScaler; "" when the RST carries none
	// Code is a NetScaler's reset code (the RST's window); 0 for F5.
	Code int
	// Text is the reason in the vendor's words (F5's cause text), or the
	// meaning of a NetScaler code as Citrix documents it.
	Text string
	// Where the reason was found: "ethernet_trailer", "payload" or
	// "tcp_window".
	Where string
	// Peer: F5's cause was decided for the peer flow, the connection on
	// the proxy's other side.
	Peer bool
	// Corroborated: a NetScaler code was backed by more than the window's
	// value (netscalerCorroborated). Always true for F5.
	Corroborated bool
	// f5Loc is F5's [value:line] of the cause, for the evidence.
	f5Loc string
}

// netscalerCode is one NetScaler reset code: its name and meaning, and
// its kind.
type netscalerCode struct {
	name, text string
	kind       nsKind
}

// nsKind says what the NetScaler did.
type nsKind uint8

const (
	nsDecided nsKind = iota // it decided to reset: a timeout, a policy
	nsStray                 // it answered a segment for no connection it knows
	nsRelay                 // it passed on a RST from the proxy's other side
)

// netscalerCodes are the NetScaler reset codes whose meaning was checked
// in public sources. Citrix's reference is CTX200852 ("Citrix ADC
// (NetScaler) Reset Codes Reference"); its text was read in two
// independent transcriptions that agree on these entries (the Wireshark
// Lua plugins of github.com/bunnis and github.com/ToddMaxey, both citing
// CTX200852; the first says Wireshark 4.4 took the table into its TCP
// dissector, not read here).
// 8201 is confirmed by Citrix's CTX583058 and CTX695832 (a packet that
// belongs to no known connection, SYN cookies), 9300 by CTX492010
// (NSBE_DBG_RST_ZSSSR: idle connections reset, idle and zombie timeouts).
// Codes of those tables whose meaning rests on one transcription only
// are left out.
var netscalerCodes = map[uint16]netscalerCode{
	8201: {"NSDBG_RST_SSTRAY", "stray packet: a segment for a connection the NetScaler has no state for (already reset or closed, or a SYN cookie that does not match)", nsStray},
	8202: {"NSDBG_RST_CSTRAY", "stray data: data on a connection the NetScaler has no state for, whose SYN cookie expired", nsStray},
	9100: {"NSDBG_RST_ORP", "orphan HTTP connection: a request or response left incomplete, reset after a timeout", nsDecided},
	9300: {"NSDBG_RST_ZSSSR", "idle timeout or zombie timeout: the connection cleanup routine reset an idle connection (or one to a service that went down)", nsDecided},
	9301: {"NSDBG_RST_ZSSSR", "idle timeout or zombie timeout: the connection cleanup routine reset an idle connection (or one to a service that went down)", nsDecided},
	9302: {"NSDBG_RST_ZSSSR", "idle timeout or zombie timeout: the connection cleanup routine reset an idle connection (or one to a service that went down)", nsDecided},
	9303: {"NSDBG_RST_ZSSSR", "idle timeout or zombie timeout: the connection cleanup routine reset an idle connection (or one to a service that went down)", nsDecided},
	9304: {"NSDBG_RST_LINK_GIVEUPS", "gave up after zero-window probes (7 by default, about 2 minutes) went unanswered by an open window", nsDecided},
	9700: {"NSDBG_RST_PASS", "a RST from the other side of the proxy passed on", nsRelay},
	9701: {"NSDBG_RST_ACK_PASS", "a RST+ACK from the other side of the proxy passed on", nsRelay},
	9814: {"NSDBG_RST_PETRIGGER", "policy reset: a request or response matched a policy whose action is RESET", nsDecided},
}

// netscalerMargin is how far, in raw window units, a NetScaler code must
// be from the sender's last advertised window: a host stack's active
// reset carries its receive window, which moves little from one packet
// to the next.
const netscalerMargin = 512

// vendorOf reads the RST for a device's reason: F5's trailer, F5's
// payload, then a NetScaler code in the window.
func vendorOf(v *View) VendorReason {
	p := v.RST
	if len(p.Trailer) > 0 {
		if c, ok := decode.F5ResetCause(p.Trailer); ok {
			return VendorReason{Device: F5BigIP, Text: string(c.Text), Where: "ethernet_trailer", Peer: c.Peer,
				Corroborated: true, f5Loc: fmt.Sprintf("0x%x:%d", c.Value, c.Line)}
		}
	}
	if r, ok := f5Payload(p.Payload); ok {
		return r
	}
	if p.Window == 0 {
		return VendorReason{}
	}
	c, ok := netscalerCodes[p.Window]
	if !ok {
		return VendorReason{}
	}
	return VendorReason{Device: NetScaler, Code: int(p.Window), Text: c.text, Where: "tcp_window",
		Corroborated: netscalerCorroborated(v)}
}

// netscalerCorroborated: a RST whose window is a NetScaler code came from
// a NetScaler, not from a host whose window happened to be that number.
// A host stack's reply to a segment for no connection carries window 0
// (Linux's tcp_v4_send_reset, Windows, the BSDs' tcp_respond without a
// connection), so a RST without ACK and with a code says so; a host's
// active reset (RST+ACK) carries its receive window, close to what it
// advertised before, so the code must lie netscalerMargin or more away
// from the sender's last window on the connection (when it sent none,
// nothing corroborates).
func netscalerCorroborated(v *View) bool {
	if v.RST.Flags&decode.ACK == 0 {
		return true
	}
	last, ok := v.lastRawWindow()
	if !ok {
		return false
	}
	d := int(last) - int(v.RST.Window)
	return d >= netscalerMargin || d <= -netscalerMargin
}

// lastRawWindow is the window field of the resetter's last packet other
// than a RST, as on the wire (unscaled); ok is false when none was seen.
func (v *View) lastRawWindow() (uint32, bool) {
	for i := len(v.Recent) - 1; i >= 0; i-- {
		s := &v.Recent[i]
		if int(s.Dir) != v.R.Sender || s.Flags&decode.RST != 0 {
			continue
		}
		w := s.Window
		if v.M.Scaled && v.M.WScale > 0 && s.Flags&decode.SYN == 0 {
			w >>= uint(v.M.WScale)
		}
		return w, true
	}
	return 0, false
}

// f5Payload reads the reset cause a BIG-IP writes as its RST's payload
// with tm.rstcause.pkt enabled: "BIG-IP: [value:line] {peer} text", the
// format Wireshark's F5 dissector gives the trailer's cause.
func f5Payload(b []byte) (VendorReason, bool) {
	rest, ok := bytes.CutPrefix(b, []byte("BIG-IP: ["))
	if !ok {
		return VendorReason{}, false
	}
	loc, rest, ok := bytes.Cut(rest, []byte("]"))
	if !ok || len(loc) == 0 || len(loc) > 32 {
		return VendorReason{}, false
	}
	rest = bytes.TrimLeft(rest, " ")
	rest, peer := bytes.CutPrefix(rest, []byte("{peer}"))
	rest = bytes.TrimRight(bytes.TrimLeft(rest, " "), "\x00 ")
	if len(rest) == 0 {
		return VendorReason{}, false
	}
	return VendorReason{Device: F5BigIP, Text: Printable(rest, 200), Where: "payload", Peer: peer,
		Corroborated: true, f5Loc: Printable(loc, 32)}, true
}

// vendorSentence names the device and its reason, for the evidence.
func (v *View) vendorSentence() string {
	vr := &v.vendor
	f := v.RST.Frame
	switch {
	case vr.Device == F5BigIP:
		where := "the Ethernet trailer its capture adds"
		if vr.Where == "payload" {
			where = fmt.Sprintf("the RST's payload (\"%s\")", Printable(v.RST.Payload, 64))
		}
		peer := ""
		if vr.Peer {
			peer = ", decided for the peer flow (the connection on the proxy's other side)"
		}
		return fmt.Sprintf("frame %d: an F5 BIG-IP sent this RST and wrote why in %s: %q [%s]%s; the load balancer reset the connection, under the %s's address",
			f, where, vr.Text, vr.f5Loc, peer, v.Me)
	case vr.Corroborated:
		c := netscalerCodes[uint16(vr.Code)]
		what := ""
		switch c.kind {
		case nsRelay:
			what = "; the reset began on the proxy's other side, and the NetScaler passed it on"
		case nsStray:
			what = "; it had no state for the segment it answered"
		default:
			if v.LastAny != nil {
				what = fmt.Sprintf(", %s after the previous packet (frame %d)", since(v.LastAny.TS, v.RST.TS), v.LastAny.Frame)
			}
		}
		return fmt.Sprintf("frame %d: the RST's window %d is a Citrix NetScaler reset code, %s (%s), and %s: a NetScaler sent it, as the %s or in its name%s",
			f, vr.Code, c.name, vr.Text, v.netscalerWhy(), v.Me, what)
	}
	c := netscalerCodes[uint16(vr.Code)]
	last := "sent nothing else before"
	if w, ok := v.lastRawWindow(); ok {
		last = fmt.Sprintf("last window was %d", w)
	}
	return fmt.Sprintf("frame %d: the RST's window %d is possibly a Citrix NetScaler reset code, %s (%s), but a host's RST can carry that window too and nothing else here says a NetScaler sent it (the %s's %s)",
		f, vr.Code, c.name, vr.Text, v.Me, last)
}

// netscalerWhy says what corroborated a NetScaler code.
func (v *View) netscalerWhy() string {
	if v.RST.Flags&decode.ACK == 0 {
		return "a host's reply RST carries window 0"
	}
	w, _ := v.lastRawWindow()
	return fmt.Sprintf("a host's RST+ACK carries its receive window, which was %d in the %s's last packet", w, v.Me)
}

// withVendor adds the device's reason to a verdict another rule won, or
// a follow-up's.
func (v *View) withVendor(out *Verdict, explain bool) {
	out.Vendor = v.vendor
	if explain && v.vendor.Device != "" && !v.vendorSaid {
		out.Evidence = append(out.Evidence, v.vendorSentence())
	}
}
