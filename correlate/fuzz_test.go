package correlate_test

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"testing"

	"github.com/rstwhy/rstwhy/correlate"
)

// decodeResets turns fuzz bytes into a capture: a header byte choosing the
// caps, then 6 bytes a reset. Hosts, peers, ports and causes come from few
// values so that relations hold often.
func decodeResets(b []byte) (*correlate.Correlator, []correlate.Reset) {
	c := &correlate.Correlator{}
	if len(b) == 0 {
		return c, nil
	}
	h := b[0]
	b = b[1:]
	c.MaxOpen = 1 + int(h&7)    // 1..8: eviction all the time
	c.MaxKept = 1 + int(h>>3&3) // 1..4
	c.MinStorm = int(h >> 5 & 3)
	causes := []string{"unread_data_close", "linger_abort", "connection_refused", "no_socket"}
	var rs []correlate.Reset
	ts := t0
	for len(b) >= 6 {
		r := b[:6]
		b = b[6:]
		// Signed steps from a nanosecond to minutes, and now and then an
		// end of int64.
		switch shift := r[1] & 63; {
		case shift >= 40:
			ts = []int64{math.MinInt64, math.MaxInt64, 0}[shift%3]
		default:
			ts += int64(int8(r[0])) << shift
		}
		host := netip.AddrFrom4([4]byte{10, 0, 0, r[2] & 3})
		peer := netip.AddrFrom4([4]byte{192, 0, 2, r[2] >> 2 & 3})
		port := uint16(r[3] & 15)
		res := netip.AddrPortFrom(host, port)
		p := netip.AddrPortFrom(peer, 50000+uint16(r[3]>>4))
		reset := correlate.Reset{Frame: int64(len(rs) + 1), TS: ts, Resetter: res, Peer: p, Server: res,
			Cause: causes[r[4]&3], AnswersSYN: r[4]&4 != 0}
		if r[2]&16 != 0 { // the client resets
			reset.Resetter, reset.Peer = p, res
		}
		if r[4]&8 != 0 && len(rs) > 0 {
			reset.Followup = true
			reset.FollowupOf = rs[len(rs)-1-int(r[5])%len(rs)].Frame
		}
		rs = append(rs, reset)
	}
	return c, rs
}

func FuzzCorrelate(f *testing.F) {
	seed := func(rs ...[6]byte) []byte {
		b := []byte{0x05}
		for _, r := range rs {
			b = append(b, r[:]...)
		}
		return b
	}
	const us, ms, sec = 10, 20, 30 // shifts: about a microsecond, a millisecond, a second
	var storm, scan, repeat, followups, back [][6]byte
	for i := range 9 {
		storm = append(storm, [6]byte{100, us, 1, byte(i << 4), 1, 0})
		scan = append(scan, [6]byte{2, ms, 2 | 4<<2, byte(i), 2 | 4, 0})
		repeat = append(repeat, [6]byte{56, sec, 3, 0x31, 0, 0}) // ~ a minute apart
		followups = append(followups, [6]byte{1, ms, byte(i & 3), byte(i), byte(i&1) << 3, 1})
		back = append(back, [6]byte{byte(int8(-100 + 25*i)), ms, 1, byte(i), 1, 0})
	}
	back = append(back, [6]byte{0, 41, 1, 1, 1, 0}, [6]byte{0, 40, 1, 2, 1, 0})
	for _, s := range [][][6]byte{storm, scan, repeat, followups, back, append(append(storm, scan...), repeat...)} {
		f.Add(seed(s...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, rs := decodeResets(b)
		maxOpen := c.MaxOpen
		var groups []correlate.Group
		c.Emit = func(g correlate.Group) { groups = append(groups, g) }
		as := make([]correlate.Assignment, len(rs))
		for i, r := range rs {
			as[i] = c.Add(r)
			if open := c.Stats().Open; open > maxOpen {
				t.Fatalf("reset %d: %d groups open, cap %d", i, open, maxOpen)
			}
		}
		c.Flush()
		slices.SortFunc(groups, func(a, b correlate.Group) int { return cmp.Compare(a.ID, b.ID) })
		checkGroups(t, rs, as, groups)

		// The same capture with Emit nil: the kept groups, the singletons
		// and the dropped resets add up.
		k, _ := decodeResets(b)
		for _, r := range rs {
			k.Add(r)
		}
		kept := k.Flush()
		s := k.Stats()
		total := s.Singletons + s.DroppedResets
		for i, g := range kept {
			total += g.Count
			if g.ID < 1 || g.ID > int64(len(groups)) {
				t.Fatalf("kept group %d: no such group", g.ID)
			}
			if g.Count < 2 || i > 0 && g.ID <= kept[i-1].ID || g != groups[g.ID-1] {
				t.Errorf("kept group %+v: a singleton, out of order, or unlike the emitted %+v", g, groups[g.ID-1])
			}
		}
		if total != int64(len(rs)) || len(kept) > k.MaxKept || s.Open != 0 {
			t.Errorf("kept %d groups (MaxKept %d), Stats %+v: resets do not add up to %d", len(kept), k.MaxKept, s, len(rs))
		}
	})
}
