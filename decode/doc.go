// Package decode turns captured frames into TCP segments: link layers
// (Ethernet with any depth of 802.1Q/QinQ tags, Linux cooked SLL and SLL2,
// raw IPv4/IPv6, BSD loopback, FDDI/LLC, PPP/PPPoE, 802.11, NFLOG,
// PKTAP), IPv4 and IPv6 with extension headers, tunnels (MPLS, GRE
// including Aruba's, IP in IP, Teredo, VXLAN) and the TCP header with its
// options. It is the second stage of rstwhy's pipeline.
//
// Start with Decoder.Decode, which fills a reused Packet in place without
// allocating. Supported lists the link types it handles (the capture
// reader's Keep); FlowHash gives both directions of a connection the same
// hash, for the tracker's table and the split over workers. For a RST,
// Packet.Trailer keeps what the frame holds past the IP datagram, where
// an F5 BIG-IP's capture writes why it reset: F5ResetCause reads it.
//
// What it cannot use is an error, never a panic: ErrNotTCP for frames
// that carry no TCP segment, ErrUnsupportedLink for a link it does not
// know, and any other error for a damaged frame. Decoder.Last says what a
// frame carried instead of TCP, so callers count it by encapsulation and
// nothing goes silently undecoded.
//
// Not a goal: reassembly, or any state across packets; lengths come from
// the IP and TCP headers, never the captured length, so snapped captures
// give exact sequence arithmetic.
package decode
