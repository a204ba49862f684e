package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// testRecords are the frames the reader tests write in every format: odd
// lengths exercise pcapng padding, a snapped one has OrigLen > len(Data).
func testRecords(tb testing.TB) []Raw {
	tb.Helper()
	eth := ether(tb, layers.EthernetTypeIPv4, ip4TCP(tb))
	eth6 := ether(tb, layers.EthernetTypeIPv6, ip6TCP(tb))
	base := time.Date(2026, 11, 25, 5, 20, 0, 0, time.UTC).UnixNano()
	return []Raw{
		{Frame: 1, TS: base + 1000, Link: LinkTypeEthernet, Data: eth, OrigLen: len(eth)},
		{Frame: 2, TS: base + 2_000_000, Link: LinkTypeEthernet, Data: eth6, OrigLen: len(eth6)},
		{Frame: 3, TS: base + 3_000_000_000, Link: LinkTypeEthernet, Data: eth[:61], OrigLen: len(eth)},
		{Frame: 4, TS: base + 4_000_001_000, Link: LinkTypeEthernet, Data: []byte{1}, OrigLen: 1},
		{Frame: 5, TS: base + 5_000_000_000, Link: LinkTypeEthernet, Data: []byte{}, OrigLen: 0},
	}
}

// endian is what binary.LittleEndian and BigEndian both provide.
type endian interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// capture is a test file with the byte range of each of its blocks or
// records, to predict where damage is reported.
type capture struct {
	data   []byte
	header int    // bytes NewReader consumes
	parts  []part // records (pcap) or blocks after the first SHB (pcapng)
	want   []Raw  // what Next returns
	order  binary.ByteOrder
}

type part struct {
	start, end int
	frame      bool // the part is a record that takes a frame number
}

func (c *capture) add(b []byte, frame bool) {
	c.parts = append(c.parts, part{start: len(c.data), end: len(c.data) + len(b), frame: frame})
	c.data = append(c.data, b...)
}

// pcapFile writes recs as a pcap file, in either byte order and time
// resolution, by hand: gopacket's writer only writes little-endian.
func pcapFile(order endian, nano bool, snaplen uint32, link layers.LinkType, recs []Raw) *capture {
	c := &capture{order: order}
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	h := order.AppendUint32(nil, magic)
	h = order.AppendUint16(h, 2)
	h = order.AppendUint16(h, 4)
	h = order.AppendUint32(h, 0)
	h = order.AppendUint32(h, 0)
	h = order.AppendUint32(h, snaplen)
	h = order.AppendUint32(h, uint32(link))
	c.data, c.header = h, len(h)
	for _, r := range recs {
		frac := uint32(r.TS % 1e9)
		if !nano {
			frac /= 1000
		}
		b := order.AppendUint32(nil, uint32(r.TS/1e9))
		b = order.AppendUint32(b, frac)
		b = order.AppendUint32(b, uint32(len(r.Data)))
		b = order.AppendUint32(b, uint32(r.OrigLen))
		c.add(append(b, r.Data...), true)
		c.want = append(c.want, r)
	}
	return c
}

// ngBlock is a pcapng block of type typ around body (padded to 4).
func ngBlock(order endian, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := order.AppendUint32(nil, typ)
	b = order.AppendUint32(b, n)
	b = append(b, body...)
	return order.AppendUint32(b, n)
}

func ngSHBBody(order endian) []byte {
	b := order.AppendUint32(nil, 0x1a2b3c4d)
	b = order.AppendUint16(b, 1)
	b = order.AppendUint16(b, 0)
	return order.AppendUint64(b, ^uint64(0))
}

// ngIDBBody describes an interface; tsresol 0 leaves the default (µs).
func ngIDBBody(order endian, link layers.LinkType, snaplen uint32, tsresol byte) []byte {
	b := order.AppendUint16(nil, uint16(link))
	b = order.AppendUint16(b, 0)
	b = order.AppendUint32(b, snaplen)
	if tsresol != 0 {
		b = order.AppendUint16(b, 9)
		b = order.AppendUint16(b, 1)
		b = append(b, tsresol, 0, 0, 0)
		b = order.AppendUint32(b, 0) // opt_endofopt
	}
	return b
}

func ngEPBBody(order endian, iface uint32, ts uint64, data []byte, orig int) []byte {
	b := order.AppendUint32(nil, iface)
	b = order.AppendUint32(b, uint32(ts>>32))
	b = order.AppendUint32(b, uint32(ts))
	b = order.AppendUint32(b, uint32(len(data)))
	b = order.AppendUint32(b, uint32(orig))
	return append(b, data...)
}

// ngFile writes recs as pcapng: interface 0 is Ethernet with nanosecond
// timestamps, interface 1 a link the decoder does not know (its packets
// are skipped but numbered), and an unknown block sits among the packets.
func ngFile(order endian, recs []Raw) *capture {
	c := &capture{order: order}
	c.data = ngBlock(order, ngSHB, ngSHBBody(order))
	c.header = len(c.data)
	c.add(ngBlock(order, ngIDB, ngIDBBody(order, layers.LinkTypeEthernet, 0, 9)), false)
	c.add(ngBlock(order, ngIDB, ngIDBBody(order, 147, 0, 0)), false)
	frame := int64(0)
	for i, r := range recs {
		if i == 1 {
			c.add(ngBlock(order, 0x7777, []byte("unknown block")), false)
			frame++
			c.add(ngBlock(order, ngEPB, ngEPBBody(order, 1, uint64(r.TS/1000), []byte{0xde, 0xad}, 2)), true)
		}
		frame++
		r.Frame = frame
		c.add(ngBlock(order, ngEPB, ngEPBBody(order, 0, uint64(r.TS), r.Data, r.OrigLen)), true)
		c.want = append(c.want, r)
	}
	return c
}

// readRaws reads data to its end, copying each record.
func readRaws(data []byte) ([]Raw, *Reader, error) { return readFrom(bytes.NewReader(data)) }

// testKeep keeps every link type but 147 (LINKTYPE_USER0), which the
// tests use for one the decoder would not handle.
func testKeep(l LinkType) bool { return l != 147 }

func readFrom(src io.Reader) ([]Raw, *Reader, error) {
	r, err := NewReader(src)
	if err != nil {
		return nil, nil, err
	}
	r.Keep(testKeep)
	var out []Raw
	for {
		raw, err := r.Next()
		if err != nil {
			return out, r, err
		}
		raw.Data = bytes.Clone(raw.Data)
		out = append(out, raw)
	}
}

func gzipped(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(tb testing.TB, b []byte) []byte {
	tb.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// diffRaws compares records, nil and empty alike (Data and the lists).
func diffRaws(want, got []Raw) string {
	if len(want) == 0 && len(got) == 0 {
		return ""
	}
	return cmp.Diff(want, got, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) }))
}

func TestReaderFormats(t *testing.T) {
	recs := testRecords(t)
	// pcapgo's writers are a second, independent implementation.
	var pg bytes.Buffer
	pw := pcapgo.NewWriterNanos(&pg)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	var ng bytes.Buffer
	nw, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, r.TS), CaptureLength: len(r.Data), Length: r.OrigLen}
		if err := pw.WritePacket(ci, r.Data); err != nil {
			t.Fatal(err)
		}
		if err := nw.WritePacket(ci, r.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := nw.Flush(); err != nil {
		t.Fatal(err)
	}
	usRecs := make([]Raw, len(recs))
	for i, r := range recs {
		r.TS -= r.TS % 1000
		usRecs[i] = r
	}
	files := []struct {
		name string
		data []byte
		want []Raw
		why  string
	}{
		{"pcap-us-le", pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, recs).data, usRecs, "a1b2c3d4 written little-endian"},
		{"pcap-us-be", pcapFile(binary.BigEndian, false, 65535, layers.LinkTypeEthernet, recs).data, usRecs, "a1b2c3d4 big-endian (SPARC, AIX)"},
		{"pcap-ns-le", pcapFile(binary.LittleEndian, true, 65535, layers.LinkTypeEthernet, recs).data, recs, "a1b23c4d"},
		{"pcap-ns-be", pcapFile(binary.BigEndian, true, 65535, layers.LinkTypeEthernet, recs).data, recs, ""},
		{"pcap-fcs-bits", mutate(pcapFile(binary.LittleEndian, true, 65535, layers.LinkTypeEthernet, recs).data, func(b []byte) { b[23] = 0x14 }), recs, "FCS length in the link type's upper bits"},
		{"pcap-snaplen-small", pcapFile(binary.LittleEndian, true, 40, layers.LinkTypeEthernet, recs).data, recs, "dpkt writes records longer than its snap length; libpcap reads them"},
		{"pcapgo", pg.Bytes(), recs, "pcapgo.Writer"},
		{"pcapgo-ng", ng.Bytes(), recs, "pcapgo.NgWriter: options in SHB, IDB and EPB"},
		{"pcapng-le", ngFile(binary.LittleEndian, recs).data, ngFile(binary.LittleEndian, recs).want, "mixed links, unknown block"},
		{"pcapng-be", ngFile(binary.BigEndian, recs).data, ngFile(binary.BigEndian, recs).want, ""},
	}
	for _, f := range files {
		for _, comp := range []struct {
			name string
			data []byte
		}{{"", f.data}, {".gz", gzipped(t, f.data)}, {".zst", zstded(t, f.data)}} {
			t.Run(f.name+comp.name, func(t *testing.T) {
				got, r, err := readRaws(comp.data)
				if err != io.EOF {
					t.Fatalf("read: %v, want io.EOF (%s)", err, f.why)
				}
				if diff := diffRaws(f.want, got); diff != "" {
					t.Errorf("records (-want +got):\n%s", diff)
				}
				if r.Offset() != int64(len(f.data)) {
					t.Errorf("Offset = %d at the end, want %d", r.Offset(), len(f.data))
				}
				if _, err := r.Next(); err != io.EOF {
					t.Errorf("Next after the end = %v, want io.EOF again", err)
				}
			})
		}
	}
}

func TestReaderStats(t *testing.T) {
	c := ngFile(binary.LittleEndian, testRecords(t))
	_, r, err := readRaws(gzipped(t, c.data))
	if err != io.EOF {
		t.Fatal(err)
	}
	want := ReadStats{Format: "pcapng", Compression: "gzip", Frames: 6, Bytes: int64(len(c.data)),
		Skipped: map[LinkType]int64{147: 1}, UnknownBlocks: 1, Links: []LinkType{LinkTypeEthernet, 147}}
	if diff := cmp.Diff(want, r.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestReaderNotCapture(t *testing.T) {
	pcap := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, testRecords(t)).data
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "empty file"},
		{"text", "hello, this is not a capture\n", "looks like text"},
		{"html", "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n", "looks like HTML"},
		{"html-lower", "\n  <html>\n<body>Access denied</body></html>", "looks like HTML"},
		{"short-text", "ab", "looks like text"},
		{"binary", "\x00\x01\x02\x03\x04\x05\x06\x07", "unknown magic 0x00010203"},
		{"short-binary", "\x00\x01", "too short for a capture (2 bytes)"},
		{"gzip-cut", string(gzipped(t, pcap)[:6]), "gzip stream ends early"},
		{"gzip-cut-in-header", string(gzipped(t, pcap)[:20]), "gzip stream ends early"},
		{"gzip-empty", string(gzipped(t, nil)), "empty gzip stream"},
		{"gzip-text", string(gzipped(t, []byte("just some text\n"))), "looks like text"},
		{"zstd-cut", string(zstded(t, pcap)[:8]), "zstd stream ends early"},
		{"pcap-header-cut", string(pcap[:20]), "pcap file header cut short (20 of 24 bytes)"},
		{"pcap-version", string(mutate(pcap, func(b []byte) { b[4] = 9 })), "pcap version 9.4"},
		{"pcapng-cut", "\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c", "pcapng section header"},
		{"pcapng-bom", "\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x00\x00\x00\x00", "byte-order magic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.data))
			if !errors.Is(err, ErrNotCapture) {
				t.Fatalf("NewReader = %v, %v; want ErrNotCapture", r, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
}

// TestReaderDamage cuts good captures at every byte and checks that the
// frames before the cut come back unchanged and that the DamageError
// names the first incomplete record and its offset.
func TestReaderDamage(t *testing.T) {
	recs := testRecords(t)
	caps := map[string]*capture{
		"pcap":      pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, recs),
		"pcap-be":   pcapFile(binary.BigEndian, true, 65535, layers.LinkTypeEthernet, recs),
		"pcapng":    ngFile(binary.LittleEndian, recs),
		"pcapng-be": ngFile(binary.BigEndian, recs),
	}
	for name, c := range caps {
		t.Run(name, func(t *testing.T) {
			for cut := 0; cut < len(c.data); cut++ {
				got, _, err := readRaws(c.data[:cut])
				if cut < c.header {
					if !errors.Is(err, ErrNotCapture) {
						t.Fatalf("cut %d in the file header: %v, want ErrNotCapture", cut, err)
					}
					continue
				}
				frames, whole, next := int64(0), 0, -1
				for i, p := range c.parts {
					if p.end > cut {
						next = i
						break
					}
					if p.frame {
						frames++
					}
					whole = i + 1
				}
				var want []Raw
				for _, w := range c.want {
					if w.Frame <= frames {
						want = append(want, w)
					}
				}
				if diff := diffRaws(want, got); diff != "" {
					t.Fatalf("cut %d: records (-want +got):\n%s", cut, diff)
				}
				atBoundary := cut == c.header || whole > 0 && c.parts[whole-1].end == cut
				if atBoundary {
					if err != io.EOF {
						t.Fatalf("cut %d between records: %v, want io.EOF", cut, err)
					}
					continue
				}
				var de *DamageError
				if !errors.As(err, &de) {
					t.Fatalf("cut %d: %v, want a DamageError", cut, err)
				}
				if de.Frame != frames+1 || de.Offset != int64(c.parts[next].start) {
					t.Fatalf("cut %d: damage at frame %d offset %d, want frame %d offset %d (%v)", cut, de.Frame, de.Offset, frames+1, c.parts[next].start, err)
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("cut %d: %v does not wrap io.ErrUnexpectedEOF", cut, err)
				}
			}
		})
	}
}

// TestReaderFlip flips each byte of good captures: reading must not
// panic, must return every record that ends before the flipped byte
// unchanged, and must end with io.EOF or a DamageError.
func TestReaderFlip(t *testing.T) {
	recs := testRecords(t)
	caps := map[string]*capture{
		"pcap":   pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, recs),
		"pcapng": ngFile(binary.BigEndian, recs),
	}
	for name, c := range caps {
		t.Run(name, func(t *testing.T) {
			for i := range c.data {
				for _, x := range []byte{0x01, 0x80, 0xff} {
					b := mutate(c.data, func(b []byte) { b[i] ^= x })
					got, _, err := readRaws(b)
					if i < c.header && err != nil && errors.Is(err, ErrNotCapture) {
						continue
					}
					var de *DamageError
					if err != io.EOF && !errors.As(err, &de) {
						t.Fatalf("flip %#x at %d: %v, want io.EOF or a DamageError", x, i, err)
					}
					for j := 1; j < len(got); j++ {
						if got[j].Frame <= got[j-1].Frame {
							t.Fatalf("flip %#x at %d: frame %d after %d", x, i, got[j].Frame, got[j-1].Frame)
						}
					}
					if i < c.header {
						continue
					}
					var intact []Raw
					frames := int64(0)
					for _, p := range c.parts {
						if p.end > i {
							break
						}
						if p.frame {
							frames++
						}
					}
					for _, w := range c.want {
						if w.Frame <= frames {
							intact = append(intact, w)
						}
					}
					if len(got) < len(intact) {
						t.Fatalf("flip %#x at %d: %d records, want at least the %d before it (%v)", x, i, len(got), len(intact), err)
					}
					if diff := diffRaws(intact, got[:len(intact)]); diff != "" {
						t.Fatalf("flip %#x at %d: records before it changed (-want +got):\n%s", x, i, diff)
					}
				}
			}
		})
	}
}

// TestReaderCompressedDamage cuts compressed captures: frames before the
// cut are returned as in the whole file, then reading stops with a
// DamageError, or NewReader fails when the cut leaves no header.
func TestReaderCompressedDamage(t *testing.T) {
	c := ngFile(binary.LittleEndian, testRecords(t))
	for _, comp := range []struct {
		name string
		data []byte
	}{{"gzip", gzipped(t, c.data)}, {"zstd", zstded(t, c.data)}} {
		t.Run(comp.name, func(t *testing.T) {
			for cut := 0; cut < len(comp.data); cut++ {
				got, _, err := readRaws(comp.data[:cut])
				if errors.Is(err, ErrNotCapture) {
					if len(got) > 0 {
						t.Fatalf("cut %d: records and ErrNotCapture", cut)
					}
					continue
				}
				var de *DamageError
				if !errors.As(err, &de) {
					t.Fatalf("cut %d: %v, want a DamageError or ErrNotCapture", cut, err)
				}
				if diff := diffRaws(c.want[:len(got)], got); diff != "" {
					t.Fatalf("cut %d: records (-want +got):\n%s", cut, diff)
				}
				if de.Frame <= int64(len(got)) && len(got) > 0 && de.Frame <= got[len(got)-1].Frame {
					t.Fatalf("cut %d: damage at frame %d, after frame %d was returned", cut, de.Frame, got[len(got)-1].Frame)
				}
			}
		})
	}
}

// TestReaderBadLengths checks lengths that pcapgo would trust.
func TestReaderBadLengths(t *testing.T) {
	le := binary.LittleEndian
	recs := testRecords(t)
	pcap := pcapFile(le, false, 65535, layers.LinkTypeEthernet, recs)
	ng := ngFile(le, recs)
	epb := ng.parts[2] // the first packet block
	tests := []struct {
		name       string
		data       []byte
		frame, off int64
		why        string
	}{
		{"pcap-caplen-huge", mutate(pcap.data, func(b []byte) { le.PutUint32(b[pcap.parts[1].start+8:], 300000) }), 2, int64(pcap.parts[1].start),
			"above both the snap length and 262144"},
		{"pcap-caplen-past-end", mutate(pcap.data, func(b []byte) { le.PutUint32(b[pcap.parts[4].start+8:], 1000) }), 5, int64(pcap.parts[4].start),
			"more than is left of the file"},
		{"ng-block-length-small", mutate(ng.data, func(b []byte) { le.PutUint32(b[epb.start+4:], 8) }), 1, int64(epb.start),
			"below the 12-byte minimum: pcapgo wraps its counter"},
		{"ng-block-length-odd", mutate(ng.data, func(b []byte) { le.PutUint32(b[epb.start+4:], 61) }), 1, int64(epb.start),
			"not a multiple of 4"},
		{"ng-caplen-past-block", mutate(ng.data, func(b []byte) { le.PutUint32(b[epb.start+20:], 5000) }), 1, int64(epb.start),
			"EPB caplen larger than its block"},
		{"ng-trailer", mutate(ng.data, func(b []byte) { le.PutUint32(b[epb.end-4:], 4) }), 1, int64(epb.start),
			"trailing length differs"},
		{"ng-interface", mutate(ng.data, func(b []byte) { le.PutUint32(b[epb.start+8:], 5) }), 1, int64(epb.start),
			"interface 5 of 2"},
		{"ng-unknown-block-trailer", mutate(ng.data, func(b []byte) { le.PutUint32(b[ng.parts[3].end-4:], 4) }), 2, int64(ng.parts[3].start),
			"a skipped block is checked too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, r, err := readRaws(tt.data)
			var de *DamageError
			if !errors.As(err, &de) {
				t.Fatalf("read: %v, want a DamageError (%s)", err, tt.why)
			}
			if de.Frame != tt.frame || de.Offset != tt.off {
				t.Errorf("damage at frame %d offset %d, want frame %d offset %d: %v", de.Frame, de.Offset, tt.frame, tt.off, err)
			}
			if r.Offset() != tt.off {
				t.Errorf("Offset() = %d, want %d", r.Offset(), tt.off)
			}
			if int64(len(got)) > tt.frame {
				t.Errorf("%d records before damage at frame %d", len(got), tt.frame)
			}
		})
	}
}

// TestReaderPcapngBlocks covers the block and option kinds the writers
// above do not produce: simple and obsolete packet blocks, binary and
// coarse timestamp resolutions, if_tsoffset, a second section.
func TestReaderPcapngBlocks(t *testing.T) {
	le := binary.LittleEndian
	pkt := ether(t, layers.EthernetTypeIPv4, ip4TCP(t))
	idb := func(snaplen uint32, opts ...[]byte) []byte {
		b := ngIDBBody(le, layers.LinkTypeEthernet, snaplen, 0)
		for _, o := range opts {
			b = append(b, o...)
		}
		return ngBlock(le, ngIDB, append(b, 0, 0, 0, 0))
	}
	opt := func(code uint16, v []byte) []byte {
		b := le.AppendUint16(nil, code)
		b = le.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	shb := ngBlock(le, ngSHB, ngSHBBody(le))
	epb := func(iface uint32, ts uint64) []byte {
		return ngBlock(le, ngEPB, ngEPBBody(le, iface, ts, pkt, len(pkt)))
	}
	spb := ngBlock(le, ngSPB, append(le.AppendUint32(nil, uint32(len(pkt))), pkt...))
	pb := func() []byte {
		b := le.AppendUint16(nil, 0)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, 5_000_000)
		b = le.AppendUint32(b, uint32(len(pkt)))
		b = le.AppendUint32(b, uint32(len(pkt)))
		return ngBlock(le, ngPB, append(b, pkt...))
	}()
	tests := []struct {
		name string
		data []byte
		want []Raw
		why  string
	}{
		{"pow2-resolution", cat(shb, idb(0, opt(9, []byte{0x80 | 20})), epb(0, 3<<20|1<<19)),
			[]Raw{{Frame: 1, TS: 3_500_000_000, Data: pkt}}, "if_tsresol 2^-20: 3.5 s"},
		{"ms-resolution", cat(shb, idb(0, opt(9, []byte{3})), epb(0, 1500)),
			[]Raw{{Frame: 1, TS: 1_500_000_000, Data: pkt}}, "if_tsresol 10^-3"},
		{"ps-resolution", cat(shb, idb(0, opt(9, []byte{12})), epb(0, 2_000_000_001_000)),
			[]Raw{{Frame: 1, TS: 2_000_000_001, Data: pkt}}, "if_tsresol 10^-12"},
		{"tsoffset", cat(shb, idb(0, opt(14, le.AppendUint64(nil, 100))), epb(0, 1)),
			[]Raw{{Frame: 1, TS: 100_000_001_000, Data: pkt}}, "if_tsoffset adds seconds"},
		{"spb", cat(shb, idb(0), spb), []Raw{{Frame: 1, Data: pkt}}, "no timestamp in a simple packet block"},
		{"spb-snaplen", cat(shb, idb(40), spb), []Raw{{Frame: 1, Data: pkt[:40]}}, "the SPB is cut to the interface snap length"},
		{"obsolete-pb", cat(shb, idb(0), pb), []Raw{{Frame: 1, TS: 5_000_000_000, Data: pkt}}, "block type 2"},
		{"two-sections", cat(shb, idb(0), ngBlock(le, ngIDB, ngIDBBody(le, 147, 0, 0)), epb(1, 1), shb, idb(0), epb(0, 2)),
			[]Raw{{Frame: 2, TS: 2000, Data: pkt}}, "a new section forgets the interfaces: interface 0 is Ethernet again"},
		{"custom-block", cat(shb, idb(0), ngBlock(le, ngCustom, []byte{0, 0, 0x7e, 0xd9, 'x'}), ngBlock(le, ngCustom2, []byte{0, 0, 0x7e, 0xd9}), epb(0, 1)),
			[]Raw{{Frame: 3, TS: 1000, Data: pkt}}, "tshark numbers custom blocks as frames (pcapng-test-generator test018)"},
		{"isb-nrb", cat(shb, idb(0), ngBlock(le, ngISB, make([]byte, 12)), ngBlock(le, ngNRB, []byte{0, 0, 0, 0}), epb(0, 1)),
			[]Raw{{Frame: 1, TS: 1000, Data: pkt}}, "known blocks are skipped, not counted as unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.want {
				tt.want[i].Link, tt.want[i].OrigLen = LinkTypeEthernet, len(pkt)
			}
			got, r, err := readRaws(tt.data)
			if err != io.EOF {
				t.Fatalf("read: %v (%s)", err, tt.why)
			}
			if diff := diffRaws(tt.want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s\n%s", diff, tt.why)
			}
			if n := r.Stats().UnknownBlocks; n != 0 {
				t.Errorf("%d unknown blocks", n)
			}
		})
	}
}

// TestReaderDrops: the capture's own count of what it lost, from the
// interface statistics blocks dumpcap writes as it stops (isb_ifdrop,
// isb_osdrop): the latest block of each interface holds its total, and a
// new section's interfaces add theirs. A block with neither option, or
// naming no interface, says nothing; statistics take no frame number.
func TestReaderDrops(t *testing.T) {
	le := binary.LittleEndian
	pkt := ether(t, layers.EthernetTypeIPv4, ip4TCP(t))
	shb := ngBlock(le, ngSHB, ngSHBBody(le))
	idb := ngBlock(le, ngIDB, append(ngIDBBody(le, layers.LinkTypeEthernet, 0, 0), 0, 0, 0, 0))
	epb := ngBlock(le, ngEPB, ngEPBBody(le, 0, 1, pkt, len(pkt)))
	isb := func(iface uint32, opts ...[2]uint64) []byte {
		b := le.AppendUint32(nil, iface)
		b = le.AppendUint64(b, 0)
		for _, o := range opts {
			b = le.AppendUint16(b, uint16(o[0]))
			b = le.AppendUint16(b, 8)
			b = le.AppendUint64(b, o[1])
		}
		b = le.AppendUint32(b, 0) // opt_endofopt
		return ngBlock(le, ngISB, b)
	}
	tests := []struct {
		name   string
		data   []byte
		frames int64
		drops  int64
		known  bool
	}{
		{"none", cat(shb, idb, epb), 1, 0, false},
		{"ifdrop-osdrop", cat(shb, idb, epb, isb(0, [2]uint64{5, 7}, [2]uint64{7, 3}), epb), 2, 10, true},
		{"latest-wins", cat(shb, idb, isb(0, [2]uint64{5, 4}), epb, isb(0, [2]uint64{5, 9})), 1, 9, true},
		{"reported-zero", cat(shb, idb, epb, isb(0, [2]uint64{5, 0})), 1, 0, true},
		{"other-options", cat(shb, idb, epb, isb(0, [2]uint64{4, 100}, [2]uint64{8, 100})), 1, 0, false},
		{"no-such-interface", cat(shb, idb, epb, isb(3, [2]uint64{5, 8})), 1, 0, false},
		{"two-sections", cat(shb, idb, isb(0, [2]uint64{5, 2}), epb, shb, idb, epb, isb(0, [2]uint64{7, 5})), 2, 7, true},
		{"saturates", cat(shb, idb, isb(0, [2]uint64{5, 1 << 63}, [2]uint64{7, 1 << 63}), shb, idb, isb(0, [2]uint64{5, 1})), 0, math.MaxInt64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r, err := readRaws(tt.data)
			if err != io.EOF {
				t.Fatalf("read: %v", err)
			}
			s := r.Stats()
			if s.Frames != tt.frames || s.Dropped != tt.drops || s.DropsKnown != tt.known {
				t.Errorf("frames %d, dropped %d (known %v); want %d, %d (%v)", s.Frames, s.Dropped, s.DropsKnown, tt.frames, tt.drops, tt.known)
			}
		})
	}
}

func TestReaderPcapUnsupportedLink(t *testing.T) {
	c := pcapFile(binary.LittleEndian, false, 65535, 147, testRecords(t))
	got, r, err := readRaws(c.data)
	if err != io.EOF || len(got) != 0 {
		t.Fatalf("read: %d records, %v; want none and io.EOF", len(got), err)
	}
	if s := r.Stats(); s.Frames != 5 || s.Skipped[147] != 5 {
		t.Errorf("Stats = %+v, want 5 frames skipped as link 147", s)
	}
}

// TestReaderRefill reads a capture several times the buffer's size, in
// odd-sized reads, so that records straddle every refill of the buffer:
// a header slice kept across a Peek that moves the bytes would give wrong
// timestamps here.
func TestReaderRefill(t *testing.T) {
	var recs []Raw
	for i := range 3000 {
		data := bytes.Repeat([]byte{byte(i)}, 700+i%611)
		recs = append(recs, Raw{Frame: int64(i + 1), TS: int64(i)*1_000_001_000 + 7000, Link: LinkTypeEthernet, Data: data, OrigLen: len(data) + i%3})
	}
	for _, c := range []*capture{
		pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, recs),
		pcapFile(binary.BigEndian, true, 65535, layers.LinkTypeEthernet, recs),
	} {
		for _, src := range []io.Reader{bytes.NewReader(c.data), iotest.HalfReader(bytes.NewReader(c.data)), &chunkReader{c.data, 4093}} {
			r, err := NewReader(src)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				raw, err := r.Next()
				if err == io.EOF {
					if i != len(c.want) {
						t.Fatalf("%d records, want %d", i, len(c.want))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := diffRaws(c.want[i:i+1], []Raw{raw}); diff != "" {
					t.Fatalf("record %d (-want +got):\n%s", i, diff)
				}
			}
		}
	}
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}
