package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/rstwhy/rstwhy/internal/testcap"
)

// BenchmarkRead reads whole captures from memory; MB/s is of the
// decompressed stream, so compressed variants show the decompressor's cost.
func BenchmarkRead(b *testing.B) {
	// Reading does not look inside a record: full-size frames, two to a
	// bare ACK, as in any capture of a transfer.
	var recs []Raw
	full, ack := make([]byte, 1514), make([]byte, 54)
	for i := range 192 {
		f := full
		if i%3 == 2 {
			f = ack
		}
		recs = append(recs, Raw{Frame: int64(i + 1), TS: int64(i) * 1000, Link: LinkTypeEthernet, Data: f, OrigLen: len(f)})
	}
	mtu := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, recs).data
	mtu = bytes.Repeat(mtu[24:], 40) // 7680 records under one header
	mtu = append(pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, nil).data, mtu...)
	le := binary.LittleEndian
	ng := cat(ngBlock(le, ngSHB, ngSHBBody(le)), ngBlock(le, ngIDB, ngIDBBody(le, layers.LinkTypeEthernet, 0, 9)))
	for range 40 {
		for _, r := range recs {
			ng = append(ng, ngBlock(le, ngEPB, ngEPBBody(le, 0, uint64(r.TS), r.Data, r.OrigLen))...)
		}
	}
	sets := []struct {
		name string
		data []byte
		size int
	}{
		{"pcap-mtu", mtu, len(mtu)},
		{"pcap-mtu.gz", gzipped(b, mtu), len(mtu)},
		{"pcap-mtu.zst", zstded(b, mtu), len(mtu)},
		{"pcapng-mtu", ng, len(ng)},
	}
	for _, name := range []string{"zeek_ssh_ssh.pcap", "ppa_http_espn_fail.pcapng"} {
		if c, err := os.ReadFile(testcap.Corpus(name)); err == nil {
			sets = append(sets, struct {
				name string
				data []byte
				size int
			}{name, c, len(c)})
		}
	}
	for _, s := range sets {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(s.size))
			b.ReportAllocs()
			frames := 0
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(s.data))
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					frames++
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
		})
	}
}
