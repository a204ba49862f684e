package heuristics

import (
	"testing"
	"time"
)

// TestSince: durations in evidence always carry their unit.
func TestSince(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{250 * time.Microsecond, "250 µs"},
		{12500 * time.Microsecond, "12.5 ms"},
		{time.Second, "1 s"},
		{1500 * time.Millisecond, "1.50 s"},
		{60 * time.Second, "60 s"},
	} {
		if got := since(0, int64(tt.d)); got != tt.want {
			t.Errorf("since(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
