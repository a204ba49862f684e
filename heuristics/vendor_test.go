package heuristics

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/decode"
)

// f5Trailer is a legacy F5 trailer's medium part of version 1, as
// Wireshark's packet-f5ethtrailer.c lays it out: type 2, length, version,
// flow and peer IDs (8 bytes each), flags (4), flow type, HA unit, ingress
// slot and port (2 each), the cause's length, then the cause: version 0
// and the peer flag, the 48-bit value and 16-bit line, the text. Ethernet
// padding comes before it, as on a short frame.
func f5Trailer(peer bool, text string) []byte {
	b := []byte{0, 0, 0, 0, 0, 0, 2, 0, 1}
	b = append(b, make([]byte, 8+8+4+1+1+2+2)...)
	cause := []byte{0}
	if peer {
		cause[0] = 1
	}
	cause = binary.BigEndian.AppendUint64(cause, 0x11c5672<<16|3045)
	cause = append(cause, text...)
	b = append(b, byte(len(cause)))
	b = append(b, cause...)
	b[7] = byte(len(b) - 6 - 2)
	return b
}

// idleConvo is a client's request and the server's answer, then quiet.
func idleConvo(t *testing.T) *convo {
	c := newConvo(t).handshake()
	c.after(time.Millisecond).send(cli, psh, 200)
	c.after(time.Millisecond).send(srv, psh, 800)
	c.after(100*time.Microsecond).send(cli, decode.ACK, 0)
	return c
}

func TestF5TrailerNamesBigIP(t *testing.T) {
	c := idleConvo(t)
	rst := c.after(300 * time.Second).active(srv)
	rst.Trailer = f5Trailer(false, "Idle timeout")
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, MiddleboxReset, 0.9, 0.9)
	want := VendorReason{Device: F5BigIP, Text: "Idle timeout", Where: "ethernet_trailer", Corroborated: true, f5Loc: "0x11c5672:3045"}
	if v.Vendor != want {
		t.Errorf("vendor %+v, want %+v", v.Vendor, want)
	}
	if s := `frame 7: an F5 BIG-IP sent this RST and wrote why in the Ethernet trailer its capture adds: "Idle timeout" [0x11c5672:3045]; the load balancer reset the connection, under the server's address`; v.Evidence[0] != s {
		t.Errorf("evidence %q,\nwant %q", v.Evidence[0], s)
	}
}

// A BIG-IP with tm.rstcause.pkt writes its cause as the RST's payload: the
// payload is the device's, so it does not cap the verdict at even odds as
// an unknown stack's payload does.
func TestF5PayloadNamesBigIP(t *testing.T) {
	c := idleConvo(t)
	rst := c.after(5 * time.Millisecond).active(srv)
	rst.Payload = []byte("BIG-IP: [0x11c5672:3045] {peer} TCP RST from remote system")
	rst.Len = len(rst.Payload)
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, MiddleboxReset, 0.9, 0.9)
	if v.Vendor.Device != F5BigIP || v.Vendor.Text != "TCP RST from remote system" || !v.Vendor.Peer || v.Vendor.Where != "payload" {
		t.Errorf("vendor %+v", v.Vendor)
	}
	if !evidenceHas(v, `wrote why in the RST's payload ("BIG-IP: [0x11c5672:3045] {peer} TCP RST from remote system"): "TCP RST from remote system" [0x11c5672:3045], decided for the peer flow`) {
		t.Errorf("no F5 sentence in %q", v.Evidence)
	}
}

// A NetScaler that times an idle connection out resets it with window
// 9300, far from the windows it advertised before.
func TestNetScalerIdleTimeout(t *testing.T) {
	c := idleConvo(t)
	rst := c.after(180 * time.Second).active(cli)
	rst.Window = 9300
	v := c.verdict(rst.Frame)
	wantVerdict(t, v, MiddleboxReset, 0.5, 0.5)
	if v.Vendor.Device != NetScaler || v.Vendor.Code != 9300 || !v.Vendor.Corroborated || v.Vendor.Where != "tcp_window" {
		t.Errorf("vendor %+v", v.Vendor)
	}
	if s := "frame 7: the RST's window 9300 is a Citrix NetScaler reset code, NSDBG_RST_ZSSSR (idle timeout or zombie timeout: the connection cleanup routine reset an idle connection (or one to a service that went down)), and a host's RST+ACK carries its receive window, which was 502 in the client's last packet: a NetScaler sent it, as the client or in its name, 180 s after the previous packet (frame 6)"; v.Evidence[0] != s {
		t.Errorf("evidence %q,\nwant %q", v.Evidence[0], s)
	}
}

// A host's active reset carries its receive window: one that happens to
// be a NetScaler code, near the window the host advertised before, is
// only mentioned as a possibility, and the verdict is the rules'.
func TestNetScalerCodeNotCorroborated(t *testing.T) {
	verdict := func(window uint16) Verdict {
		c := newConvo(t)
		c.window = [2]uint16{502, 9310}
		c.handshake()
		c.after(time.Millisecond).send(cli, psh, 200)
		c.after(time.Millisecond).send(cli, psh, 200)
		rst := c.after(20 * time.Millisecond).active(srv)
		rst.Window = window
		return c.verdict(rst.Frame)
	}
	plain, code := verdict(9310), verdict(9300)
	if code.Cause != plain.Cause || code.Confidence != plain.Confidence {
		t.Errorf("a window that is a NetScaler code changed the verdict: %s %.2f, without it %s %.2f", code.Cause, code.Confidence, plain.Cause, plain.Confidence)
	}
	if code.Vendor.Device != NetScaler || code.Vendor.Corroborated {
		t.Errorf("vendor %+v, want an uncorroborated NetScaler code", code.Vendor)
	}
	if !evidenceHas(code, "frame 6: the RST's window 9300 is possibly a Citrix NetScaler reset code, NSDBG_RST_ZSSSR") ||
		!evidenceHas(code, "(the server's last window was 9310)") {
		t.Errorf("no 'possibly' sentence in %q", code.Evidence)
	}
	if plain.Vendor.Device != "" || evidenceHas(plain, "NetScaler") {
		t.Errorf("window 9310 named a device: %+v %q", plain.Vendor, plain.Evidence)
	}
}

// A stray packet's reset (8201) answers a segment for no connection: the
// NetScaler is named, and the cause is what the rules for replies say.
func TestNetScalerStrayDecidesNothing(t *testing.T) {
	verdict := func(window uint16) Verdict {
		c := idleConvo(t)
		late := c.after(900*time.Second).send(cli, psh, 5)
		rst := c.after(time.Millisecond).reply(srv, late)
		rst.Window = window
		return c.verdict(rst.Frame)
	}
	plain, code := verdict(0), verdict(8201)
	if code.Cause != plain.Cause || code.Confidence != plain.Confidence {
		t.Errorf("code 8201 changed the verdict: %s %.2f, with window 0 %s %.2f", code.Cause, code.Confidence, plain.Cause, plain.Confidence)
	}
	if code.Vendor.Code != 8201 || !code.Vendor.Corroborated {
		t.Errorf("vendor %+v, want a corroborated 8201", code.Vendor)
	}
	if !evidenceHas(code, "is a Citrix NetScaler reset code, NSDBG_RST_SSTRAY") || !evidenceHas(code, "a host's reply RST carries window 0") {
		t.Errorf("no NetScaler sentence in %q", code.Evidence)
	}
}
