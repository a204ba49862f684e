package capture

// LinkType is a capture's link-layer header type, as the file's header
// or interface description block says (tcpdump's LINKTYPE_ numbers,
// www.tcpdump.org/linktypes.html). Its values and String are those of
// gopacket's layers.LinkType (TestLinkTypeMatchesGopacket), without
// importing layers: that package's init fills tables of every
// EtherType and PPP type, some 5 MB touched in every run of a program
// that decodes none of them.
type LinkType uint16

// The link types rstwhy names (see decode.Supported for those it reads).
const (
	LinkTypeNull           LinkType = 0
	LinkTypeEthernet       LinkType = 1
	LinkTypePPP            LinkType = 9
	LinkTypeFDDI           LinkType = 10
	LinkTypePPP_HDLC       LinkType = 50
	LinkTypeRaw            LinkType = 101
	LinkTypeC_HDLC         LinkType = 104
	LinkTypeIEEE802_11     LinkType = 105
	LinkTypeLoop           LinkType = 108
	LinkTypeLinuxSLL       LinkType = 113
	LinkTypeIEEE80211Radio LinkType = 127
	LinkTypeIPv4           LinkType = 228
	LinkTypeIPv6           LinkType = 229
	LinkTypeLinuxSLL2      LinkType = 276
)

// linkTypeNames are gopacket's names, which the JSON's skipped_frames
// has always used.
var linkTypeNames = map[LinkType]string{
	0: "Null", 1: "Ethernet", 9: "PPP", 10: "FDDI", 12: "Raw", 101: "Raw", 105: "802.11",
	108: "Loop", 113: "Linux SLL", 117: "PFLog", 119: "Prism", 127: "RadioTap", 220: "USB",
	276: "Linux SLL2",
}

// String is gopacket's name of l, or "UnknownLinkType".
func (l LinkType) String() string {
	if s, ok := linkTypeNames[l]; ok {
		return s
	}
	return "UnknownLinkType"
}
