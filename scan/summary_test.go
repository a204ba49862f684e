package scan

import (
	"fmt"
	"testing"

	"github.com/rstwhy/rstwhy/report"
)

// TestTally: follow-ups count by cause only; the top lists keep the
// largest exactly while the distinct keys fit, and past them stay
// bounded and say they are approximate.
func TestTally(t *testing.T) {
	tl := Tally{Keep: 10}
	rec := func(server, cause string, followup bool) *report.Record {
		return &report.Record{Time: "2026-11-25T05:48:32.958872217Z", Client: "10.0.0.9:40000", Server: server,
			Resetter: "server", Cause: cause, Followup: followup}
	}
	for range 50 {
		tl.Record(rec("10.0.0.1:443", "linger_abort", false))
	}
	tl.Record(rec("10.0.0.1:443", "linger_abort", true))
	for i := range 15 {
		tl.Record(rec(fmt.Sprintf("10.0.1.%d:80", i), "no_socket", false))
	}
	s := tl.Result()
	if s.Resets != 66 || s.ByCause["followup"] != 1 || s.ByCause["linger_abort"] != 50 || s.ByHour["2026-11-25T05"] != 65 {
		t.Errorf("counts: resets %d, by cause %v, by hour %v", s.Resets, s.ByCause, s.ByHour)
	}
	if s.ByServer[0] != (Count{"10.0.0.1:443", 50}) || s.Approximate {
		t.Errorf("by server %v, approximate %v; want 10.0.0.1:443 first with 50, exact", s.ByServer[:1], s.Approximate)
	}
	for i := range 100 {
		tl.Record(rec(fmt.Sprintf("10.0.2.%d:80", i), "no_socket", false))
	}
	s = tl.Result()
	if len(tl.servers.n) > 2*tl.Keep || !s.Approximate || s.ByServer[0] != (Count{"10.0.0.1:443", 50}) {
		t.Errorf("past Keep: %d keys held, approximate %v, top %v", len(tl.servers.n), s.Approximate, s.ByServer[:1])
	}
	if s.TopTalkers[0].Key != "10.0.0.9 -> 10.0.0.1" || s.ByResetter[0].Key != "10.0.0.1" {
		t.Errorf("talkers %v, resetters %v", s.TopTalkers[:1], s.ByResetter[:1])
	}
}
