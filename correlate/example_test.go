package correlate_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/rstwhy/rstwhy/correlate"
)

func Example() {
	c := &correlate.Correlator{
		Emit: func(g correlate.Group) {
			fmt.Printf("group %d: %q, %d resets, frames %d-%d\n", g.ID, g.Kind, g.Count, g.FirstFrame, g.LastFrame)
		},
	}
	srv := netip.MustParseAddrPort("10.0.0.1:80")
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 4 { // the server exits: four connections reset at once
		peer := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(50000+i))
		a := c.Add(correlate.Reset{Frame: int64(i + 1), TS: start.Add(time.Duration(i) * 50 * time.Microsecond).UnixNano(),
			Resetter: srv, Peer: peer, Server: srv, Cause: "linger_abort"})
		fmt.Printf("frame %d: group %d %q\n", i+1, a.Group, a.Kind)
	}
	c.Flush()
	// Output:
	// frame 1: group 1 ""
	// frame 2: group 1 ""
	// frame 3: group 1 "storm"
	// frame 4: group 1 "storm"
	// group 1: "storm", 4 resets, frames 1-4
}
