package appctx

import (
	"bytes"

	"github.com/rstwhy/rstwhy/decode"
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
type Observer struct {
	// Bytes kept of each direction: 0 means DefaultBytes; at most MaxBytes.
	Bytes int
	// Grep, when not empty, is looked for in the bytes kept at each RST:
	// Context.Match says whether either direction holds it.
	Grep []byte

	slotOf map[track.ConnID]int32 // a connection's slot, once it carried payload
	slots  []slot
	chunks [][]byte // slot i's bytes: chunks[i/chunkSlots][(i%chunkSlots)*2n:], 2n long
	free   []int32
	queue  []pending // Contexts of resets not yet taken, in frame order
	head   int
}

// chunkSlots is how many slots one allocation holds: few allocations
// for many connections, little unused for few.
const chunkSlots = 64

type pending struct {
	frame int64
	ctx   Context
}

// slot is what an Observer keeps of one connection besides the bytes:
// nothing the collector has to scan.
type slot struct{ dir [2]stream }

// stream is one direction of a connection.
type stream struct {
	base  uint32 // the sequence number of the first byte kept
	kept  uint32 // bytes kept, contiguous from base
	state uint8  // streamNone, streamStart or streamMid
	hole  bool   // a segment came past the bytes kept: there was a hole
	// peerAt is the peer's payload bytes when this side's first payload
	// came: how much of a request body had gone when the answer began.
	peerAt int64
	// tls is the start of this side's latest segment that began with a
	// TLS record header: type, version, length and, for an alert, level
	// and description.
	tls    [7]byte
	tlsLen uint8 // bytes of tls captured
}

const (
	streamNone  = iota // no payload yet
	streamStart        // kept from the side's ISN+1: its first bytes
	streamMid          // kept from the first segment seen: no SYN was
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
		o.reset(id, dir, p, c)
		return
	}
	if len(p.Payload) == 0 || dir < 0 || dir > 1 {
		return
	}
	i := o.slot(id)
	st := &o.slots[i].dir[dir]
	seq := p.Seq
	if p.Flags&decode.SYN != 0 {
		seq++ // data on a SYN (TCP Fast Open) starts after it
	}
	if st.state == streamNone {
		st.state, st.base = streamMid, seq
		if side := &c.Sides[dir]; side.SYNFrame != 0 {
			st.state, st.base = streamStart, side.ISN+1
		}
		st.peerAt = c.Sides[1-dir].Bytes
	}
	if pl := p.Payload; len(pl) >= 5 && isRecordType(pl[0]) && pl[1] == 3 {
		st.tlsLen = uint8(copy(st.tls[:], pl))
	}
	n := uint32(o.n())
	if st.kept >= n {
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
	buf := o.buf(i, dir)
	st.kept += uint32(copy(buf[st.kept:n], pl[skip:]))
}

// Dropped implements track.Observer: the connection's slot is free.
func (o *Observer) Dropped(id track.ConnID) {
	i, ok := o.slotOf[id]
	if !ok {
		return
	}
	delete(o.slotOf, id)
	o.slots[i] = slot{}
	o.free = append(o.free, i)
}

// slot returns id's slot, taking one when it has none.
func (o *Observer) slot(id track.ConnID) int32 {
	if i, ok := o.slotOf[id]; ok {
		return i
	}
	if o.slotOf == nil {
		o.slotOf = map[track.ConnID]int32{}
	}
	var i int32
	if k := len(o.free); k > 0 {
		i, o.free = o.free[k-1], o.free[:k-1]
	} else {
		i = int32(len(o.slots))
		o.slots = append(o.slots, slot{})
		if int(i)/chunkSlots == len(o.chunks) {
			o.chunks = append(o.chunks, make([]byte, chunkSlots*2*o.n()))
		}
	}
	o.slotOf[id] = i
	return i
}

// buf returns the bytes of slot i's direction dir.
func (o *Observer) buf(i int32, dir int) []byte {
	n := o.n()
	at := (int(i)%chunkSlots*2 + dir) * n
	return o.chunks[int(i)/chunkSlots][at : at+n]
}

// reset parses what id's connection sent before the RST p and queues it
// for Take.
func (o *Observer) reset(id track.ConnID, dir int, p *decode.Packet, c *track.Conn) {
	client := c.Client
	if client != 0 && client != 1 {
		client = 0
	}
	var in Input
	in.ClientPort, in.ServerPort = c.Sides[client].Port, c.Sides[1-client].Port
	if i, ok := o.slotOf[id]; ok {
		for k, d := range [2]int{client, 1 - client} {
			st := &o.slots[i].dir[d]
			in.Bytes[k] = o.buf(i, d)[:st.kept]
			in.FromStart[k] = st.state == streamStart
			in.Hole[k] = st.hole
			in.PeerAt[k] = -1
			if st.state != streamNone {
				in.PeerAt[k] = st.peerAt
			}
			if st.tlsLen > 0 {
				in.TLSTail[k] = st.tls[:st.tlsLen]
			}
		}
	} else {
		in.PeerAt = [2]int64{-1, -1}
	}
	ctx := Parse(&in)
	if len(o.Grep) > 0 {
		ctx.Match = bytes.Contains(in.Bytes[0], o.Grep) || bytes.Contains(in.Bytes[1], o.Grep)
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
