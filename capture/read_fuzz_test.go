package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/rstwhy/rstwhy/internal/testcap"
)

// fuzzSeedMax keeps fuzz seeds small: the first bytes of a corpus capture
// hold its headers and first records, which is what mutations need.
const fuzzSeedMax = 8 << 10

func FuzzReader(f *testing.F) {
	recs := testRecords(f)
	for _, c := range []*capture{
		pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, recs),
		pcapFile(binary.BigEndian, true, 96, layers.LinkTypeLinuxSLL, recs),
		ngFile(binary.LittleEndian, recs),
		ngFile(binary.BigEndian, recs),
	} {
		f.Add(c.data)
		f.Add(gzipped(f, c.data))
		f.Add(zstded(f, c.data))
	}
	if names, err := testcap.CorpusGlob(); err == nil {
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b[:min(len(b), fuzzSeedMax)])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Read in 37-byte pieces, the buffer refills mid-record: the
		// records and the final error must not change.
		whole, _, werr := readRaws(b)
		chunked, _, cerr := readFrom(&chunkReader{b, 37})
		if diff := diffRaws(whole, chunked); diff != "" || fmt.Sprint(werr) != fmt.Sprint(cerr) {
			t.Fatalf("read whole: %v, in pieces: %v; records (-whole +pieces):\n%s", werr, cerr, diff)
		}
		r, err := NewReader(bytes.NewReader(b))
		if err == nil {
			r.Keep(testKeep)
		}
		if err != nil {
			if r != nil {
				t.Fatal("reader and error")
			}
			return
		}
		last, off := int64(0), r.Offset()
		for {
			raw, err := r.Next()
			if err != nil {
				var de *DamageError
				switch {
				case err == io.EOF:
				case errors.As(err, &de):
					if de.Frame <= last {
						t.Fatalf("damage at frame %d after frame %d", de.Frame, last)
					}
					if de.Offset != r.Offset() {
						t.Fatalf("damage offset %d, Offset() %d", de.Offset, r.Offset())
					}
				default:
					t.Fatalf("Next: %v, want io.EOF or a DamageError", err)
				}
				if _, again := r.Next(); again != err {
					t.Fatalf("Next after %v = %v", err, again)
				}
				if s := r.Stats(); s.Frames < last {
					t.Fatalf("Stats.Frames %d below frame %d", s.Frames, last)
				}
				return
			}
			if raw.Frame <= last {
				t.Fatalf("frame %d after %d", raw.Frame, last)
			}
			if r.Offset() <= off {
				t.Fatalf("offset %d after %d", r.Offset(), off)
			}
			if len(raw.Data) > limitCaplen {
				t.Fatalf("%d-byte record", len(raw.Data))
			}
			if !testKeep(raw.Link) {
				t.Fatalf("record of unsupported link %v", raw.Link)
			}
			last, off = raw.Frame, r.Offset()
		}
	})
}
