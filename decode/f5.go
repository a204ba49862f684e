package decode

import "encoding/binary"

// F5Cause is an F5 BIG-IP's reason for a RST it sent, as its capture
// (tcpdump -i 0.0:nnn on the BIG-IP) writes it into the Ethernet trailer
// of the RST: the "RST cause" of the trailer's medium-noise part, which
// Wireshark shows as "[F5RST: text]".
type F5Cause struct {
	// Value and Line say where in the BIG-IP's traffic manager the reset
	// was decided (F5's own numbers, shown as [0x...:line]).
	Value uint64 // 48 bits
	Line  uint16
	// Peer: the reset was decided for the peer flow, the connection on
	// the other side of the proxy ("{peer}" in F5's text).
	Peer bool
	// Text is the cause as F5 words it ("No server selected", "TCP RST
	// from remote system", ...). It aliases the trailer.
	Text []byte
}

// The layouts below are those of Wireshark's F5 Ethernet trailer
// dissector (epan/dissectors/packet-f5ethtrailer.c), which F5 wrote.
const (
	f5DPTMagic  = 0xf5deb0f5 // a new-format (DPT) trailer block
	f5DPTHdr    = 8          // magic, length, version
	f5TLVHdr    = 8          // provider, type, length, version
	f5Low       = 1          // trailer types: low, medium, high noise
	f5Med       = 2
	f5High      = 3
	f5MinSane   = 7 // a legacy trailer's length bounds
	f5MaxSane   = 140
	f5MedV4Min  = 32 // a DPT medium TLV: its fields, the cause's length byte last
	f5CauseHead = 9  // the cause's version/peer byte, 6-byte value, 2-byte line
)

// f5MedLegacyMin is, by legacy medium trailer version (1 to 3), where the
// RST cause begins: the fixed fields end with the cause's length byte.
var f5MedLegacyMin = [4]int{1: 30, 2: 31, 3: 35}

// F5ResetCause finds an F5 BIG-IP's RST cause in a frame's trailer
// (Packet.Trailer), in the legacy format (type, length, version parts;
// BIG-IP 9.4.2 and later) or the newer DPT one (magic 0xf5deb0f5, then
// TLVs).
// Like Wireshark's dissector it scans from the start and skips a byte at
// a time past what is no trailer part (padding). ok is false when there
// is no well-formed cause with printable text.
func F5ResetCause(t []byte) (c F5Cause, ok bool) {
	for o := 0; len(t)-o > 4; {
		r := t[o:]
		n := 0
		if binary.BigEndian.Uint32(r) == f5DPTMagic && len(r) >= f5DPTHdr {
			if l := int(binary.BigEndian.Uint16(r[4:])); l >= f5DPTHdr && l <= len(r) {
				if c, ok := f5DPT(r[:l]); ok {
					return c, true
				}
				n = l
			}
		}
		if n == 0 {
			typ, l, ver := r[0], int(r[1])+2, r[2]
			if typ >= f5Low && typ <= f5High && l >= f5MinSane && l <= f5MaxSane && l <= len(r) && ver <= 3 {
				var valid bool
				c, ok, valid = f5Legacy(r[:l], typ, ver)
				if ok {
					return c, true
				}
				if valid {
					n = l
				}
			}
		}
		if n == 0 {
			n = 1
		}
		o += n
	}
	return F5Cause{}, false
}

// f5Legacy reads one legacy trailer part; valid says its length fits its
// type and version (the dissector moves past it, else a byte on).
func f5Legacy(r []byte, typ, ver byte) (c F5Cause, ok, valid bool) {
	l := len(r)
	switch typ {
	case f5Low:
		switch ver {
		case 0:
			return c, false, l == 22 || l == 35
		case 1:
			return c, false, int(r[6])+7 == l
		}
		return c, false, false
	case f5High:
		return c, false, ver == 0 && l == 42
	}
	if ver == 0 {
		return c, false, l == 8 || l == 21 || l == 29
	}
	start := f5MedLegacyMin[ver]
	if l < start {
		return c, false, false
	}
	cl := int(r[start-1])
	if cl+start != l {
		return c, false, false
	}
	c, ok = f5Cause(r[start : start+cl])
	return c, ok, true
}

// f5DPT reads a DPT block (version 1) for its medium-noise TLV (provider
// 1, type 2, version 4).
func f5DPT(b []byte) (F5Cause, bool) {
	if binary.BigEndian.Uint16(b[6:]) != 1 {
		return F5Cause{}, false
	}
	for o := f5DPTHdr; len(b)-o >= f5TLVHdr; {
		tlv := b[o:]
		l := int(binary.BigEndian.Uint16(tlv[4:]))
		if l < f5TLVHdr || l > len(tlv) {
			return F5Cause{}, false
		}
		tlv = tlv[:l]
		if binary.BigEndian.Uint16(tlv) == 1 && binary.BigEndian.Uint16(tlv[2:]) == f5Med &&
			binary.BigEndian.Uint16(tlv[6:]) == 4 && l >= f5TLVHdr+f5MedV4Min {
			at := f5TLVHdr + f5MedV4Min
			cl := int(tlv[at-1])
			if cl > 0 && cl <= l-at {
				return f5Cause(tlv[at : at+cl])
			}
			return F5Cause{}, false
		}
		o += l
	}
	return F5Cause{}, false
}

// f5Cause reads a RST cause: a byte of version (7 bits, 0 is the only
// one known) and peer flag, the 48-bit value and 16-bit line, then text.
func f5Cause(b []byte) (F5Cause, bool) {
	if len(b) <= f5CauseHead || b[0]>>1 != 0 {
		return F5Cause{}, false
	}
	v := binary.BigEndian.Uint64(b[1:])
	text := b[f5CauseHead:]
	for len(text) > 0 && text[len(text)-1] == 0 {
		text = text[:len(text)-1]
	}
	if len(text) == 0 {
		return F5Cause{}, false
	}
	for _, ch := range text {
		if ch < 0x20 || ch > 0x7e {
			return F5Cause{}, false
		}
	}
	return F5Cause{Value: v >> 16, Line: uint16(v), Peer: b[0]&1 != 0, Text: text}, true
}
