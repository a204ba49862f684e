package report

import (
	"strconv"

	"github.com/rstwhy/rstwhy/correlate"
	"github.com/rstwhy/rstwhy/track"
)

// CausedBy is, for a proxy's reset of its own client, the upstream event
// that reset follows (correlate.Cascade): the cascade's first link.
type CausedBy struct {
	Frame int64  `json:"frame"` // the upstream RST or FIN, or a timeout's first SYN
	Event string `json:"event"` // upstream_rst, upstream_refused, upstream_timeout, upstream_fin
	// Conn is the upstream connection, "proxy -> upstream", as Client and
	// Server are written.
	Conn string `json:"conn"`
	// DelayMS is the time from the event to the reset.
	DelayMS float64 `json:"delay_ms"`
}

// causedBy links r to the upstream event it follows, with the sentence the
// evidence gets; nil and "" when there is none.
func causedBy(r *track.Reset, followup bool) (*CausedBy, string) {
	p, c := &r.Packet, r.Conn
	cl, sv := &c.Sides[c.Client], &c.Sides[1-c.Client]
	l, ok := correlate.Cascade(correlate.Downstream{Frame: p.Frame, TS: p.TS, ByServer: r.Sender != c.Client,
		Followup: followup, AcceptFrame: c.AckedFrame, AcceptTS: c.AckedTS, RequestFrame: cl.FirstDataFrame,
		ServerDataFrame: sv.LastDataFrame, ServerDataTS: sv.LastDataTS, ServerFINFrame: sv.FINFrame, ServerFINTS: sv.FINTS}, p.Upstream)
	if !ok {
		return nil, ""
	}
	proxy, up := l.Proxy.String(), l.Upstream.String()
	cb := &CausedBy{Frame: l.Frame, Event: l.Event, Conn: proxy + " -> " + up, DelayMS: ms(int64(l.Delay))}
	client := endpoint(cl.Addr, cl.Port, c.IPv6)
	by := durationText(l.Delay)
	var s string
	switch l.Event {
	case correlate.UpstreamRST:
		s = "the reset of client " + client + " follows the upstream reset from " + up + " (frame " + itoa64(l.Frame) + ") by " + by +
			": a proxy passing its upstream's failure on (Envoy's UR, upstream remote reset; HAProxy's SD, or SH before the response headers; nginx's \"(104: Connection reset by peer)\" from upstream)"
	case correlate.UpstreamRefused:
		s = "the reset of client " + client + " follows the upstream " + up + " refusing the proxy's connection from " + proxy + " (frame " + itoa64(l.Frame) + ") by " + by +
			": a proxy passing its upstream's failure on (Envoy's UF, upstream connection failure; HAProxy's SC; nginx's \"connect() failed (111: Connection refused) while connecting to upstream\")"
	case correlate.UpstreamTimeout:
		tries := "never answered"
		if l.SYNs > 1 {
			tries = "sent " + strconv.Itoa(l.SYNs) + " times, never answered"
		}
		s = "the reset of client " + client + " follows the proxy's connection attempt from " + proxy + " to " + up + " by " + by +
			", its SYN (frame " + itoa64(l.Frame) + ") " + tries + ": a proxy passing its connect timeout on (Envoy's UF, upstream connection failure; HAProxy's sC; nginx's \"upstream timed out (110: Connection timed out) while connecting to upstream\")"
	case correlate.UpstreamFIN:
		s = "the reset of client " + client + " follows the upstream " + up + " closing the proxy's connection with a FIN (frame " + itoa64(l.Frame) + ") by " + by +
			", with no answer: a proxy passing its upstream's failure on (Envoy's UC, upstream connection termination; HAProxy's SH, or SD during the data; nginx's \"upstream prematurely closed connection\", its stream module's \"upstream disconnected\")"
	}
	if n := cl.Bytes; n > 0 {
		s += "; the client had sent " + bytesText(n)
		if sv.HasAck && cl.HasSeq {
			if un := track.SeqDiff(cl.NextSeq, sv.AckHi); un > 0 {
				s += ", " + bytesText(un) + " of it not yet acknowledged by the proxy"
			}
		}
	}
	return cb, s
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
