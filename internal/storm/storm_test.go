package storm

import (
	"bytes"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestWrite: the capture reads back with pcapgo, one record a RST plus
// the handshake on one connection.
func TestWrite(t *testing.T) {
	for _, oneConn := range []bool{true, false} {
		var buf bytes.Buffer
		if err := Write(&buf, 100, oneConn); err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if r.LinkType() != layers.LinkTypeEthernet {
			t.Errorf("link type %v", r.LinkType())
		}
		n := 0
		for {
			data, _, err := r.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != 54 {
				t.Fatalf("record of %d bytes", len(data))
			}
			n++
		}
		want := 100
		if oneConn {
			want += 3
		}
		if n != want {
			t.Errorf("oneConn=%v: %d records, want %d", oneConn, n, want)
		}
	}
}
