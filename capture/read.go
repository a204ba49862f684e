package capture

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The capture formats are parsed here rather than by pcapgo, whose readers
// we studied first. pcapgo cannot say where in the stream a record starts
// (DamageError.Offset needs it), does not count the pcapng blocks it skips,
// and trusts lengths that damaged files get wrong: an EPB whose caplen is
// larger than its block makes it read the following blocks as packet
// bytes, and a block shorter than its fixed fields wraps its uint32
// remaining-length counter (it then tries to discard about 4 GiB). It also
// re-buffers and copies each packet, where Peek hands it out from the
// buffer. Both formats are small (pcap: a 24-byte header and 16-byte
// records; pcapng: blocks with their length at each end), so every length
// is checked here against its block and against what is left of the file.
// TestReaderMatchesPcapgo holds the two readers to the same answers on
// good files.

// ErrNotCapture is wrapped by NewReader when the input is not a capture
// at all; the message says what it looks like instead.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// DamageError ends reading mid-file: the record at Frame (last good frame
// + 1), starting at byte Offset of the decompressed stream, could not be
// read. Every frame before it was returned normally.
type DamageError struct {
	Frame  int64
	Offset int64
	Err    error
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("damaged capture at frame %d (byte %d): %v", e.Frame, e.Offset, e.Err)
}

func (e *DamageError) Unwrap() error { return e.Err }

// Raw is one record as the capture holds it.
type Raw struct {
	Frame   int64    // 1-based, as Wireshark counts: every record, including skipped ones
	TS      int64    // Unix nanoseconds
	Link    LinkType // per packet: pcapng files mix interfaces and link types
	Data    []byte   // captured bytes; aliases the reader's buffer: valid until the next Next
	OrigLen int
	Iface   uint32 // pcapng interface ID; 0 in pcap files
}

// ReadStats counts what a Reader saw.
type ReadStats struct {
	Format      string // "pcap" or "pcapng"
	Compression string // "", "gzip" or "zstd"
	Frames      int64  // records given a frame number, skipped ones included
	Bytes       int64  // bytes of the decompressed stream consumed

	// Skipped counts frames whose link type the decoder does not handle,
	// by link type; nil when none were skipped.
	Skipped map[LinkType]int64
	// SkippedRecords counts pcapng records that are not packets but take
	// a frame number in Wireshark: custom blocks and systemd journal
	// entries.
	SkippedRecords int64
	// UnknownBlocks counts pcapng blocks of a type this reader does not
	// know; they are skipped (pcapng §4: readers skip unknown blocks).
	UnknownBlocks int64
	// Links are the link types the file declares (the pcap header, the
	// pcapng interfaces), in the order first declared.
	Links []LinkType
	// Dropped is what the capture itself says it lost: the sum, over the
	// pcapng interfaces, of the latest interface statistics block's
	// isb_ifdrop and isb_osdrop (packets the interface and the operating
	// system dropped while capturing; dumpcap writes them when it stops).
	// DropsKnown says some block gave either; pcap files never do.
	Dropped    int64
	DropsKnown bool
}

// maxLinks bounds ReadStats.Links: a file of interface blocks must not
// hold memory in proportion to its size.
const maxLinks = 16

const (
	// maxCaplen is libpcap's MAXIMUM_SNAPLEN and Wireshark's largest
	// packet for Ethernet-like links: a record longer than this and than
	// the file's own snap length is damage, not a packet.
	maxCaplen = 262144
	// bufSize holds any record we accept, so that Next hands out packets
	// straight from the bufio buffer (Peek): each byte is copied once,
	// from the file into the buffer. Larger blocks are damage, except
	// non-packet pcapng blocks, which are skipped without being buffered.
	bufSize = 1 << 20
	// limitCaplen bounds caplen even when a file declares a bigger snap length.
	limitCaplen = bufSize - 64
	// maxIfaces bounds the interfaces of one pcapng section (obsolete
	// packet blocks number them in 16 bits), so that a file of interface
	// blocks cannot hold memory in proportion to its size.
	maxIfaces = 1 << 16
)

const (
	magicGzip   = "\x1f\x8b"
	magicZstd   = "\x28\xb5\x2f\xfd"
	magicNg     = "\x0a\x0d\x0d\x0a"
	ngBOMLittle = "\x4d\x3c\x2b\x1a"
	ngBOMBig    = "\x1a\x2b\x3c\x4d"
)

// pcapng block types (draft-ietf-opsawg-pcapng §10.1).
const (
	ngSHB     = 0x0a0d0d0a
	ngIDB     = 0x00000001
	ngPB      = 0x00000002 // obsolete Packet Block
	ngSPB     = 0x00000003
	ngNRB     = 0x00000004
	ngISB     = 0x00000005
	ngEPB     = 0x00000006
	ngJournal = 0x00000009
	ngDSB     = 0x0000000a
	ngCustom  = 0x00000bad
	ngCustom2 = 0x40000bad
)

// Reader reads the records of one pcap or pcapng stream, possibly
// gzip- or zstd-compressed. Not safe for concurrent use.
type Reader struct {
	br    *blockReader
	off   int64 // offset of the next record in the decompressed stream
	frame int64 // last frame number handed out or skipped
	err   error // sticky: io.EOF or a *DamageError

	ng  bool
	big bool // byte order of the pcap file or current pcapng section

	// pcap
	nano    bool
	snaplen uint32
	link    LinkType

	// pcapng: interfaces of the current section
	ifaces []ngIface

	stats  ReadStats
	cutErr error // what the stream returned when a record was cut short

	keep    func(LinkType) bool
	zstd    *zstd.Decoder
	release func() // gives back what was taken of Config.Memory
}

// Close gives back what the reader holds beyond its buffers: the zstd
// decoder and its share of Config.Memory. Reading after Close is an error.
func (r *Reader) Close() {
	if r.zstd != nil {
		r.zstd.Close()
		r.zstd = nil
	}
	if r.release != nil {
		r.release()
		r.release = nil
	}
	if r.err == nil {
		r.err = errClosed
	}
}

var errClosed = errors.New("reader closed")

type ngIface struct {
	link     LinkType
	snaplen  uint32
	tsExp    uint8 // timestamp unit is 10^-tsExp s, or 2^-tsExp s when tsPow2
	tsPow2   bool
	tsOffset int64  // seconds added to every timestamp (if_tsoffset)
	dropped  uint64 // from its latest statistics block (ISB)
}

// NewReader sniffs r's first bytes (never a file name): gzip and zstd
// are decompressed, then a pcap (any of its four magics) or pcapng header
// is read. Anything else is an error wrapping ErrNotCapture that says
// what the input looks like.
func NewReader(r io.Reader) (*Reader, error) { return Config{}.Open(context.Background(), r) }

// newReader is NewReader with c's limits and wrap, when not nil, around the
// decompressed stream.
func newReader(ctx context.Context, r io.Reader, c Config, wrap func(io.Reader) io.Reader) (*Reader, error) {
	var raw *bufio.Reader
	if wrap != nil {
		// A live source: reads of the input must not wait for 64 KiB.
		raw = bufio.NewReaderSize(r, 16)
	} else {
		raw = bufio.NewReaderSize(r, 64<<10)
	}
	head, err := raw.Peek(4)
	if len(head) == 0 {
		if err != nil && err != io.EOF {
			return nil, err
		}
		return nil, notCapture("empty file")
	}
	rd := &Reader{}
	var src io.Reader = raw
	switch {
	case string(head[:min(2, len(head))]) == magicGzip:
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, compressErr("gzip", err)
		}
		src, rd.stats.Compression = zr, "gzip"
	case string(head) == magicZstd:
		limit := c.MaxZstdWindow
		if limit == 0 {
			limit = DefaultMaxZstdWindow
		}
		fh, _ := raw.Peek(18) // the longest frame header
		window, ok := zstdWindow(fh)
		if ok && window > limit {
			return nil, &WindowError{Window: window, Limit: limit}
		}
		if c.Memory != nil && ok {
			took, err := c.Memory.take(ctx, int64(window))
			if err != nil {
				return nil, err
			}
			rd.release = func() { c.Memory.sem.Release(took) }
		}
		// Concurrency 1 decodes in the caller's goroutine: the Reader
		// has nothing to stop others with but Close.
		zr, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(limit))
		if err != nil {
			rd.Close()
			return nil, compressErr("zstd", err)
		}
		src, rd.stats.Compression = zr, "zstd"
		rd.zstd = zr
	}
	if wrap != nil {
		src = wrap(src)
	}
	rd.br = newBlockReader(src, bufSize)
	if err := rd.readHeader(); err != nil {
		rd.Close()
		return nil, err
	}
	return rd, nil
}

func notCapture(what string) error { return fmt.Errorf("%w: %s", ErrNotCapture, what) }

func compressErr(kind string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return notCapture(kind + " stream ends early")
	}
	return fmt.Errorf("%w: bad %s stream: %v", ErrNotCapture, kind, err)
}

func (r *Reader) readHeader() error {
	head, err := r.br.Peek(4)
	if len(head) < 4 {
		return r.sniffErr(head, err)
	}
	switch {
	case string(head) == magicNg:
		r.ng = true
		r.stats.Format = "pcapng"
		_, _, err := r.nextNg()
		if r.cutErr != nil && r.cutErr != io.EOF && r.stats.Compression != "" {
			return compressErr(r.stats.Compression, r.cutErr)
		}
		if err != nil {
			var de *DamageError
			if errors.As(err, &de) {
				return fmt.Errorf("%w: pcapng section header: %v", ErrNotCapture, de.Err)
			}
			return fmt.Errorf("%w: pcapng section header: %v", ErrNotCapture, err)
		}
		return nil
	}
	var nano bool
	switch binary.LittleEndian.Uint32(head) {
	case 0xa1b2c3d4:
	case 0xd4c3b2a1:
		r.big = true
	case 0xa1b23c4d:
		nano = true
	case 0x4d3cb2a1:
		r.big, nano = true, true
	default:
		return r.sniffErr(head, err)
	}
	r.stats.Format = "pcap"
	h, err := r.br.Peek(24)
	if len(h) < 24 {
		if r.stats.Compression != "" && err != nil && err != io.EOF {
			return compressErr(r.stats.Compression, err)
		}
		return fmt.Errorf("%w: pcap file header cut short (%d of 24 bytes)", ErrNotCapture, len(h))
	}
	if major := r.u16(h[4:]); major != 2 {
		return fmt.Errorf("%w: pcap version %d.%d", ErrNotCapture, major, r.u16(h[6:]))
	}
	r.nano = nano
	r.snaplen = r.u32(h[16:])
	// The upper bits of the link type field carry FCS information
	// (pcap-linktype(7): LT_LINKTYPE masks with 0x03FFFFFF); the link
	// type itself is the low 16 bits.
	r.link = LinkType(r.u32(h[20:]) & 0xffff)
	r.declare(r.link)
	r.consume(24)
	return nil
}

// sniffErr says what the first bytes look like, for a stream that holds
// no capture magic.
func (r *Reader) sniffErr(head []byte, err error) error {
	if r.stats.Compression != "" && err != nil && err != io.EOF {
		return compressErr(r.stats.Compression, err)
	}
	if len(head) == 0 {
		if r.stats.Compression != "" {
			return notCapture("empty " + r.stats.Compression + " stream")
		}
		return notCapture("empty file")
	}
	b, _ := r.br.Peek(512)
	if len(b) < len(head) {
		b = head
	}
	return notCapture(describe(b))
}

// describe names what a non-capture looks like from its first bytes.
func describe(b []byte) string {
	t := bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	t = bytes.TrimLeft(t, " \t\r\n")
	low := bytes.ToLower(t)
	for _, tag := range []string{"<!doctype html", "<html", "<head", "<body"} {
		if bytes.Contains(low, []byte(tag)) {
			return "looks like HTML"
		}
	}
	if looksText(b) {
		return "looks like text"
	}
	if len(b) < 4 {
		return fmt.Sprintf("too short for a capture (%d bytes)", len(b))
	}
	return fmt.Sprintf("unknown magic 0x%08x", binary.BigEndian.Uint32(b))
}

func looksText(b []byte) bool {
	for len(b) > 0 {
		c, n := utf8.DecodeRune(b)
		if c == utf8.RuneError && n <= 1 {
			// A rune cut by the sniff window still counts as text.
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' || c == 0x7f {
			return false
		}
		b = b[n:]
	}
	return true
}

// Next returns the next record whose link type the decoder handles. It
// returns io.EOF at a clean end and a *DamageError when the stream breaks
// mid-record; after either, it returns the same error again.
func (r *Reader) Next() (Raw, error) {
	if r.err != nil {
		return Raw{}, r.err
	}
	for {
		var (
			raw Raw
			ok  bool
			err error
		)
		if r.ng {
			raw, ok, err = r.nextNg()
		} else {
			raw, ok, err = r.nextPcap()
		}
		if err != nil {
			r.err = err
			return Raw{}, err
		}
		if ok {
			return raw, nil
		}
	}
}

// Offset is the byte offset in the decompressed stream where the next
// record starts, or where reading stopped.
func (r *Reader) Offset() int64 { return r.off }

// Stats returns what the reader has counted so far.
func (r *Reader) Stats() ReadStats {
	s := r.stats
	s.Frames = r.frame
	s.Bytes = r.off
	s.Skipped = maps.Clone(r.stats.Skipped)
	s.Links = slices.Clone(r.stats.Links)
	for i := range r.ifaces {
		s.Dropped = satAdd(s.Dropped, r.ifaces[i].dropped)
	}
	return s
}

// declare notes a link type the file declares.
func (r *Reader) declare(link LinkType) {
	if len(r.stats.Links) < maxLinks && !slices.Contains(r.stats.Links, link) {
		r.stats.Links = append(r.stats.Links, link)
	}
}

func (r *Reader) u16(b []byte) uint16 {
	if r.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) consume(n int) {
	r.br.Discard(n) // n bytes were peeked: Discard cannot fail
	r.off += int64(n)
}

func (r *Reader) damage(err error) error {
	return &DamageError{Frame: r.frame + 1, Offset: r.off, Err: err}
}

// cutShort is the damage of a record or block the stream ends inside.
func (r *Reader) cutShort(what string, got, want int64, err error) error {
	r.cutErr = err
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return r.damage(fmt.Errorf("%s cut short (%d of %d bytes): %w", what, got, want, err))
}

// Keep sets which link types Next returns; records of the others keep
// their frame numbers and are counted in ReadStats.Skipped. The reader
// knows file formats, not link layers: the decoder says what it can
// decode. nil, the default, keeps every record.
func (r *Reader) Keep(keep func(LinkType) bool) { r.keep = keep }

func (r *Reader) keeps(link LinkType) bool { return r.keep == nil || r.keep(link) }

// SetFresh gives the reader a source of new blocks to read into, so that
// the records it hands out can leave the reading goroutine without a
// copy: from then on the bytes of a record stay where they are until
// whoever owns their block reuses it (see blockReader.SetFresh).
func (r *Reader) SetFresh(fresh func(n int) []byte) { r.br.SetFresh(fresh) }

// skip gives frame r.frame (already counted) to a record of a link type
// the decoder cannot handle.
func (r *Reader) skip(link LinkType) {
	if r.stats.Skipped == nil {
		r.stats.Skipped = make(map[LinkType]int64)
	}
	r.stats.Skipped[link]++
}

// tooLong says why a record's length is refused: over its file's snap
// length, or over what any capture holds when the snap length is larger
// still ("record length 4294967280 exceeds snap length 4294967295" said
// nothing).
func tooLong(what string, caplen, snaplen uint32) error {
	if limit := capLimit(snaplen); snaplen > limit {
		return fmt.Errorf("%s length %d is over %d bytes, the most rstwhy reads of one packet (the file's snap length is %d)", what, caplen, limit, snaplen)
	}
	return fmt.Errorf("%s length %d exceeds snap length %d", what, caplen, snaplen)
}

// capLimit is the longest record accepted under a snap length. Writers
// that do not truncate to the snap length they declare (dpkt) make longer
// records; libpcap and Wireshark read those up to their own maximum.
func capLimit(snaplen uint32) uint32 {
	return min(max(snaplen, maxCaplen), limitCaplen)
}

func (r *Reader) nextPcap() (Raw, bool, error) {
	h, err := r.br.Peek(16)
	if len(h) < 16 {
		if len(h) == 0 && err == io.EOF {
			return Raw{}, false, io.EOF
		}
		return Raw{}, false, r.cutShort("record header", int64(len(h)), 16, err)
	}
	caplen, orig := r.u32(h[8:]), r.u32(h[12:])
	if caplen > capLimit(r.snaplen) {
		return Raw{}, false, r.damage(tooLong("record", caplen, r.snaplen))
	}
	n := 16 + int(caplen)
	b, err := r.br.Peek(n)
	if len(b) < n {
		return Raw{}, false, r.cutShort("record", int64(len(b)), int64(n), err)
	}
	// b, not h: the second Peek may have moved the buffered bytes.
	sec, frac := int64(r.u32(b[0:])), int64(r.u32(b[4:]))
	if !r.nano {
		frac *= 1000
	}
	raw := Raw{Frame: r.frame + 1, TS: sec*1e9 + frac, Link: r.link, Data: b[16:n:n], OrigLen: int(orig)}
	r.frame++
	r.consume(n)
	if !r.keeps(r.link) {
		r.skip(r.link)
		return Raw{}, false, nil
	}
	return raw, true, nil
}

// nextNg reads one pcapng block. It reports ok for a packet the caller
// gets; every other block, and packets of link types not kept, return !ok.
func (r *Reader) nextNg() (Raw, bool, error) {
	typ, blen, err := r.ngHeader()
	if err != nil {
		return Raw{}, false, err
	}
	switch typ {
	case ngSHB, ngIDB, ngEPB, ngSPB, ngPB:
	case ngISB:
		if blen > bufSize {
			return Raw{}, false, r.skipBlock(typ, blen)
		}
	case ngNRB, ngDSB:
		return Raw{}, false, r.skipBlock(typ, blen)
	case ngJournal, ngCustom, ngCustom2:
		// Wireshark shows these as frames (tshark 4.0 numbers custom
		// blocks of any vendor): they keep a number here too.
		if err := r.skipBlock(typ, blen); err != nil {
			return Raw{}, false, err
		}
		r.frame++
		r.stats.SkippedRecords++
		return Raw{}, false, nil
	default:
		r.stats.UnknownBlocks++
		return Raw{}, false, r.skipBlock(typ, blen)
	}
	if blen > bufSize {
		return Raw{}, false, r.damage(fmt.Errorf("block type 0x%x: length %d too large", typ, blen))
	}
	n := int(blen)
	b, err := r.br.Peek(n)
	if len(b) < n {
		return Raw{}, false, r.cutShort(fmt.Sprintf("block type 0x%x", typ), int64(len(b)), int64(n), err)
	}
	if end := r.u32(b[n-4:]); end != blen {
		return Raw{}, false, r.damage(fmt.Errorf("block type 0x%x: length %d at start, %d at end", typ, blen, end))
	}
	body := b[8 : n-4]
	var raw Raw
	switch typ {
	case ngSHB:
		err = r.ngSection(body)
	case ngIDB:
		err = r.ngInterface(body)
	case ngEPB, ngPB:
		raw, err = r.ngPacket(typ, body)
	case ngSPB:
		raw, err = r.ngSimplePacket(body)
	case ngISB:
		r.ngStatistics(body)
	}
	if err != nil {
		return Raw{}, false, err
	}
	if typ == ngSHB || typ == ngIDB || typ == ngISB {
		r.consume(n)
		return Raw{}, false, nil
	}
	r.frame++
	raw.Frame = r.frame
	r.consume(n)
	if !r.keeps(raw.Link) {
		r.skip(raw.Link)
		return Raw{}, false, nil
	}
	return raw, true, nil
}

// ngHeader reads a block's type and length, and a section header's byte
// order, which holds for everything up to the next one, its own length
// included.
func (r *Reader) ngHeader() (typ, blen uint32, err error) {
	h, err := r.br.Peek(12)
	if len(h) < 12 {
		if len(h) == 0 && err == io.EOF {
			return 0, 0, io.EOF
		}
		if len(h) < 8 || string(h[:4]) != magicNg {
			return 0, 0, r.cutShort("block header", int64(len(h)), 12, err)
		}
		return 0, 0, r.cutShort("section header", int64(len(h)), 12, err)
	}
	if string(h[:4]) == magicNg {
		switch {
		case string(h[8:12]) == ngBOMLittle:
			r.big = false
		case string(h[8:12]) == ngBOMBig:
			r.big = true
		default:
			return 0, 0, r.damage(fmt.Errorf("section header byte-order magic 0x%x", h[8:12]))
		}
	}
	typ, blen = r.u32(h[0:]), r.u32(h[4:])
	if blen < 12 || blen%4 != 0 {
		return 0, 0, r.damage(fmt.Errorf("block type 0x%x: bad length %d", typ, blen))
	}
	return typ, blen, nil
}

// ngSection starts a section: its interfaces are new.
func (r *Reader) ngSection(body []byte) error {
	if len(body) < 16 {
		return r.damage(fmt.Errorf("section header too short (%d bytes)", len(body)+12))
	}
	if major := r.u16(body[4:]); major != 1 {
		return r.damage(fmt.Errorf("pcapng version %d.%d", major, r.u16(body[6:])))
	}
	r.foldDrops()
	r.ifaces = r.ifaces[:0]
	return nil
}

// ngStatistics takes an interface statistics block (pcapng §4.6): its
// isb_ifdrop (option 5) and isb_osdrop (7), counts since the capture
// began, so the latest block of an interface holds its total. A block too
// short, or naming no interface of the section, says nothing and is
// passed over: statistics are no packets, and no damage to them stops a
// read.
func (r *Reader) ngStatistics(body []byte) {
	if len(body) < 12 {
		return
	}
	id := r.u32(body)
	if id >= uint32(len(r.ifaces)) {
		return
	}
	var drops uint64
	known := false
	opts := body[12:]
	for len(opts) >= 4 {
		code, n := r.u16(opts), int(r.u16(opts[2:]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		if v := opts[4 : 4+n]; (code == 5 || code == 7) && n == 8 {
			d := binary.LittleEndian.Uint64(v)
			if r.big {
				d = binary.BigEndian.Uint64(v)
			}
			if drops += d; drops < d {
				drops = math.MaxUint64 // a count read from a file: saturate, never wrap
			}
			known = true
		}
		opts = opts[min(4+(n+3)&^3, len(opts)):]
	}
	if known {
		r.ifaces[id].dropped = drops
		r.stats.DropsKnown = true
	}
}

// foldDrops adds the section's interfaces' drops to the file's, before a
// new section's interfaces replace them.
func (r *Reader) foldDrops() {
	for i := range r.ifaces {
		r.stats.Dropped = satAdd(r.stats.Dropped, r.ifaces[i].dropped)
	}
}

// satAdd adds a count read from a file to a total without wrapping.
func satAdd(total int64, n uint64) int64 {
	if n > math.MaxInt64-uint64(max(total, 0)) {
		return math.MaxInt64
	}
	return total + int64(n)
}

// ngInterface adds an interface to the section.
func (r *Reader) ngInterface(body []byte) error {
	if len(body) < 8 {
		return r.damage(fmt.Errorf("interface block too short (%d bytes)", len(body)+12))
	}
	if len(r.ifaces) >= maxIfaces {
		return r.damage(fmt.Errorf("more than %d interfaces in a section", maxIfaces))
	}
	r.ifaces = append(r.ifaces, r.parseIDB(body))
	r.declare(r.ifaces[len(r.ifaces)-1].link)
	return nil
}

// ngPacket reads an enhanced packet block, or an obsolete packet block.
func (r *Reader) ngPacket(typ uint32, body []byte) (Raw, error) {
	if len(body) < 20 {
		return Raw{}, r.damage(fmt.Errorf("packet block too short (%d bytes)", len(body)+12))
	}
	var id uint32
	if typ == ngEPB {
		id = r.u32(body)
	} else {
		id = uint32(r.u16(body))
	}
	if id >= uint32(len(r.ifaces)) {
		return Raw{}, r.damage(fmt.Errorf("packet on interface %d, section has %d", id, len(r.ifaces)))
	}
	ifc := &r.ifaces[id]
	caplen := r.u32(body[12:])
	if caplen > uint32(len(body)-20) {
		return Raw{}, r.damage(fmt.Errorf("packet length %d exceeds its block (%d bytes)", caplen, len(body)+12))
	}
	if caplen > capLimit(ifc.snaplen) {
		return Raw{}, r.damage(tooLong("packet", caplen, ifc.snaplen))
	}
	ts := uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:]))
	return Raw{TS: ifc.nanos(ts), Link: ifc.link, Data: body[20 : 20+caplen : 20+caplen], OrigLen: int(r.u32(body[16:])), Iface: id}, nil
}

// ngSimplePacket reads a simple packet block, always of the first
// interface.
func (r *Reader) ngSimplePacket(body []byte) (Raw, error) {
	if len(body) < 4 {
		return Raw{}, r.damage(fmt.Errorf("simple packet block too short (%d bytes)", len(body)+12))
	}
	if len(r.ifaces) == 0 {
		return Raw{}, r.damage(errors.New("simple packet block before any interface"))
	}
	ifc := &r.ifaces[0]
	orig := r.u32(body)
	// The SPB has no caplen: the packet is the original length cut to
	// the snap length and to the block (pcapng §4.4).
	caplen := min(orig, uint32(len(body)-4))
	if ifc.snaplen != 0 {
		caplen = min(caplen, ifc.snaplen)
	}
	if caplen > capLimit(ifc.snaplen) {
		return Raw{}, r.damage(tooLong("packet", caplen, ifc.snaplen))
	}
	return Raw{Link: ifc.link, Data: body[4 : 4+caplen : 4+caplen], OrigLen: int(orig)}, nil
}

// skipBlock passes over a block without buffering it, checking that it
// is all there and ends with its own length.
func (r *Reader) skipBlock(typ, blen uint32) error {
	// In int64 and in steps: a block length near 4 GiB must not wrap an
	// int where it has 32 bits.
	n, d := int64(blen)-4, int64(0)
	for d < n {
		step := int(min(n-d, 1<<30))
		m, err := r.br.Discard(step)
		d += int64(m)
		r.off += int64(m)
		if m < step {
			r.off -= d // report the block's start
			return r.cutShort(fmt.Sprintf("block type 0x%x", typ), d, int64(blen), err)
		}
	}
	t, err := r.br.Peek(4)
	if len(t) < 4 {
		r.off -= d
		return r.cutShort(fmt.Sprintf("block type 0x%x", typ), d+int64(len(t)), int64(blen), err)
	}
	if end := r.u32(t); end != blen {
		r.off -= d
		return r.damage(fmt.Errorf("block type 0x%x: length %d at start, %d at end", typ, blen, end))
	}
	r.consume(4)
	return nil
}

// parseIDB reads an interface description block body (pcapng §4.2).
func (r *Reader) parseIDB(b []byte) ngIface {
	ifc := ngIface{link: LinkType(r.u16(b)), snaplen: r.u32(b[4:]), tsExp: 6}
	opts := b[8:]
	for len(opts) >= 4 {
		code, n := r.u16(opts), int(r.u16(opts[2:]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		v := opts[4 : 4+n]
		switch {
		case code == 9 && n >= 1: // if_tsresol
			ifc.tsPow2, ifc.tsExp = v[0]&0x80 != 0, v[0]&0x7f
		case code == 14 && n >= 8: // if_tsoffset
			if r.big {
				ifc.tsOffset = int64(binary.BigEndian.Uint64(v))
			} else {
				ifc.tsOffset = int64(binary.LittleEndian.Uint64(v))
			}
		}
		opts = opts[min(4+(n+3)&^3, len(opts)):]
	}
	return ifc
}

// nanos converts a timestamp in the interface's units to Unix nanoseconds.
func (ifc *ngIface) nanos(ts uint64) int64 {
	var ns uint64
	switch {
	case ifc.tsPow2:
		// ts * 1e9 / 2^exp, in 128 bits: exp may be up to 127.
		hi, lo := bits.Mul64(ts, 1e9)
		switch e := uint(ifc.tsExp); {
		case e == 0:
			ns = lo
		case e < 64:
			ns = lo>>e | hi<<(64-e)
		default:
			ns = hi >> (e - 64)
		}
	case ifc.tsExp <= 9:
		ns = ts * pow10(9-ifc.tsExp)
	case ifc.tsExp-9 < 20:
		ns = ts / pow10(ifc.tsExp-9)
	}
	return int64(ns) + ifc.tsOffset*1e9
}

func pow10(n uint8) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// TakeBuffered appends to recs, up to their capacity, the pcap records
// that lie wholly in the reader's buffer, checked as nextPcap checks
// them, and consumes them. It stops at the first that is not whole or
// not plain (too long for the snap length, or of a link type the decoder
// skips), which Next then reads, and returns at once on pcapng or after
// an error. With several workers it saves Next's per-record layers on the
// goroutine everything else waits for.
func (r *Reader) TakeBuffered(recs []Raw) []Raw {
	if r.ng || r.err != nil || !r.keeps(r.link) {
		return recs
	}
	b := r.br.buf[r.br.r:r.br.w]
	limit := capLimit(r.snaplen)
	off := 0
	for len(recs) < cap(recs) && len(b)-off >= 16 {
		h := b[off : off+16]
		caplen := r.u32(h[8:])
		n := 16 + int(caplen)
		if caplen > limit || len(b)-off < n {
			break
		}
		sec, frac := int64(r.u32(h[0:])), int64(r.u32(h[4:]))
		if !r.nano {
			frac *= 1000
		}
		r.frame++
		recs = append(recs, Raw{Frame: r.frame, TS: sec*1e9 + frac, Data: b[off+16 : off+n : off+n], Link: r.link, OrigLen: int(r.u32(h[12:]))})
		off += n
	}
	r.br.r += off
	r.off += int64(off)
	return recs
}
