package heuristics

import (
	"context"
	"os"
	"testing"

	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

// TestLabStacksAreLinux: every side of the lab that sent a SYN was a
// Linux kernel, and its options say so.
func TestLabStacksAreLinux(t *testing.T) {
	n := 0
	for _, name := range testcap.Lab() {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		pipeline.Run(context.Background(), f, pipeline.Options{}, func(r *track.Reset) {
			for i := range r.Conn.Sides {
				s := &r.Conn.Sides[i]
				if s.SYNFrame == 0 || initialTTL(s.MaxTTL) != 64 {
					continue
				}
				n++
				if got := stackOf(s); got != StackLinux {
					t.Errorf("%s frame %d: side %d (%s) is stack %d, want Linux", name, r.Packet.Frame, i, layoutString(s.Layout), got)
				}
			}
		})
		f.Close()
	}
	if n == 0 {
		t.Fatal("no SYN in the lab")
	}
}

func TestLayoutString(t *testing.T) {
	l := uint64(2) | 4<<8 | 8<<16 | 1<<24 | 3<<32
	if got := layoutString(l); got != "mss,sackOK,TS,nop,wscale" {
		t.Fatalf("got %q", got)
	}
}
