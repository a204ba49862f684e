package capture

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestLinkTypeMatchesGopacket: LinkType stands in for gopacket's
// layers.LinkType in the product; its names and the constants' values
// must stay gopacket's.
func TestLinkTypeMatchesGopacket(t *testing.T) {
	for i := range 1 << 16 {
		if got, want := LinkType(i).String(), layers.LinkType(i).String(); got != want {
			t.Errorf("link type %d: %q, gopacket says %q", i, got, want)
		}
	}
	for _, c := range []struct {
		ours   LinkType
		theirs layers.LinkType
	}{
		{LinkTypeNull, layers.LinkTypeNull}, {LinkTypeEthernet, layers.LinkTypeEthernet},
		{LinkTypePPP, layers.LinkTypePPP}, {LinkTypeFDDI, layers.LinkTypeFDDI},
		{LinkTypePPP_HDLC, layers.LinkTypePPP_HDLC}, {LinkTypeRaw, layers.LinkTypeRaw},
		{LinkTypeC_HDLC, layers.LinkTypeC_HDLC}, {LinkTypeIEEE802_11, layers.LinkTypeIEEE802_11},
		{LinkTypeLoop, layers.LinkTypeLoop}, {LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL},
		{LinkTypeIEEE80211Radio, layers.LinkTypeIEEE80211Radio}, {LinkTypeIPv4, layers.LinkTypeIPv4},
		{LinkTypeIPv6, layers.LinkTypeIPv6}, {LinkTypeLinuxSLL2, layers.LinkTypeLinuxSLL2},
	} {
		if uint16(c.ours) != uint16(c.theirs) {
			t.Errorf("%v is %d, gopacket's %d", c.theirs, c.ours, c.theirs)
		}
	}
}
