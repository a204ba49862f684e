package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/rstwhy/rstwhy/internal/testcap"
)

// pcapgoSource is what both of pcapgo's readers offer.
type pcapgoSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// TestReaderMatchesPcapgo holds our reader to gopacket's pcapgo on every
// capture both can read: the same frames, times, link types and bytes. We
// read files ourselves only to report damage precisely (see read.go); on
// good files the two must not differ.
func TestReaderMatchesPcapgo(t *testing.T) {
	files := testcap.All()
	if len(files) == 0 {
		t.Skip("no captures")
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			src, links, err := openPcapgo(data)
			if err != nil {
				t.Skipf("pcapgo cannot open it: %v", err)
			}
			ours, err := NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			var n int64
			for {
				want, ci, werr := src.ReadPacketData()
				raw, gerr := ours.Next()
				if werr != nil {
					if !errors.Is(werr, io.EOF) {
						t.Logf("pcapgo stopped after %d frames: %v", n, werr)
						return
					}
					if !errors.Is(gerr, io.EOF) {
						t.Errorf("frame %d: pcapgo ended, we read %+v, %v", n+1, raw.Frame, gerr)
					}
					return
				}
				n++
				if gerr != nil {
					t.Fatalf("frame %d: pcapgo read it, we stopped: %v", n, gerr)
				}
				link := links(ci)
				if raw.Frame != n || raw.TS != ci.Timestamp.UnixNano() || uint16(raw.Link) != uint16(link) ||
					raw.OrigLen != ci.Length || !bytes.Equal(raw.Data, want) {
					t.Fatalf("frame %d differs: ours frame %d ts %d link %v len %d/%d, pcapgo ts %d link %v len %d/%d",
						n, raw.Frame, raw.TS, raw.Link, len(raw.Data), raw.OrigLen,
						ci.Timestamp.UnixNano(), link, len(want), ci.Length)
				}
			}
		})
	}
}

// openPcapgo opens data with pcapgo and says how to find each packet's
// link type.
func openPcapgo(data []byte) (pcapgoSource, func(gopacket.CaptureInfo) layers.LinkType, error) {
	if bytes.HasPrefix(data, []byte("\x0a\x0d\x0d\x0a")) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, nil, err
		}
		return r, func(ci gopacket.CaptureInfo) layers.LinkType {
			ifc, err := r.Interface(ci.InterfaceIndex)
			if err != nil {
				return 0
			}
			return ifc.LinkType
		}, nil
	}
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	return r, func(gopacket.CaptureInfo) layers.LinkType { return r.LinkType() }, nil
}
