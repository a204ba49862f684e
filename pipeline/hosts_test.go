package pipeline

import (
	"testing"

	"github.com/rstwhy/rstwhy/decode"
)

// TestIPIDKin: a RST that claims another address but carries the next IP
// ID of the same counter, with the same TTL and soon after, names the
// earlier RST; one from the same address, another TTL, an ID far off, a
// zero ID or IPv6 does not.
func TestIPIDKin(t *testing.T) {
	addr := func(b byte) [16]byte { return [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: b} }
	rst := func(frame int64, src byte, id uint16, ttl uint8, ts int64) *decode.Packet {
		return &decode.Packet{Frame: frame, TS: ts, Src: addr(src), IPID: id, TTL: ttl, Flags: decode.RST | decode.ACK}
	}
	for _, tt := range []struct {
		name string
		p    *decode.Packet
		want int64
	}{
		{"next ID, other address", rst(2, 2, 101, 255, 1e9), 1},
		{"same address", rst(2, 1, 101, 255, 1e9), 0},
		{"other TTL", rst(2, 2, 101, 254, 1e9), 0},
		{"ID far off", rst(2, 2, 101+kinIDs, 255, 1e9), 0},
		{"ID before", rst(2, 2, 99, 255, 1e9), 0},
		{"too late", rst(2, 2, 101, 255, 1e9+kinTime+1), 0},
		{"zero ID", rst(2, 2, 0, 255, 1e9), 0},
	} {
		var h hostTTLs
		h.see(rst(1, 1, 100, 255, 1e9))
		h.see(tt.p)
		if tt.p.IPIDKin != tt.want {
			t.Errorf("%s: IPIDKin %d, want %d", tt.name, tt.p.IPIDKin, tt.want)
		}
	}
	// The counter wraps: 65535 then 2.
	var h hostTTLs
	h.see(rst(1, 1, 65535, 64, 0))
	p := rst(2, 2, 2, 64, 0)
	h.see(p)
	if p.IPIDKin != 1 {
		t.Errorf("across the wrap: IPIDKin %d, want 1", p.IPIDKin)
	}
}
