package capture

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// The reader never looks inside a record: the tests' frames only need
// distinct bytes of realistic lengths.

// ether prepends an Ethernet header.
func ether(_ testing.TB, typ layers.EthernetType, rest []byte) []byte {
	h := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
	return append(binary.BigEndian.AppendUint16(h, uint16(typ)), rest...)
}

// ip4TCP and ip6TCP stand for an IPv4 and an IPv6 TCP segment with five
// bytes of payload: 65 and 85 bytes.
func ip4TCP(testing.TB) []byte { return pattern(0x45, 65) }
func ip6TCP(testing.TB) []byte { return pattern(0x60, 85) }

func pattern(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}

func mutate(b []byte, f func([]byte)) []byte {
	c := bytes.Clone(b)
	f(c)
	return c
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
