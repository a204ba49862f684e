package correlate

import (
	"net/netip"
	"time"

	"github.com/rstwhy/rstwhy/decode"
)

// Upstream events a reset can follow (Link.Event). They are stable data,
// like cause IDs.
const (
	UpstreamRST     = "upstream_rst"     // the upstream reset the proxy's connection
	UpstreamRefused = "upstream_refused" // the upstream refused it (RST to the SYN)
	UpstreamTimeout = "upstream_timeout" // its SYN was never answered
	UpstreamFIN     = "upstream_fin"     // the upstream closed it with a FIN
)

// Link is the upstream event a proxy's reset of its own client follows: a
// cascade. Frame is the event's frame: the upstream's RST or FIN, or for a
// timeout the attempt's first SYN.
type Link struct {
	Event     string
	Frame     int64
	Delay     time.Duration  // from the event (a timeout: its first SYN) to the reset
	Proxy     netip.AddrPort // the upstream connection's client: the proxy
	Upstream  netip.AddrPort // and its server
	SYNs      int            // SYNs the proxy sent on it, retransmissions included
	OpenFrame int64          // its first SYN
}

// Downstream is what Cascade needs of the reset's own connection.
type Downstream struct {
	Frame int64 // the RST's
	TS    int64
	// ByServer: the connection's server sent the RST, as a proxy resets
	// its client.
	ByServer bool
	// Followup: a later RST of the connection, or a copy of one.
	Followup bool
	// AcceptFrame and AcceptTS are the client's ACK completing the
	// handshake, from which on the proxy could accept the connection; 0
	// when the handshake was not captured.
	AcceptFrame, AcceptTS int64
	// RequestFrame is the client's first data segment on the connection;
	// 0 when it sent none.
	RequestFrame int64
	// ServerDataFrame and ServerDataTS are the server's last data segment
	// before the RST, 0 for none; ServerFINFrame and ServerFINTS its FIN.
	ServerDataFrame, ServerDataTS int64
	ServerFINFrame, ServerFINTS   int64
}

// React is how soon after an upstream RST, refusal or FIN the proxy must
// act on the client's connection (its answer, its FIN or the reset): a
// proxy passes a failure on at once (HAProxy and Go's net/http in half a
// millisecond here), while its own timers (a tarpit, a client timeout)
// meet an unrelated health check's failure only by chance.
const React = 100 * time.Millisecond

// AtAccept is how soon after the client's handshake a TCP proxy opens its
// upstream connection: nginx's stream module and HAProxy in tcp mode
// connect as they accept, before the client has sent anything (nginx
// 1.22 here 0.3 ms after the client's ACK). An accept waits for the
// proxy's event loop, not for the network: 100 ms is generous.
const AtAccept = 100 * time.Millisecond

// Cascade reports whether a reset follows an upstream failure: the
// pipeline's candidate (decode.Packet.Upstream: the latest failure of a
// connection that the resetting host opened as a client, on the same
// address or, on a capture of that host with tcpdump -i any, any address
// of its own; an upstream RST, refusal or FIN at most 1 s before the reset,
// or a SYN unanswered for 250 ms to 30 s) is linked when the reset is the
// server's, is the connection's first, the client sent data on it, the
// upstream connection was opened for that client (after the client's
// first data, as an HTTP proxy opens it for a request, or within AtAccept
// after the client's handshake, as a TCP proxy opens it when it accepts),
// the proxy had not answered on the client's connection before
// the upstream event (it sent nothing at all, or its last data came after
// the event: its 502 or 503), and, but for a timeout, whose moment the
// wire does not show, it acted within React of the event. A proxy that answered first (a
// 413 for an upload it refuses, then the reset with the body unread) and
// an idle client reset by its timeout are so not linked to a health check
// failing meanwhile; neither is a client on a kept-alive connection whose
// earlier request was answered (the wire cannot tell its next request
// from the rest of a body). Nor is a proxy that reuses an upstream
// connection opened earlier: the capture cannot tell which client's
// request it carried.
func Cascade(d Downstream, up *decode.Upstream) (Link, bool) {
	if up == nil || !d.ByServer || d.Followup || d.RequestFrame == 0 ||
		!openedFor(d, up) || up.Frame >= d.Frame || up.TS > d.TS ||
		d.ServerDataFrame != 0 && d.ServerDataFrame <= up.Frame {
		return Link{}, false
	}
	// The proxy's first act after the event: its answer, FIN or reset.
	react := d.TS
	if d.ServerDataFrame > up.Frame {
		react = min(react, d.ServerDataTS)
	}
	if d.ServerFINFrame > up.Frame {
		react = min(react, d.ServerFINTS)
	}
	if up.Event != decode.UpstreamTimeout && time.Duration(react-up.TS) > React {
		return Link{}, false
	}
	l := Link{Frame: up.Frame, Delay: time.Duration(d.TS - up.TS), Proxy: up.Client, Upstream: up.Server,
		SYNs: up.SYNs, OpenFrame: up.OpenFrame}
	switch up.Event {
	case decode.UpstreamRST:
		l.Event = UpstreamRST
	case decode.UpstreamRefused:
		l.Event = UpstreamRefused
	case decode.UpstreamTimeout:
		l.Event = UpstreamTimeout
	case decode.UpstreamFIN:
		l.Event = UpstreamFIN
	default:
		return Link{}, false
	}
	return l, true
}

// openedFor reports whether the upstream connection was opened for d's
// client: after its first data (an HTTP proxy connects for a request), or
// after its handshake, within AtAccept (a TCP proxy connects as it
// accepts, whether or not the client has spoken).
func openedFor(d Downstream, up *decode.Upstream) bool {
	if up.OpenFrame > d.RequestFrame {
		return true
	}
	return d.AcceptFrame != 0 && up.OpenFrame > d.AcceptFrame && time.Duration(up.OpenTS-d.AcceptTS) <= AtAccept
}
