package scan

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/rstwhy/rstwhy/capture"
)

// CapturePoint names the capture point a file belongs to: its folder and
// its name with every run of digits made one '#'. The files one
// `tcpdump -G 300 -w 'eth0-%Y%m%d-%H%M%S.pcap'` writes (and gzip
// renames to .pcap.gz, all of them alike) share one; so do the
// numbered files of `tcpdump -C 100 -w eth0.pcap` (eth0.pcap1, ...), but
// for the first of them, which has no number.
func CapturePoint(rel string) string {
	dir, name := path.Split(rel)
	var b strings.Builder
	b.WriteString(dir)
	digits := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= '0' && c <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteByte(c)
	}
	return b.String()
}

// FirstTime returns the time of a capture's first record (Unix
// nanoseconds): what orders the files of a capture point, whose names
// may not sort by time (a counter that wraps, a time zone change). ok is
// false for a file that is not a capture or has no record.
func FirstTime(ctx context.Context, cfg capture.Config, r io.Reader) (ts int64, ok bool) {
	rd, err := cfg.Open(ctx, r)
	if err != nil {
		return 0, false
	}
	defer rd.Close()
	raw, err := rd.Next()
	if err != nil {
		return 0, false
	}
	return raw.TS, true
}

// Join is one capture read with its capture point's previous file in
// front: its stream is the previous file's records, then this file's,
// rewritten as one pcapng stream (an interface for each link type met),
// so that connections crossing the rotation are tracked from their
// start. Frames are numbered on: this file's frame N is Boundary()+N.
//
// Either file damaged, its records up to the damage are passed on; this
// file's damage is kept for the caller (Damage), the previous file's is
// its own scan's to report.
type Join struct {
	r        *io.PipeReader
	boundary atomic.Int64 // the previous file's last frame; -1 until it is all written
	damage   error        // this file's, once the stream has ended
	stats    capture.ReadStats
	done     chan struct{} // the writer has ended
}

// NewJoin starts writing the joined stream. prev may be nil (no previous
// file, or one that cannot be read: then nothing is in front). this is
// already open: the caller opened it to know that it is a capture.
func NewJoin(ctx context.Context, cfg capture.Config, prev io.Reader, this *capture.Reader) *Join {
	pr, pw := io.Pipe()
	j := &Join{r: pr, done: make(chan struct{})}
	j.boundary.Store(-1)
	go func() {
		defer close(j.done)
		w := &ngWriter{w: bufio.NewWriterSize(pw, 256<<10), ifaces: map[capture.LinkType]uint32{}}
		w.header()
		var frames int64
		if prev != nil {
			if rd, err := cfg.Open(ctx, prev); err == nil {
				frames, _ = w.copy(rd, 0)
				rd.Close()
			}
		}
		j.boundary.Store(frames)
		// copy ends at an error: io.EOF at the clean end.
		if _, err := w.copy(this, frames); !errors.Is(err, io.EOF) {
			j.damage = err
		}
		j.stats = this.Stats()
		if werr := w.w.Flush(); werr != nil {
			pw.CloseWithError(werr)
			return
		}
		pw.Close()
	}()
	return j
}

// Read reads the joined stream.
func (j *Join) Read(p []byte) (int, error) { return j.r.Read(p) }

// Close lets the writer go if the stream was not read to its end, and
// waits for it.
func (j *Join) Close() {
	j.r.Close()
	<-j.done
}

// Boundary is the previous file's last frame, once it has all been
// written (ok is false before: a record then is the previous file's).
func (j *Join) Boundary() (frames int64, ok bool) {
	b := j.boundary.Load()
	return b, b >= 0
}

// Damage is this file's damage, after the stream has been read to its
// end; Stats this file's reader's counts.
func (j *Join) Damage() error            { return j.damage }
func (j *Join) Stats() capture.ReadStats { return j.stats }

// ngWriter writes pcapng: a section header, an interface for each link
// type as it first comes (nanosecond timestamps), an Enhanced Packet
// Block a record (RFC draft-ietf-opsawg-pcapng §4).
type ngWriter struct {
	w      *bufio.Writer
	ifaces map[capture.LinkType]uint32
	buf    []byte
}

func (n *ngWriter) block(typ uint32, body []byte) {
	pad := (4 - len(body)%4) % 4
	total := uint32(12 + len(body) + pad)
	var h [8]byte
	binary.LittleEndian.PutUint32(h[0:], typ)
	binary.LittleEndian.PutUint32(h[4:], total)
	n.w.Write(h[:])
	n.w.Write(body)
	n.w.Write(make([]byte, pad))
	n.w.Write(h[4:8])
}

func (n *ngWriter) header() {
	body := make([]byte, 16)
	binary.LittleEndian.PutUint32(body[0:], 0x1a2b3c4d) // byte-order magic
	binary.LittleEndian.PutUint16(body[4:], 1)
	binary.LittleEndian.PutUint16(body[6:], 0)
	binary.LittleEndian.PutUint64(body[8:], ^uint64(0)) // section length unknown
	n.block(0x0a0d0d0a, body)
}

func (n *ngWriter) iface(link capture.LinkType) uint32 {
	if id, ok := n.ifaces[link]; ok {
		return id
	}
	id := uint32(len(n.ifaces))
	n.ifaces[link] = id
	// link type, reserved, snap length 0 (none); if_tsresol 9: ns.
	body := make([]byte, 8, 20)
	binary.LittleEndian.PutUint16(body[0:], uint16(link))
	body = append(body, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0)
	n.block(1, body)
	return id
}

// copy writes rd's records, numbered from base: a frame number the
// reader skips (a pcapng block Wireshark counts but rstwhy does not
// return) is kept as an empty record, so that frames stay where they
// were. It returns the last frame written and what ended the records:
// io.EOF or damage.
func (n *ngWriter) copy(rd *capture.Reader, base int64) (int64, error) {
	last := base
	for {
		raw, err := rd.Next()
		if err != nil {
			return last, err
		}
		for base+raw.Frame > last+1 {
			n.epb(raw.Link, raw.TS, nil, 0)
			last++
		}
		n.epb(raw.Link, raw.TS, raw.Data, raw.OrigLen)
		last = base + raw.Frame
	}
}

func (n *ngWriter) epb(link capture.LinkType, ts int64, data []byte, orig int) {
	id := n.iface(link)
	n.buf = n.buf[:0]
	n.buf = binary.LittleEndian.AppendUint32(n.buf, id)
	n.buf = binary.LittleEndian.AppendUint32(n.buf, uint32(uint64(ts)>>32))
	n.buf = binary.LittleEndian.AppendUint32(n.buf, uint32(ts))
	n.buf = binary.LittleEndian.AppendUint32(n.buf, uint32(len(data)))
	n.buf = binary.LittleEndian.AppendUint32(n.buf, uint32(max(orig, len(data))))
	n.buf = append(n.buf, data...)
	n.block(6, n.buf)
}

// frameRef finds the frame numbers evidence cites: "frame 12", "frames
// 3-5", "frames 9, 11, 13".
var frameRef = regexp.MustCompile(`\bframes? \d+(?:(?:-|, | and )\d+)*`)

var number = regexp.MustCompile(`\d+`)

// Renumber rewrites a joined record to its own file's frames: frame N of
// the joined stream is this file's N-boundary, or, at or below boundary,
// the previous file's N, named so ("frame 812 of eth0-1200.pcap").
func Renumber(s string, boundary int64, prevName string) string {
	return frameRef.ReplaceAllStringFunc(s, func(ref string) string {
		prev := false
		out := number.ReplaceAllStringFunc(ref, func(d string) string {
			n, err := strconv.ParseInt(d, 10, 64)
			if err != nil {
				return d
			}
			if n <= boundary {
				prev = true
				return d
			}
			return strconv.FormatInt(n-boundary, 10)
		})
		if prev {
			out += " of " + prevName
		}
		return out
	})
}
