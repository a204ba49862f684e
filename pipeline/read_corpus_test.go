package pipeline

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/rstwhy/rstwhy/capture"
	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/internal/testcap"
)

// tsharkRST is one row of FILE.tshark.tsv: a frame tshark matched with
// tcp.flags.reset==1.
type tsharkRST struct {
	Frame            int64
	TS               int64 // Unix nanoseconds
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Len              int
	TTL              uint8 // IPv4 only
}

// lastField takes the innermost value of a field tshark repeats once per
// layer ("10.3.34.171,10.37.36.92" for IP inside GRE).
func lastField(s string) string {
	if i := strings.LastIndexByte(s, ','); i >= 0 {
		return s[i+1:]
	}
	return s
}

func readTshark(tb testing.TB, name string) []tsharkRST {
	tb.Helper()
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var rows []tsharkRST
	sc := bufio.NewScanner(f)
	head := true
	for sc.Scan() {
		if head {
			head = false
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 14 {
			tb.Fatalf("%s: short row %q", name, sc.Text())
		}
		num := func(s string, bits int) uint64 {
			v, err := strconv.ParseUint(lastField(s), 10, bits)
			if err != nil {
				tb.Fatalf("%s: %q: %v", name, sc.Text(), err)
			}
			return v
		}
		addr := func(v4, v6 string) netip.Addr {
			s := v4
			if s == "" {
				s = v6
			}
			a, err := netip.ParseAddr(lastField(s))
			if err != nil {
				tb.Fatalf("%s: %q: %v", name, sc.Text(), err)
			}
			return a
		}
		sec, frac, _ := strings.Cut(c[1], ".")
		frac = (frac + "000000000")[:9]
		r := tsharkRST{
			Frame:   int64(num(c[0], 63)),
			TS:      int64(num(sec, 63))*1e9 + int64(num(frac, 63)),
			Src:     addr(c[2], c[3]),
			SrcPort: uint16(num(c[4], 16)),
			Dst:     addr(c[5], c[6]),
			DstPort: uint16(num(c[7], 16)),
			Seq:     uint32(num(c[8], 32)),
			Ack:     uint32(num(c[9], 32)),
			Len:     int(num(c[11], 31)),
		}
		if c[12] != "" {
			r.TTL = uint8(num(c[12], 8))
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return rows
}

// readAll reads a capture and decodes every frame, returning the RSTs by
// frame number and the frames that failed to decode.
func readAll(tb testing.TB, name string) (rst map[int64]decode.Packet, bad map[int64]error, stats capture.ReadStats, readErr error) {
	tb.Helper()
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := capture.NewReader(f)
	if err != nil {
		return nil, nil, capture.ReadStats{}, err
	}
	rst, bad = map[int64]decode.Packet{}, map[int64]error{}
	var d decode.Decoder
	var p decode.Packet
	for {
		raw, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rst, bad, r.Stats(), err
		}
		p.Frame, p.TS = raw.Frame, raw.TS
		switch err := d.Decode(raw.Link, raw.Data, &p); {
		case errors.Is(err, decode.ErrNotTCP):
		case err != nil:
			bad[raw.Frame] = err
		case p.Flags.Has(decode.RST):
			p.Payload, p.Trailer = nil, nil
			rst[raw.Frame] = p
		}
	}
	return rst, bad, r.Stats(), nil
}

func TestCorpusRST(t *testing.T) {
	for _, name := range testcap.CorpusFiles(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			rst, bad, stats, err := readAll(t, name)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			for fr, err := range bad {
				t.Logf("frame %d undecodable: %v", fr, err)
			}
			if len(stats.Skipped) > 0 || stats.UnknownBlocks > 0 {
				t.Logf("skipped by link type %v, unknown blocks %d", stats.Skipped, stats.UnknownBlocks)
			}
			want := readTshark(t, name+".tshark.tsv")
			seen := map[int64]bool{}
			for _, w := range want {
				seen[w.Frame] = true
				p, ok := rst[w.Frame]
				if !ok {
					t.Errorf("frame %d: tshark sees a decode.RST, we do not (decode error: %v)", w.Frame, bad[w.Frame])
					continue
				}
				got := tsharkRST{Frame: p.Frame, TS: p.TS, Src: p.SrcAddr(), Dst: p.DstAddr(), SrcPort: p.SrcPort, DstPort: p.DstPort,
					Seq: p.Seq, Ack: p.Ack, Len: p.Len}
				if !p.IPv6 {
					got.TTL = p.TTL
				}
				if got != w {
					t.Errorf("frame %d:\n got %+v\nwant %+v", w.Frame, got, w)
				}
			}
			for fr, p := range rst {
				if !seen[fr] {
					t.Errorf("frame %d: we decode a decode.RST tshark does not: %s:%d > %s:%d %s", fr, p.SrcAddr(), p.SrcPort, p.DstAddr(), p.DstPort, p.Flags)
				}
			}
		})
	}
}

// TestCorpusTCPFields compares every TCP frame of the corpus, not only
// the RSTs, with tshark 4.0.17. testdata/corpus-tcp.tshark.tsv.gz is
// tshark's output, made in the corpus folder with
//
//	for f in *.pcap *.pcapng; do tshark -r $f -Y tcp -T fields -E separator=/t \
//	  -e frame.number -e tcp.srcport -e tcp.dstport -e tcp.seq_raw -e tcp.ack_raw \
//	  -e tcp.len -e tcp.flags -e tcp.window_size_value -e tcp.options.mss_val \
//	  -e tcp.options.wscale.shift -e tcp.options.timestamp.tsval | sed "s/^/$f\t/"; done
//
// under a header row, then gzip -9 -n. It is never rewritten from our output.
func TestCorpusTCPFields(t *testing.T) {
	testcap.CorpusFiles(t) // skips without the corpus
	f, err := os.Open("testdata/corpus-tcp.tshark.tsv.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[int64][]string{} // file, frame: fields
	sc := bufio.NewScanner(zr)
	sc.Scan() // header
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 12 {
			t.Fatalf("bad row %q", sc.Text())
		}
		fr, err := strconv.ParseInt(c[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		flags, err := strconv.ParseUint(strings.TrimPrefix(c[7], "0x"), 16, 16)
		if err != nil {
			t.Fatal(err)
		}
		c[7] = fmt.Sprintf("%#02x", flags&0xff) // NS and AE are not in decode.Flags
		if want[c[0]] == nil {
			want[c[0]] = map[int64][]string{}
		}
		want[c[0]][fr] = c[2:]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	names := []string{"sport", "dport", "seq", "ack", "len", "flags", "window", "mss", "wscale", "tsval"}
	for name, frames := range want {
		t.Run(name, func(t *testing.T) {
			fh, err := os.Open(testcap.Corpus(name))
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			r, err := capture.NewReader(fh)
			if err != nil {
				t.Fatal(err)
			}
			var (
				d decode.Decoder
				p decode.Packet
			)
			for {
				raw, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				w, ok := frames[raw.Frame]
				err = d.Decode(raw.Link, raw.Data, &p)
				switch {
				case !ok && errors.Is(err, decode.ErrNotTCP):
					continue
				case !ok:
					t.Errorf("frame %d: tshark sees no TCP, we decode %v", raw.Frame, err)
					continue
				case err != nil:
					t.Errorf("frame %d: %v", raw.Frame, err)
					continue
				}
				opt := func(has bool, v any) string {
					if !has {
						return ""
					}
					return fmt.Sprint(v)
				}
				got := []string{fmt.Sprint(p.SrcPort), fmt.Sprint(p.DstPort), fmt.Sprint(p.Seq), fmt.Sprint(p.Ack),
					fmt.Sprint(p.Len), fmt.Sprintf("%#02x", uint8(p.Flags)), fmt.Sprint(p.Window),
					opt(p.MSS != 0, p.MSS), opt(p.WScale >= 0, p.WScale), opt(p.HasTS, p.TSVal)}
				for i := range got {
					if v := lastField(w[i]); got[i] != v {
						t.Errorf("frame %d: %s = %s, tshark %s", raw.Frame, names[i], got[i], v)
					}
				}
				delete(frames, raw.Frame)
			}
			for fr := range frames {
				t.Errorf("frame %d: tshark sees TCP, we read no such frame", fr)
			}
		})
	}
}
