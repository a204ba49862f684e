package scan

import "testing"

func TestCapturePoint(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"eth0-20261125-055500.pcap", "eth0-20261126-000000.pcap"},
		{"eth0-20261125-055500.pcap.gz", "eth0-20261125-060000.pcap.gz"},
		{"dc1/eth0.pcap1", "dc1/eth0.pcap27"},
	} {
		if CapturePoint(tc.a) != CapturePoint(tc.b) {
			t.Errorf("%s and %s: %s, %s; want one capture point", tc.a, tc.b, CapturePoint(tc.a), CapturePoint(tc.b))
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"dc1/eth0-20261125.pcap", "dc2/eth0-20261125.pcap"},
		{"eth-20261125.pcap", "lo-20261125.pcap"},
		{"x-1.pcap", "x-1.pcap.gz"},
	} {
		if CapturePoint(tc.a) == CapturePoint(tc.b) {
			t.Errorf("%s and %s: both %s; want two capture points", tc.a, tc.b, CapturePoint(tc.a))
		}
	}
}

// TestRenumber: frames after the boundary become this file's, frames at
// or before it are named as the previous file's.
func TestRenumber(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"frame 130: RST+ACK", "frame 30: RST+ACK"},
		{"its seq is the ack of frame 99: it answers it", "its seq is the ack of frame 99 of a.pcap: it answers it"},
		{"frames 101-105 (5)", "frames 1-5 (5)"},
		{"frames 9, 11, 13", "frames 9, 11, 13 of a.pcap"},
		{"frame 100; frame 101", "frame 100 of a.pcap; frame 1"},
		{"100.6 ms after the previous packet (frame 113)", "100.6 ms after the previous packet (frame 13)"},
		{"no frame here, 120 bytes", "no frame here, 120 bytes"},
	} {
		if got := Renumber(tc.in, 100, "a.pcap"); got != tc.want {
			t.Errorf("Renumber(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
