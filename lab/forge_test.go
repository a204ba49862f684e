package main

import (
	"net/netip"
	"testing"

	"github.com/rstwhy/rstwhy/internal/truth"
)

// TestForgedLine: what the injector prints is what the lab reads back, and
// a logged RST matches one frame only: the same RST sent twice is two
// lines for two frames.
func TestForgedLine(t *testing.T) {
	f := forged{src: netip.MustParseAddrPort("10.200.2.2:5000"), dst: netip.MustParseAddrPort("10.200.1.2:40000"),
		seq: 4000000000, ack: 7, flags: "R.", burst: true, note: "RST 2 of 3: at base+1460"}
	g, ok := parseForged(f.String())
	if !ok || g != f {
		t.Fatalf("parseForged(%q) = %+v, %v; want %+v", f.String(), g, ok, f)
	}
	if _, ok := parseForged("ready"); ok {
		t.Errorf("a mark that is not a sent line was read as one")
	}
	log := []forged{f, f}
	fr := truth.Frame{Seq: f.seq, Ack: f.ack, Flags: f.flags}
	for i := range 2 {
		if m := matchForged(log, f.src, f.dst, fr); m == nil {
			t.Fatalf("frame %d: no match", i+1)
		}
	}
	if m := matchForged(log, f.src, f.dst, fr); m != nil {
		t.Errorf("a third frame matched two logged RSTs")
	}
	other := fr
	other.Flags = "R"
	if m := matchForged([]forged{f}, f.src, f.dst, other); m != nil {
		t.Errorf("a RST of other flags matched")
	}
}
