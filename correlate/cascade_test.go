package correlate

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/decode"
)

func TestCascade(t *testing.T) {
	// A proxy's client sent its request at frame 10; the proxy opened its
	// upstream connection at frame 12, the upstream reset it at frame 20
	// (1.000 s), and the proxy reset its client at frame 22, 3 ms later,
	// having sent it nothing.
	up := func(edit func(u *decode.Upstream)) *decode.Upstream {
		u := &decode.Upstream{Event: decode.UpstreamRST, Frame: 20, TS: 1e9, OpenFrame: 12, OpenTS: 0.5e9, LastSYNTS: 0.5e9, SYNs: 1,
			Client: netip.MustParseAddrPort("10.1.0.1:40000"), Server: netip.MustParseAddrPort("10.1.0.9:8080")}
		if edit != nil {
			edit(u)
		}
		return u
	}
	down := func(edit func(d *Downstream)) Downstream {
		d := Downstream{Frame: 22, TS: 1.003e9, ByServer: true, RequestFrame: 10}
		if edit != nil {
			edit(&d)
		}
		return d
	}
	tests := []struct {
		name  string
		d     Downstream
		up    *decode.Upstream
		event string // "" for no link
		why   string
	}{
		{"rst", down(nil), up(nil), UpstreamRST, "the Envoy case: request unanswered, upstream reset, client reset"},
		{"refused", down(nil), up(func(u *decode.Upstream) { u.Event = decode.UpstreamRefused }), UpstreamRefused, "RST to the SYN"},
		{"timeout", down(nil), up(func(u *decode.Upstream) { u.Event, u.Frame, u.TS = decode.UpstreamTimeout, 12, 0.5e9 }), UpstreamTimeout, "the SYN's frame is the event's"},
		{"fin", down(nil), up(func(u *decode.Upstream) { u.Event = decode.UpstreamFIN }), UpstreamFIN, "FIN with no answer"},
		{"answered after", down(func(d *Downstream) { d.ServerDataFrame, d.ServerDataTS = 21, 1.0005e9 }), up(nil), UpstreamRST, "the proxy's 502 came after the upstream failed"},
		{"answered late", down(func(d *Downstream) { d.ServerDataFrame, d.ServerDataTS, d.TS = 21, 1.3e9, 1.8e9 }), up(nil), "", "300 ms after the refusal: the proxy's own timer (a tarpit), not the failure"},
		{"reset late", down(func(d *Downstream) { d.TS = 1.5e9 }), up(nil), "", "nothing for 500 ms, then the reset"},
		{"fin then late reset", down(func(d *Downstream) { d.ServerFINFrame, d.ServerFINTS, d.TS = 21, 1.0002e9, 1.5e9 }), up(nil), UpstreamRST, "Go: FIN at once, the reset 500 ms later"},
		{"timeout late", down(func(d *Downstream) { d.TS = 1.5e9 }), up(func(u *decode.Upstream) { u.Event, u.Frame, u.TS = decode.UpstreamTimeout, 12, 0.5e9 }), UpstreamTimeout, "a timeout's moment is not on the wire: no reaction time"},
		{"no candidate", down(nil), nil, "", "nothing failed upstream"},
		{"by client", down(func(d *Downstream) { d.ByServer = false }), up(nil), "", "a client's reset is its own (Envoy's DC)"},
		{"followup", down(func(d *Downstream) { d.Followup = true }), up(nil), "", "only a connection's first reset"},
		{"no request", down(func(d *Downstream) { d.RequestFrame = 0 }), up(nil), "", "the client asked nothing of the proxy"},
		{"opened before", down(func(d *Downstream) { d.RequestFrame = 13 }), up(nil), "", "the upstream connection was not opened for this request"},
		{"opened at accept", down(func(d *Downstream) { d.AcceptFrame, d.AcceptTS, d.RequestFrame = 11, 0.4997e9, 13 }), up(nil), UpstreamRST, "a TCP proxy connects as it accepts, 0.3 ms after the client's handshake, before its data"},
		{"opened long after accept", down(func(d *Downstream) { d.AcceptFrame, d.AcceptTS, d.RequestFrame = 11, 0.3e9, 13 }), up(nil), "", "200 ms after the handshake and before the request: another client's connection, or a pool's"},
		{"opened before accept", down(func(d *Downstream) { d.AcceptFrame, d.AcceptTS, d.RequestFrame = 12, 0.5e9, 13 }), up(nil), "", "the upstream connection was opened before the client's handshake completed"},
		{"event after", down(func(d *Downstream) { d.Frame = 19 }), up(nil), "", "the reset came first"},
		{"answered before", down(func(d *Downstream) { d.ServerDataFrame = 15 }), up(nil), "", "the proxy answered (a 413) before the upstream failed: its reset is its own, the upstream a health check"},
		{"answered at the event", down(func(d *Downstream) { d.ServerDataFrame = 20 }), up(nil), "", "not after it"},
		{"unknown event", down(nil), up(func(u *decode.Upstream) { u.Event = 0 }), "", "no kind, no link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, ok := Cascade(tt.d, tt.up)
			if ok != (tt.event != "") || l.Event != tt.event {
				t.Fatalf("Cascade = %+v, %v; want event %q: %s", l, ok, tt.event, tt.why)
			}
			if ok && (l.Frame != tt.up.Frame || l.Delay != time.Duration(tt.d.TS-tt.up.TS) || l.Proxy != tt.up.Client || l.Upstream != tt.up.Server) {
				t.Errorf("link %+v does not carry the upstream event %+v", l, *tt.up)
			}
		})
	}
}
