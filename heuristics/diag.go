package heuristics

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// The initial "TCP Failure Causes" of draft-boucadair-tcpm-rst-diagnostic-
// payload (the IETF's format for a reset's reason in its payload), for
// the compact format's codes with PEN 0. A draft: codes past these are
// named by number.
var diagCauses = [...]string{
	1: "illegal option", 2: "desynchronized state", 3: "new data received after CLOSE",
	4: "ABORT", 5: "unexpected ACK in a non-synchronized state", 6: "unexpected SYN in the window",
	7: "unexpected security compartment", 8: "malformed message", 9: "not authorized",
	10: "resource exceeded", 11: "network failure", 12: "reset received from the peer",
	13: "destination unreachable", 14: "connection timeout", 15: "too much outstanding data",
	16: "unacceptable performance", 17: "middlebox interference",
}

// DiagPayload reads a RST's payload in the draft's two formats: compact,
// magic 0x33AA, a 16-bit reason code and a 32-bit private enterprise
// number (8 bytes in all; PEN 0: the IETF registry's code), or free
// description, magic 0xF317 and UTF-8 text. ok is false for any other
// payload, and for a malformed one, which the draft says to ignore.
func DiagPayload(b []byte) (s string, ok bool) {
	if len(b) < 2 {
		return "", false
	}
	switch binary.BigEndian.Uint16(b) {
	case 0x33AA:
		if len(b) != 8 {
			return "", false
		}
		code, pen := binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:])
		switch {
		case code == 0:
			return "", false // reserved
		case pen != 0:
			return fmt.Sprintf("reason code %d of the vendor with private enterprise number %d", code, pen), true
		case int(code) < len(diagCauses):
			return fmt.Sprintf("reason code %d: %s", code, diagCauses[code]), true
		}
		return fmt.Sprintf("reason code %d", code), true
	case 0xF317:
		if !utf8.Valid(b[2:]) || len(b) == 2 {
			return "", false
		}
		return fmt.Sprintf("reason %q", Printable(b[2:], 200)), true
	}
	return "", false
}
