package appctx

import (
	"bytes"
	"runtime"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/internal/offheap"
	"github.com/rstwhy/rstwhy/track"
)

// DefaultBytes is how many bytes of each direction an Observer keeps when
// Bytes is 0: a TLS ClientHello with a post-quantum key share (some 1.8 KB,
// the server name anywhere in it when the client shuffles its extensions)
// and an HTTP request head with a few cookies fit.
const DefaultBytes = 2048

// MaxBytes is the most an Observer keeps of a direction.
const MaxBytes = 64 << 10

// Observer keeps the first bytes of each direction of every connection a
// tracker follows and, at each RST, parses them into a Context for Take.
// Set it as the tracker's Observer; it is not safe for concurrent use (a
// tracker calls it from its own goroutine). The zero value keeps
// DefaultBytes a direction and matches nothing.
//
// A direction whose first segment starts as nothing Parse reads (an HTTP
// method or status line, a TLS record, an SSH banner, the HTTP/2 preface;
// anything on a port where STARTTLS or an SSLRequest may come first) is
// not kept, unless Grep is set: what it would hold could name nothing.
// Nor are a TLS server's bytes: only its last record is followed.
type Observer struct {
	// Bytes kept of each direction: 0 means DefaultBytes; at most MaxBytes.
	Bytes int
	// Grep, when not empty, is looked for in the first Bytes of each
	// direction: Context.Match says whether either holds it. A direction
	// worth keeping is searched at each RST in the bytes kept; the others
	// (and a TLS server's) are searched as they come and not kept, with
	// the last len(Grep)-1 bytes carried from one segment to the next,
	// for a Grep of at most grepTail+1 bytes (a longer one keeps every
	// direction).
	Grep []byte

	scratch []byte // search's window: the carried tail and a segment

	slots   []slot
	free    []int32   // slots free
	chunks  [][]byte  // the buffers, 2n bytes each
	at      []bufAt   // where buffer i+1 is
	freeBuf []int32   // buffers free
	mem     *regions  // the chunks' mappings
	queue   []pending // Contexts of resets not yet taken, in frame order
	head    int
}

// A chunk holds firstChunk buffers, each next one twice as many up to
// maxChunk: few mappings for many connections, little unused for few. At
// the default Bytes the largest is 2 MiB, one huge page (offheap.Map
// aligns and advises it): one fault instead of 512 (perf: page faults
// were 6% of a run keeping every direction).
const (
	firstChunk = 8
	maxChunk   = 512
)

// bufAt is where a buffer is: its chunk and its byte offset in it.
type bufAt struct{ chunk, off int32 }

// regions are an Observer's mappings, unmapped by Close or once the
// collector finds the Observer unreachable.
type regions struct{ list []offheap.Region }

func (m *regions) unmapAll() {
	for _, r := range m.list {
		r.Unmap()
	}
	m.list = nil
}

// Close gives back the Observer's buffers. The Contexts queued stay, and
// Take still returns them; Segment must not be called after Close.
func (o *Observer) Close() {
	if o.mem != nil {
		o.mem.unmapAll()
	}
	o.chunks, o.at, o.freeBuf, o.slots, o.free = nil, nil, nil, nil, nil
}

type pending struct {
	frame int64
	ctx   Context
}

// slot is what an Observer keeps of one connection that has a direction
// worth keeping.
type slot struct {
	dir [2]stream
	buf int32 // the connection's buffer, from 1; 0: none (given back once parsed)
	// parsed is set once nothing more will be kept (each side kept its
	// fill or sent its FIN, or a RST came): the bytes were parsed then and
	// the buffer given back, so that a long transfer holds a Context of a
	// few hundred bytes rather than its buffer until it ends.
	parsed *Context
	// settled is set with parsed, or alone when the bytes named nothing:
	// then nothing is allocated, and a reset gets the Context of the
	// slot's streams without their bytes, which says as much.
	settled bool
	matched bool // Grep was found in a searchOnly direction
	// later follows an HTTP/1.x connection past its first request (the
	// slot's mark has markFollow): made at its second.
	later *later
}

// later is what an Observer follows of a kept-alive HTTP/1.x connection
// after its first request: the latest request line that began a client
// segment, and the status line that began a server segment after it. A
// reset on such a connection most often cuts its latest exchange, not
// its first.
type later struct {
	requests  int    // request lines seen, the first included
	reqSeq    uint32 // the latest one's sequence number: a retransmission repeats it
	reqFrame  int64
	request   string
	reqAt     int64 // the client's payload bytes before it
	respSeq   uint32
	respFrame int64 // 0: no status line since the latest request
	response  string
	status    int
}

// stream is one direction of a connection.
type stream struct {
	base  uint32 // the sequence number of the first byte kept
	kept  uint32 // bytes kept, contiguous from base
	state uint8  // streamNone, streamStart or streamMid
	hole  bool   // a segment came past the bytes kept: there was a hole
	// tailOnly: a TLS server's direction, whose bytes (certificates,
	// encrypted records) name nothing Parse reads: only its last record
	// is followed, no byte kept (unless Grep is set).
	tailOnly bool
	// request: this side's first payload began as a request line does
	// (a method and a space), so that later requests are looked for in
	// its segments (follow); a TLS or SSH stream never is.
	request bool
	// peerAt is the peer's payload bytes when this side's first payload
	// came: how much of a request body had gone when the answer began.
	peerAt int64
	// tls is the start of this side's latest segment that began with a
	// TLS record header: type, version, length and, for an alert, level
	// and description.
	tls    [7]byte
	tlsLen uint8 // bytes of tls captured
	// searchOnly: with Grep, a direction not worth keeping is searched as
	// its bytes come, up to Bytes of them (counted in kept), and not kept;
	// tail is its last bytes, carried to the next segment's search.
	searchOnly bool
	tailLen    uint8
	tail       [grepTail]byte
}

// grepTail bounds the bytes a searchOnly direction carries from one
// segment to the next: a Grep of up to grepTail+1 bytes is found across
// segment boundaries.
const grepTail = 63

const (
	streamNone  = iota // no payload yet
	streamStart        // kept from the side's ISN+1: its first bytes
	streamMid          // kept from the first segment seen: no SYN was
)

// Conn.ObserverMark holds the connection's slot + 1 in its low bits (0:
// none), and flags.
const (
	// markDone: the connection's bytes are parsed and hold no TLS, or
	// neither direction is worth keeping: later segments change nothing.
	markDone = 1 << 31
	// markDull0 and markDull1: direction 0 (1) began as nothing Parse
	// reads, and is not kept.
	markDull0 = 1 << 30
	markDull1 = 1 << 29
	// markFollow: an HTTP/1.x connection, parsed: its later segments are
	// looked at only for the start of a request or a status line (follow).
	markFollow = 1 << 28
	markSlot   = 1<<28 - 1
)

func (o *Observer) n() int {
	switch {
	case o.Bytes <= 0:
		return DefaultBytes
	case o.Bytes > MaxBytes:
		return MaxBytes
	}
	return o.Bytes
}

// Segment implements track.Observer.
func (o *Observer) Segment(id track.ConnID, dir int, p *decode.Packet, c *track.Conn) {
	if p.Flags&decode.RST != 0 {
		o.reset(p, c)
		return
	}
	mark := c.ObserverMark
	if mark&markDone != 0 || dir < 0 || dir > 1 {
		return // parsed, and no TLS records to follow
	}
	i := int32(mark&markSlot) - 1
	if mark&markFollow != 0 {
		if len(p.Payload) > 0 {
			o.follow(i, dir, p, c)
		}
		return
	}
	if len(p.Payload) == 0 {
		if p.Flags&decode.FIN != 0 && i >= 0 && !o.slots[i].settled {
			o.settle(i, c)
		}
		return
	}
	if mark&(markDull0>>dir) != 0 {
		return
	}
	seq := p.Seq
	if p.Flags&decode.SYN != 0 {
		seq++ // data on a SYN (TCP Fast Open) starts after it
	}
	if i < 0 || o.slots[i].dir[dir].state == streamNone {
		// This direction's first payload: keep it only if it may name
		// something.
		side := &c.Sides[dir]
		first := side.SYNFrame == 0 || seq == side.ISN+1
		pl := p.Payload
		tlsServer := first && dir != c.Client && len(pl) >= 2 && isRecordType(pl[0]) && pl[1] == 3
		search := false
		if first && !o.worth(dir, pl, c) {
			if len(o.Grep) == 0 {
				c.ObserverMark |= markDull0 >> dir
				if c.ObserverMark&(markDull0|markDull1) == markDull0|markDull1 {
					c.ObserverMark |= markDone
				}
				return
			}
			search = len(o.Grep) <= grepTail+1
		}
		if i < 0 {
			i = o.slot()
			c.ObserverMark |= uint32(i) + 1
		}
		st := &o.slots[i].dir[dir]
		st.state, st.base = streamMid, seq
		if side.SYNFrame != 0 {
			st.state, st.base = streamStart, side.ISN+1
		}
		st.peerAt = c.Sides[1-dir].Bytes
		st.request = methodEnd(pl) > 0
		st.tailOnly = tlsServer && len(o.Grep) == 0
		st.searchOnly = search || tlsServer && len(o.Grep) > 0 && len(o.Grep) <= grepTail+1
	}
	sl := &o.slots[i]
	st := &sl.dir[dir]
	if pl := p.Payload; len(pl) >= 5 && isRecordType(pl[0]) && pl[1] == 3 {
		st.tlsLen = uint8(copy(st.tls[:], pl))
	}
	if sl.dir[c.Client&1].request && !st.searchOnly && !st.tailOnly {
		// A later request may come before the first bytes are all
		// kept (a small request and answer, then the next request).
		// Only where the client began with one: a TLS connection's
		// every segment would be read for a request line in vain.
		o.follow(i, dir, p, c)
	}
	n := uint32(o.n())
	if sl.settled || st.kept >= n || st.tailOnly {
		return
	}
	pl := p.Payload
	off := int64(int32(seq - st.base)) // where pl starts, relative to base
	if off < 0 {
		if -off >= int64(len(pl)) {
			return // all before base: a retransmission of the SYN's data, say
		}
		pl, off = pl[-off:], 0
	}
	if off > int64(st.kept) {
		st.hole = true // out of order: wait for the hole to be filled
		return
	}
	skip := int64(st.kept) - off
	if skip >= int64(len(pl)) {
		return // a retransmission of bytes kept
	}
	if st.searchOnly {
		b := pl[skip:min(int64(len(pl)), skip+int64(n-st.kept))]
		if !sl.matched {
			sl.matched = o.search(st, b)
		}
		st.kept += uint32(len(b))
		if st.kept == n || p.Flags&decode.FIN != 0 {
			o.settle(i, c)
		}
		return
	}
	if sl.buf == 0 {
		sl.buf = o.newBuf()
	}
	buf := o.bytes(sl.buf, dir)
	st.kept += uint32(copy(buf[st.kept:n], pl[skip:]))
	if st.kept == n || p.Flags&decode.FIN != 0 {
		o.settle(i, c)
	}
}

// worth reports whether direction dir of c, whose first payload is b, may
// name something Parse reads.
func (o *Observer) worth(dir int, b []byte, c *track.Conn) bool {
	if len(b) >= 2 && isRecordType(b[0]) && b[1] == 3 {
		return true // TLS
	}
	for _, p := range [...]string{"HTTP/1.", "SSH-", "PRI * HTTP/2.0"} {
		if bytes.HasPrefix(b, []byte(p)) || bytes.HasPrefix([]byte(p), b) {
			return true
		}
	}
	if methodEnd(b) > 0 {
		return true // an HTTP request line, or a text command
	}
	server := c.Sides[1-c.Client&1].Port
	return startTLS[server] || bytes.HasPrefix(b, sslRequest)
}

// startTLS are the ports of protocols that may upgrade to TLS after a
// few commands in the clear. Not PostgreSQL's 5432: its SSLRequest is the
// client's first message or never comes (sslRequest, below), so a
// connection that began otherwise keeps nothing.
var startTLS = map[uint16]bool{21: true, 25: true, 110: true, 143: true, 389: true, 587: true, 5222: true}

// sslRequest is PostgreSQL's request to upgrade to TLS: length 8, code
// 80877103.
var sslRequest = []byte{0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f}

// settle parses slot i's bytes and gives its buffer back once neither
// side will add to them: each kept its fill or sent its FIN.
func (o *Observer) settle(i int32, c *track.Conn) {
	sl := &o.slots[i]
	n := uint32(o.n())
	for d := range 2 {
		st := &sl.dir[d]
		if st.kept < n && !st.tailOnly && c.Sides[d].FINFrame == 0 && c.ObserverMark&(markDull0>>d) == 0 {
			return
		}
	}
	in := o.input(i, c)
	ctx := o.parse(&in, i)
	o.keep(sl, &ctx)
	switch {
	case ctx.Request != "":
		c.ObserverMark |= markFollow
	case ctx.Protocol != "tls":
		c.ObserverMark |= markDone
	}
}

// follow looks at a segment of a parsed HTTP/1.x connection (slot i) for
// the start of a later request, from the client, or of a status line
// after it, from the server. Only a line at the start of a segment is
// seen: requests pipelined into one segment count as one, and a body
// that happens to start as a request line would count as one more.
func (o *Observer) follow(i int32, dir int, p *decode.Packet, c *track.Conn) {
	sl := &o.slots[i]
	pl := p.Payload
	if dir == c.Client&1 {
		// The first request began at the stream's base, and a
		// retransmission repeats the latest one's sequence number.
		if p.Seq == sl.dir[dir].base || sl.later != nil && p.Seq == sl.later.reqSeq {
			return
		}
		req, ok := requestLine(pl)
		if !ok {
			return
		}
		o.grepLater(sl, pl)
		if sl.later == nil {
			sl.later = &later{requests: 1}
		}
		*sl.later = later{requests: sl.later.requests + 1, reqSeq: p.Seq, reqFrame: p.Frame, request: req,
			reqAt: max(0, c.Sides[dir].Bytes-int64(len(pl)))}
		return
	}
	l := sl.later
	if l == nil || l.respFrame != 0 || !bytes.HasPrefix(pl, []byte("HTTP/1.")) {
		return
	}
	if st, code, ok := statusLine(pl); ok {
		l.respSeq, l.respFrame, l.response, l.status = p.Seq, p.Frame, st, code
		o.grepLater(sl, pl)
	}
}

// grepLater looks for Grep in a segment that began a later request or
// its answer: the request line and the headers that came with it, where
// a request id or a URL stands, not the bodies between.
func (o *Observer) grepLater(sl *slot, pl []byte) {
	if len(o.Grep) > 0 && !sl.matched && bytes.Contains(pl, o.Grep) {
		sl.matched = true
	}
}

// keep settles sl with its parsed Context and gives its buffer back.
func (o *Observer) keep(sl *slot, ctx *Context) {
	if (ctx.Protocol != "" && !ctx.ByPort) || ctx.Match {
		c := *ctx
		sl.parsed = &c
	}
	sl.settled = true
	if sl.buf != 0 {
		o.freeBuf = append(o.freeBuf, sl.buf)
		sl.buf = 0
	}
}

// Dropped implements track.Observer: the connection's slot is free.
func (o *Observer) Dropped(_ track.ConnID, c *track.Conn) {
	i := int32(c.ObserverMark&markSlot) - 1
	if i < 0 {
		return
	}
	if b := o.slots[i].buf; b != 0 {
		o.freeBuf = append(o.freeBuf, b)
	}
	o.slots[i] = slot{}
	o.free = append(o.free, i)
}

// slot returns a free slot.
func (o *Observer) slot() int32 {
	if k := len(o.free); k > 0 {
		i := o.free[k-1]
		o.free = o.free[:k-1]
		return i
	}
	o.slots = append(o.slots, slot{})
	return int32(len(o.slots) - 1)
}

// newBuf makes a buffer, or takes a free one, and returns its number,
// from 1.
func (o *Observer) newBuf() int32 {
	if k := len(o.freeBuf); k > 0 {
		b := o.freeBuf[k-1]
		o.freeBuf = o.freeBuf[:k-1]
		return b
	}
	size := 2 * o.n()
	last := len(o.chunks) - 1
	if last < 0 || int(o.at[len(o.at)-1].off)+2*size > len(o.chunks[last]) {
		// Outside the Go heap: the buffers are the most of what an
		// Observer holds, and on the heap they would raise the
		// collector's goal by half as much again (GOGC 50), for bytes
		// that hold no pointers and need no scanning.
		if o.mem == nil {
			o.mem = &regions{}
			runtime.AddCleanup(o, (*regions).unmapAll, o.mem)
		}
		n := maxChunk
		if last < 6 {
			n = min(n, firstChunk<<(last+1))
		}
		chunk, r := offheap.Map[byte](n * size)
		o.chunks = append(o.chunks, chunk)
		o.mem.list = append(o.mem.list, r)
		o.at = append(o.at, bufAt{int32(len(o.chunks) - 1), 0})
	} else {
		prev := o.at[len(o.at)-1]
		o.at = append(o.at, bufAt{prev.chunk, prev.off + int32(size)})
	}
	return int32(len(o.at))
}

// bytes returns direction dir of buffer b (from 1).
func (o *Observer) bytes(b int32, dir int) []byte {
	n := o.n()
	a := o.at[b-1]
	start := int(a.off) + dir*n
	return o.chunks[a.chunk][start : start+n]
}

// order returns the indices in Conn.Sides of the client and the server.
func (o *Observer) order(c *track.Conn) [2]int {
	if c.Client == 1 {
		return [2]int{1, 0}
	}
	return [2]int{0, 1}
}

// input gathers what Parse reads of slot i (none when i < 0), client
// first.
func (o *Observer) input(i int32, c *track.Conn) Input {
	ord := o.order(c)
	in := Input{ClientPort: c.Sides[ord[0]].Port, ServerPort: c.Sides[ord[1]].Port, PeerAt: [2]int64{-1, -1}}
	if i < 0 {
		return in
	}
	sl := &o.slots[i]
	for k, d := range ord {
		st := &sl.dir[d]
		if sl.buf != 0 && !st.searchOnly {
			in.Bytes[k] = o.bytes(sl.buf, d)[:st.kept]
		}
		in.FromStart[k] = st.state == streamStart
		in.Hole[k] = st.hole
		if st.state != streamNone {
			in.PeerAt[k] = st.peerAt
		}
		if st.tlsLen > 0 {
			in.TLSTail[k] = st.tls[:st.tlsLen]
		}
	}
	return in
}

// parse is Parse with the Grep match, in the bytes kept or already
// found in slot i's searchOnly directions.
func (o *Observer) parse(in *Input, i int32) Context {
	ctx := Parse(in)
	if len(o.Grep) > 0 {
		ctx.Match = bytes.Contains(in.Bytes[0], o.Grep) || bytes.Contains(in.Bytes[1], o.Grep) ||
			i >= 0 && o.slots[i].matched
	}
	return ctx
}

// search looks for Grep in b, after the bytes st carried from its
// previous segment, and carries b's last len(Grep)-1 bytes on.
func (o *Observer) search(st *stream, b []byte) bool {
	g := len(o.Grep) - 1 // at most grepTail
	// Across the boundary: the tail and b's first g bytes.
	o.scratch = append(append(o.scratch[:0], st.tail[:st.tailLen]...), b[:min(len(b), g)]...)
	found := bytes.Contains(o.scratch, o.Grep) || bytes.Contains(b, o.Grep)
	if len(b) >= g {
		st.tailLen = uint8(copy(st.tail[:], b[len(b)-g:]))
	} else {
		k := min(g, len(o.scratch))
		st.tailLen = uint8(copy(st.tail[:], o.scratch[len(o.scratch)-k:]))
	}
	return found
}

// reset parses what c sent before the RST p and queues it for Take.
func (o *Observer) reset(p *decode.Packet, c *track.Conn) {
	i := int32(c.ObserverMark&markSlot) - 1
	in := o.input(i, c)
	var ctx Context
	switch {
	case i >= 0 && o.slots[i].parsed != nil:
		// Parsed when it settled: only the last TLS records and the
		// later HTTP requests are newer.
		ctx = *o.slots[i].parsed
		for k := range 2 {
			ctx.TLS[k] = tlsTail(in.TLSTail[k])
		}

	case i >= 0 && o.slots[i].settled:
		// Settled on bytes that named nothing: the Context of none,
		// with the counts.
		ctx = Parse(&in)
		for k, d := range o.order(c) {
			if st := &o.slots[i].dir[d]; !st.searchOnly {
				ctx.Kept[k] = int(st.kept)
			}
		}
	default:
		ctx = o.parse(&in, i)
		if i >= 0 {
			// A reset connection sends nothing more that counts: keep
			// the Context for its later resets, give the buffer back.
			o.keep(&o.slots[i], &ctx)
		}
	}
	if i >= 0 && o.slots[i].matched {
		ctx.Match = true // in a later request, after the Context was parsed
	}
	if i >= 0 && ctx.Request != "" {
		if l := o.slots[i].later; l != nil {
			ctx.Requests, ctx.LastRequest, ctx.LastRequestFrame, ctx.LastRequestAt = l.requests, l.request, l.reqFrame, l.reqAt
			ctx.LastResponse, ctx.LastStatus, ctx.LastResponseFrame = l.response, l.status, l.respFrame
		}
	}
	o.queue = append(o.queue, pending{p.Frame, ctx})
}

// Take returns the Context of the RST at frame, parsed when the RST came,
// and forgets it; ok is false when there is none. Resets must be taken in
// frame order (a tracker emits them so): the Contexts of earlier frames
// not taken are dropped.
func (o *Observer) Take(frame int64) (ctx Context, ok bool) {
	for o.head < len(o.queue) && o.queue[o.head].frame < frame {
		o.queue[o.head] = pending{}
		o.head++
	}
	if o.head < len(o.queue) && o.queue[o.head].frame == frame {
		ctx, ok = o.queue[o.head].ctx, true
		o.queue[o.head] = pending{}
		o.head++
	}
	if o.head == len(o.queue) {
		o.queue, o.head = o.queue[:0], 0
	} else if o.head > 1024 && o.head > len(o.queue)/2 {
		k := copy(o.queue, o.queue[o.head:])
		clear(o.queue[k:])
		o.queue, o.head = o.queue[:k], 0
	}
	return ctx, ok
}

// isRecordType reports whether b is a TLS record content type:
// change_cipher_spec, alert, handshake, application_data, heartbeat.
func isRecordType(b byte) bool { return b >= 20 && b <= 24 }
