package heuristics

import "testing"

func TestDiagPayload(t *testing.T) {
	for _, tt := range []struct {
		in   []byte
		want string
		ok   bool
	}{
		{[]byte{0x33, 0xaa, 0, 1, 0, 0, 0, 0}, "reason code 1: illegal option", true},
		{[]byte{0x33, 0xaa, 0, 0x0e, 0, 0, 0, 0}, "reason code 14: connection timeout", true},
		{[]byte{0x33, 0xaa, 0x04, 0xde, 0, 0, 0x07, 0xd9}, "reason code 1246 of the vendor with private enterprise number 2009", true},
		{[]byte{0x33, 0xaa, 0, 0, 0, 0, 0, 0}, "", false}, // code 0 is reserved
		{[]byte{0x33, 0xaa, 0, 1, 0, 0, 0}, "", false},    // compact is 8 bytes
		{[]byte{0xf3, 0x17, 'i', 'd', 'l', 'e'}, `reason "idle"`, true},
		{[]byte{0xf3, 0x17, 0xff}, "", false}, // not UTF-8
		{[]byte("Access Denied"), "", false},
	} {
		got, ok := DiagPayload(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("DiagPayload(% x) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPrintable(t *testing.T) {
	if got := Printable([]byte("a\x00b\\\"c"), 10); got != `a\x00b\x5c"c` {
		t.Errorf("got %q", got)
	}
	if got := Printable([]byte("abcdef"), 3); got != "abc..." {
		t.Errorf("got %q", got)
	}
}
