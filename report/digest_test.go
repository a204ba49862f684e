package report

import (
	"bytes"
	"context"
	"testing"

	"github.com/rstwhy/rstwhy/correlate"
	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/storm"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

// TestDigestStorm: 5,000 RSTs from one host to one service within
// milliseconds are one group, whose example has its ladder.
func TestDigestStorm(t *testing.T) {
	var pc bytes.Buffer
	if err := storm.Write(&pc, 5000, false); err != nil {
		t.Fatal(err)
	}
	d := NewDigest()
	var corr correlate.Correlator
	pipeline.Run(context.Background(), &pc, pipeline.Options{}, func(r *track.Reset) {
		rec := NewRecord("storm.pcap", r, heuristics.Explain(r))
		rec.Correlate(&corr)
		d.Add(&rec)
	})
	if d.Total != 5000 {
		t.Fatalf("%d resets", d.Total)
	}
	gs := d.Groups()
	if len(gs) != 1 || gs[0].Count != 5000 || len(gs[0].Frames) != MaxFrames {
		t.Fatalf("%d groups, the first of %d with %d frames: want one of 5000", len(gs), gs[0].Count, len(gs[0].Frames))
	}
	if g := gs[0]; g.Example.Ladder == nil || g.Example.Frame != g.FirstFrame || g.Conns != 1000 {
		t.Fatalf("example frame %d (first %d), ladder %v, %d connections", g.Example.Frame, g.FirstFrame, g.Example.Ladder != nil, g.Conns)
	}
}

// TestDigestLab: every lab reset is counted once, in one group; follow-ups
// are in their first reset's group; groups do not mix causes.
func TestDigestLab(t *testing.T) {
	d := NewDigest()
	n := 0
	for _, name := range testcap.Lab() {
		var corr correlate.Correlator
		for _, r := range recordsOf(t, name) {
			r.Correlate(&corr)
			d.Add(&r)
			n++
		}
	}
	sum := 0
	for _, g := range d.Groups() {
		sum += g.Count
		if g.Example.Cause != g.Cause && g.Followups < g.Count {
			t.Errorf("group %d of %s has an example of %s", g.ID, g.Cause, g.Example.Cause)
		}
		if g.FirstFrame > g.LastFrame {
			t.Errorf("group %d: frames %d..%d", g.ID, g.FirstFrame, g.LastFrame)
		}
	}
	if sum != n || d.Total != n {
		t.Fatalf("%d records, %d in groups, %d counted", n, sum, d.Total)
	}
	causes := 0
	for _, c := range Sorted(d.ByCause) {
		causes += c.Count
	}
	if causes != n {
		t.Fatalf("by cause %d, want %d", causes, n)
	}
}

// TestDigestBounded: a correlate group a reset (the common case) does not
// make the digest grow with the resets; a follow-up still finds its
// first reset's group.
func TestDigestBounded(t *testing.T) {
	d := NewDigest()
	base := Record{Capture: "c.pcap", Cause: "no_socket", Resetter: "server", Client: "10.0.0.1:1", Server: "10.0.0.2:80",
		Time: "2026-01-01T00:00:00.000000000Z"}
	for i := range int64(5 * recentGroups) {
		r := base
		r.Frame, r.Group = i+1, i+1
		d.Add(&r)
	}
	if n := len(d.byGroup) + len(d.byGroupOld); n > 2*recentGroups {
		t.Fatalf("%d correlate groups remembered after %d resets", n, 5*recentGroups)
	}
	first := base
	first.Cause, first.Resetter, first.Frame, first.Group = "linger_abort", "client", 1e6, 1e6
	d.Add(&first)
	f := base
	f.Followup, f.Frame, f.Group = true, 1e6+1, 1e6
	g := d.Add(&f)
	if g == nil || g.Cause != "linger_abort" || g.Followups != 1 {
		t.Fatalf("the follow-up went to %+v, not its first reset's group", g)
	}
}
