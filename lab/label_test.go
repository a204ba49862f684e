package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/internal/truth"
)

func TestCauseOf(t *testing.T) {
	str := func(s string) *string { return &s }
	plain := &scenario{}
	zw := &scenario{causes: map[string]string{"TCP_STATE": "zero_window_abort"}}
	tests := []struct {
		name   string
		s      *scenario
		reason *string
		fr     truth.Frame
		want   string
		why    string
	}{
		{"refused", plain, str("NO_SOCKET"), truth.Frame{Flags: "R.", Seq: 0}, "connection_refused", "RST+ACK seq 0 answers a SYN"},
		{"no-socket", plain, str("NO_SOCKET"), truth.Frame{Flags: "R", Seq: 7}, "no_socket", "a bare RST answers a segment with ACK"},
		{"middlebox", plain, nil, truth.Frame{Flags: "R"}, "middlebox_reset", "no kernel stack sent it"},
		{"override", zw, str("TCP_STATE"), truth.Frame{Flags: "R."}, "zero_window_abort", "the scenario knows the window was zero"},
		{"linger", plain, str("TCP_STATE"), truth.Frame{Flags: "R."}, "linger_abort", "default for TCP_STATE"},
		{"invalid", plain, str("TCP_RFC7323_PAWS"), truth.Frame{Flags: "R"}, "invalid_segment", "unacceptable segment"},
		{"new-reason", plain, str("MPTCP_RST_EMPTCP"), truth.Frame{Flags: "R"}, "unknown", "no mapping yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := causeOf(tt.s, "v4-eth-client", tt.reason, tt.fr); got != tt.want {
				t.Errorf("causeOf = %q, want %q: %s", got, tt.want, tt.why)
			}
		})
	}
}

// TestPick checks that a bare RST never takes an abort's event even when the
// per-CPU trace lists the abort first.
func TestPick(t *testing.T) {
	a := netip.MustParseAddrPort("10.200.1.1:5000")
	b := netip.MustParseAddrPort("10.200.1.2:40000")
	evs := []*event{
		{src: a, dst: b, reason: "NO_SOCKET"},
		{src: a, dst: b, reason: "TCP_ABORT_ON_CLOSE"},
	}
	if e := pick(evs, a, b, "R."); e == nil || e.reason != "TCP_ABORT_ON_CLOSE" {
		t.Errorf("RST+ACK took %v, want the abort", e)
	}
	if e := pick(evs, a, b, "R"); e == nil || e.reason != "NO_SOCKET" {
		t.Errorf("RST took %v, want NO_SOCKET", e)
	}
	if e := pick(evs, a, b, "R"); e != nil {
		t.Errorf("third pick took %v, want none left", e)
	}
}

func TestCopyOf(t *testing.T) {
	t0 := time.Unix(0, 0)
	first := truth.Frame{Frame: 5, Src: "10.200.2.2", Dst: "10.200.1.2", Sport: 5000, Dport: 40000, Seq: 9, Flags: "R", TTL: 64, Time: t0}
	again := first
	again.Frame, again.TTL, again.Time = 6, 63, t0.Add(20*time.Microsecond)
	if c, ok := copyOf([]truth.Frame{first}, again); !ok || c.Frame != 5 {
		t.Errorf("forwarded copy not found")
	}
	resent := first
	resent.Frame, resent.Time = 9, t0.Add(time.Second)
	if _, ok := copyOf([]truth.Frame{first}, resent); ok {
		t.Errorf("a second RST with the same TTL a second later is not a copy")
	}
}

// TestPickListener checks that a listener's reset, traced with dest
// 0.0.0.0:0, is matched by its source.
func TestPickListener(t *testing.T) {
	srv := netip.MustParseAddrPort("10.200.1.1:5000")
	cli := netip.MustParseAddrPort("10.200.1.2:40000")
	evs := []*event{{src: srv, dst: netip.MustParseAddrPort("0.0.0.0:0"), reason: "TCP_FLAGS"}}
	if e := pick(evs, cli, srv, "R"); e != nil {
		t.Errorf("the other direction took %v", e)
	}
	if e := pick(evs, srv, cli, "R"); e == nil || e.reason != "TCP_FLAGS" {
		t.Errorf("listener reset took %v, want TCP_FLAGS", e)
	}
}
