package main

import (
	"fmt"

	"github.com/rstwhy/rstwhy/capture"
)

// linkTypeNames are tcpdump's LINKTYPE_ names (www.tcpdump.org/linktypes.html)
// of link types met in captures rstwhy does not decode: what a user looks
// up, where gopacket's names are its own or "UnknownLinkType".
var linkTypeNames = map[capture.LinkType]string{
	3: "AX25", 6: "IEEE802_5", 7: "ARCNET_BSD", 8: "SLIP", 50: "PPP_HDLC", 100: "ATM_RFC1483",
	104: "C_HDLC", 105: "IEEE802_11", 107: "FRELAY", 113: "LINUX_SLL", 114: "LTALK", 117: "PFLOG",
	119: "IEEE802_11_PRISM", 122: "IP_OVER_FC", 123: "SUNATM", 127: "IEEE802_11_RADIO",
	129: "ARCNET_LINUX", 138: "APPLE_IP_OVER_IEEE1394", 139: "MTP2_WITH_PHDR", 140: "MTP2",
	141: "MTP3", 142: "SCCP", 143: "DOCSIS", 144: "LINUX_IRDA",
	147: "USER0", 148: "USER1", 149: "USER2", 150: "USER3", 151: "USER4", 152: "USER5",
	153: "USER6", 154: "USER7", 155: "USER8", 156: "USER9", 157: "USER10", 158: "USER11",
	159: "USER12", 160: "USER13", 161: "USER14", 162: "USER15",
	163: "IEEE802_11_AVS", 177: "LINUX_LAPD", 187: "BLUETOOTH_HCI_H4", 189: "USB_LINUX",
	192: "PPI", 195: "IEEE802_15_4_WITHFCS", 197: "ERF", 201: "BLUETOOTH_HCI_H4_WITH_PHDR",
	220: "USB_LINUX_MMAPPED", 227: "CAN_SOCKETCAN", 239: "NFLOG", 249: "USBPCAP",
	251: "BLUETOOTH_LE_LL", 253: "NETLINK", 254: "BLUETOOTH_LINUX_MONITOR", 258: "PKTAP",
}

// linkTypeLabel is "127 (IEEE802_11_RADIO)", or the number alone.
func linkTypeLabel(l capture.LinkType) string {
	if name, ok := linkTypeNames[l]; ok {
		return fmt.Sprintf("%d (%s)", l, name)
	}
	return fmt.Sprintf("%d", l)
}
