package track

import (
	"math"
	"time"

	"github.com/rstwhy/rstwhy/decode"
)

// Defaults for the zero Tracker.
const (
	// DefaultQuiet is long enough for the answers a RST draws on slow
	// paths: a forged RST's true sender may only speak a round trip later
	// (zeek_tcp_rst-inject-rae: the real SYN-ACK follows 1.03 s after it).
	DefaultQuiet      = 2 * time.Second
	DefaultMaxDelay   = 10 * time.Second
	DefaultIdle       = 10 * time.Minute
	DefaultLinger     = 2 * time.Second
	DefaultMaxPending = 1 << 16
	// DefaultMaxConns bounds the flow table: about 1.5 KB a connection,
	// 3 KB for one that was reset (it keeps its first RST's snapshot for
	// the follow-ups), so at most some 200 MiB at the cap.
	DefaultMaxConns = 1 << 16
	payloadKept     = 256 // bytes of a RST's payload kept (diagnostic text)
)

// Reset is one RST segment with the evidence around it: the connection as
// it stood just before the RST, and what followed until the connection
// went quiet. Heuristics read it and never change it.
//
// Its pointers come first (First, Later, and Packet.Payload and Trailer
// at Packet's end), so that the garbage collector scans some 200 bytes of
// it, not 1.7 KB.
//
// A tracker with Recycle set reuses a Reset after Emit returned: its
// receiver must copy what it keeps.
type Reset struct {
	// First is the connection's first reset when this one came later:
	// the answers a reset connection draws are consequences, not causes.
	First *Reset
	// Later are the connection's first packets after the RST (this
	// reset's copies and later RSTs included), up to LaterSize, while its
	// aftermath was gathered: what the RST drew. Most resets draw one or
	// two, so it grows as they come (thousands of resets may be pending).
	Later   []Summary
	payload []byte        // Packet.Payload's array, kept when the reset is recycled
	trailer []byte        // Packet.Trailer's, likewise
	Packet  decode.Packet // the RST itself; Payload is a copy of at most 256 bytes, Trailer of its trailer
	Sender  int           // index in Conn.Sides of the side that sent it
	// Conn is the connection just before the RST. A tracker with Recycle
	// keeps it outside the Go heap (a reset waiting for its quiet time
	// holds 1.4 KB of it, thousands at once), valid while the Reset is;
	// without, on the heap.
	Conn *Conn
	// CopyOf is the frame of the original when the same RST was captured
	// twice (a router's -i any sees a forwarded packet on both sides).
	CopyOf int64
	After  Aftermath

	ready bool
	base  tally // the connection's aftermath tally when the RST came
	refs  int32 // what holds the reset inside the tracker (Tracker.unref)
}

// LaterSize is how many packets after a RST a Reset keeps.
const LaterSize = 8

// History is the connection's history (Conn.History) up to and with
// the RST.
func (r *Reset) History() string {
	c := *r.Conn
	c.noteHistory(uint8(r.Sender), r.Packet.Flags, r.Packet.Len, KindNew, 0)
	return c.History()
}

// LaterPackets returns Later's packets, oldest first.
func (r *Reset) LaterPackets() []Summary { return r.Later }

// Aftermath is what the connection did after a reset, until it had been
// quiet for the tracker's Quiet window. Index 0 is the reset's sender,
// 1 its peer.
type Aftermath struct {
	Packets    [2]int64
	Bytes      [2]int64
	FirstFrame [2]int64
	RSTs       [2]int64
	// SenderLaterFrame is the first non-RST packet its sender sent on
	// the connection after the RST (a SYN-ACK included): an endpoint that
	// reset has no connection left to send on, so such a packet says the
	// RST was not its own.
	SenderLaterFrame int64
	// NextRSTFrame is the sender's next RST on the connection, with its
	// time and sequence number: back to back at another number, with no
	// segment of the peer between for it to answer, an injector's burst.
	NextRSTFrame int64
	NextRSTTS    int64
	NextRSTSeq   uint32
	// KinFrame is a RST of the other side, after this one, that carries
	// the next IP ID of this RST (decode.Packet.IPIDKin): one device reset
	// both ends.
	KinFrame int64
	Until    int64 // time of the last packet counted
	Early    bool  // judged before the window closed (table cap, storm)
}

// Stats counts what the tracker did.
type Stats struct {
	Packets     int64 // TCP segments added
	Conns       int64 // connections opened
	Peak        int   // most connections held at once
	EvictedIdle int64 // left the table after Idle or Linger
	EvictedCap  int64 // evicted because the table was at MaxConns
	Copies      int64 // duplicate captures of one packet, ignored
	Resets      int64
	Early       int64 // resets judged before their window closed
	// Unseen counts segments that acknowledged bytes no captured packet
	// carried (Side.UnseenFrame): the capture missed packets.
	Unseen int64
}

// Tracker follows TCP connections packet by packet and hands every RST to
// Emit, in frame order, once the evidence after it is in: when its
// connection has been quiet for Quiet, MaxDelay after the RST at the
// latest, or at Flush. Time is capture time, never the wall clock.
//
// The zero value is ready to use; a Tracker is not safe for concurrent use.
type Tracker struct {
	Quiet      time.Duration // 0: DefaultQuiet
	MaxDelay   time.Duration // 0: DefaultMaxDelay
	Idle       time.Duration // a live connection silent this long is dropped; 0: DefaultIdle
	Linger     time.Duration // an ended one (reset, or FIN both ways, both acknowledged) is kept this long; 0: DefaultLinger
	MaxConns   int           // 0: no cap; past it the oldest idle connection is evicted
	MaxPending int           // resets awaiting judgement; 0: DefaultMaxPending
	Emit       func(*Reset)  // receives every reset, in frame order
	// Observer, when set, sees every segment after the tracker applied it,
	// and every connection leaving the table: later stages (application
	// context) keep per-connection state of their own by ConnID without
	// touching the tracker's core.
	Observer Observer
	// Recycle lets the tracker reuse a Reset once Emit has returned and no
	// later reset of its connection can refer to it (as First). Set it only
	// when Emit keeps neither the Reset nor any slice of it (Later,
	// Packet.Payload, Packet.Trailer) past its return: the pipeline's judged path does, and
	// then most of the heap a capture with many resets churns through is
	// reused instead of collected.
	Recycle bool

	conns connTable
	slabs connSlabs
	gone  goneTable   // four-tuples let go of, for the connections after them
	free  []*conn     // dropped connections, for the next ones
	lists [3]connList // by listID: none, live, ended
	sched schedule
	out   []*Reset // frame order; out[head:] not yet emitted
	head  int
	pool  []*Reset  // recycled resets (Recycle)
	snaps snapSlabs // their Conns, outside the heap
	now   int64
	stats Stats
}

// ConnID names a connection while it is in the tracker's table; the ID of
// a dropped connection is given to a later one.
type ConnID uint32

// Observer is told of every segment a Tracker adds and of every
// connection it drops. Calls come from the tracker's goroutine; c is the
// live connection, valid only during the call, and the observer may
// write its ObserverMark (and nothing else).
type Observer interface {
	Segment(id ConnID, dir int, p *decode.Packet, c *Conn)
	Dropped(id ConnID, c *Conn)
}

// connExt is what a connection holds on the heap.
type connExt struct {
	first *Reset   // the connection's first reset, while it matters
	open  []*Reset // resets still gathering their aftermath
}

// tally counts a connection's packets by side while resets are open:
// each reset's aftermath is the tally at its close less the tally when it
// came (Reset.base), so a packet costs the same whatever the number of
// open resets.
type tally struct {
	pkts, bytes, rsts [2]int64
}

// flowKey names a connection by its two endpoints, lower one first, so
// both directions find it. Fixed arrays hash without allocating.
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
}

// conn is one tracked connection, in a slab outside the Go heap where
// there is mmap (connSlabs). It holds no Go pointers (TestOffHeapNoPointers):
// the collector does not scan the slabs, so links are IDs, and what a
// connection holds on the heap is in Tracker.ext at its ID. The fields the
// tracker touches on every packet come first; the flow key and hash share
// the second cache line, so that a lookup's key check reads one line.
type conn struct {
	id         uint32 // slab number (from 1) << 16 | index in the slab: see connSlabs.at
	prev, next uint32 // neighbours in the activity list, by ID; 0: none
	list       listID
	// firstSender is 1 + the side that sent the connection's first reset
	// while that reset matters (Tracker.ext[id].first), else 0.
	firstSender uint8
	// firstSenderOn: the first RST's sender sent on the connection after
	// it, which a host that reset cannot do.
	firstSenderOn bool
	evictedAtCap  bool  // chosen as the cap's victim
	nOpen         int32 // len(Tracker.ext[id].open)
	key           flowKey
	hash          uint64
	// seen is the tracker's clock at the connection's last packet. Expiry
	// goes by it, not by packet times: in a capture whose timestamps jump
	// back, a packet's own time may lie far behind the clock.
	seen int64
	// moved is the tracker's clock when the connection last moved to the
	// back of its list; see moveBack.
	moved     int64
	openSince int64
	at        int64 // when the open resets' window closes, while in the schedule
	// Aftermath bookkeeping while resets are open: the tally so far, the
	// latest packet time counted, and how many of the open resets have
	// had their first packet from each side and their sender's first
	// later packet looked for.
	tally     tally
	until     int64
	firstDone [2]int32
	laterDone [2]int32
	rstDone   [2]int32 // as laterDone, for After.NextRSTFrame
	// laterFull: the open resets before this index have LaterSize
	// packets. Each open reset got every packet after it, so the full
	// ones come first, and at most LaterSize of the others are open.
	laterFull int32
	heapIdx   int32 // index in the schedule, -1 when not in it
	Conn
	// A whole number of cache lines (TestConnLines): the slabs start on
	// a page, so every connection starts on a line, and its first line
	// holds what a lookup reads (key and hash).
	_ [24]byte
}

// Stats returns the counts so far.
func (t *Tracker) Stats() Stats { return t.stats }

// Add sums o into s; with several trackers, Peak is the sum of their peaks.
func (s *Stats) Add(o Stats) {
	s.Packets += o.Packets
	s.Conns += o.Conns
	s.Peak += o.Peak
	s.EvictedIdle += o.EvictedIdle
	s.EvictedCap += o.EvictedCap
	s.Copies += o.Copies
	s.Resets += o.Resets
	s.Early += o.Early
	s.Unseen += o.Unseen
}

// Len returns the number of connections in the table.
func (t *Tracker) Len() int { return t.conns.n }

func (t *Tracker) lookup(h uint64, k flowKey) *conn { return t.conns.get(h, k) }

func (t *Tracker) dur(d, def time.Duration) int64 {
	if d <= 0 {
		d = def
	}
	return int64(d)
}

// Add tracks one segment. p is not retained: Add copies what it keeps.
func (t *Tracker) Add(p *decode.Packet) { t.AddAt(p, p.TS, p.FlowHash()) }

// AddAt tracks p, whose flow hash is h (p.FlowHash), when the capture's
// clock (the latest time read so far, from any connection) is at least
// now. Trackers that share a capture's connections between them follow
// one clock this way, and expire and judge as one tracker would.
func (t *Tracker) AddAt(p *decode.Packet, now int64, h uint64) {
	t.stats.Packets++
	t.now = max(t.now, now, p.TS)
	t.expire()

	k := keyOf(p)
	c := t.lookup(h, k)
	if c != nil && c.seen+t.timeout(c.list) <= t.now {
		// Past its time but not yet at the front of its list (moveBack
		// is lazy): gone all the same, as if expire had reached it.
		t.stats.EvictedIdle++
		t.forget(c)
		c = nil
	}
	if c != nil && c.reincarnated(p) {
		t.drop(c)
		c = nil
	}
	if c == nil {
		c = t.open(h, k, p)
	}
	dir := uint8(1)
	if c.Sides[0].Addr == p.Src && c.Sides[0].Port == p.SrcPort {
		dir = 0
	}
	t.add(c, dir, p)
}

// Flush judges every reset still waiting; call it at the end of a capture.
func (t *Tracker) Flush() {
	t.conns.each(func(c *conn) {
		if c.nOpen > 0 {
			t.closeOpen(c, false)
		}
	})
	for t.sched.len() > 0 {
		t.sched.remove(t.sched.top())
	}
	t.release()
}

// lowerSide is the index in Sides of the flow key's lower endpoint (a),
// which does not depend on who sent first: what outlives the connection
// (goneTable) names its sides by it.
func (c *conn) lowerSide() int {
	if c.Sides[0].Addr == c.key.a && c.Sides[0].Port == c.key.pa {
		return 0
	}
	return 1
}

func keyOf(p *decode.Packet) flowKey {
	if lessEndpoint(p.Src, p.SrcPort, p.Dst, p.DstPort) {
		return flowKey{a: p.Src, b: p.Dst, pa: p.SrcPort, pb: p.DstPort}
	}
	return flowKey{a: p.Dst, b: p.Src, pa: p.DstPort, pb: p.SrcPort}
}

func lessEndpoint(a [16]byte, pa uint16, b [16]byte, pb uint16) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return pa <= pb
}

// reincarnated reports whether p, a SYN, opens a new connection on the
// same four-tuple (port reuse) rather than belonging to c.
func (c *conn) reincarnated(p *decode.Packet) bool {
	if p.Flags&(decode.SYN|decode.ACK|decode.RST) != decode.SYN {
		return false
	}
	me := &c.Sides[0]
	if me.Addr != p.Src || me.Port != p.SrcPort {
		me = &c.Sides[1]
	}
	switch {
	case c.firstSender != 0, c.Sides[0].FINFrame != 0 && c.Sides[1].FINFrame != 0:
		return true
	case me.SYNFrame != 0:
		return p.Seq != me.ISN
	default:
		return me.HasSeq // the tuple carried traffic before, without this SYN
	}
}

func (t *Tracker) open(h uint64, k flowKey, p *decode.Packet) *conn {
	var c *conn
	if n := len(t.free); n > 0 {
		c, t.free = t.free[n-1], t.free[:n-1]
		*c = conn{id: c.id}
	} else {
		c = t.slabs.get(t)
	}
	c.key, c.hash, c.heapIdx = k, h, -1
	c.IPv6 = p.IPv6
	c.Sides[0] = Side{Addr: p.Src, Port: p.SrcPort, WScale: -1}
	c.Sides[1] = Side{Addr: p.Dst, Port: p.DstPort, WScale: -1}
	switch {
	case p.Flags&(decode.SYN|decode.ACK) == decode.SYN:
		c.Client = 0
	case p.Flags&(decode.SYN|decode.ACK) == decode.SYN|decode.ACK:
		c.Client = 1
	default:
		// No handshake: the service port is usually the lower one.
		c.ClientGuessed = true
		if p.SrcPort < p.DstPort {
			c.Client = 1
		}
	}
	c.FirstFrame, c.FirstTS = p.Frame, p.TS
	if c.ClientGuessed {
		var rstLower bool
		c.Forgotten, rstLower = t.gone.find(h)
		if c.Forgotten.RSTFrame != 0 {
			c.Forgotten.RSTSide = int8(c.lowerSide())
			if !rstLower {
				c.Forgotten.RSTSide = 1 - c.Forgotten.RSTSide
			}
		}
	}
	c.seen = t.now
	t.conns.put(c)
	t.stats.Conns++
	if n := t.Len(); n > t.stats.Peak {
		t.stats.Peak = n
	}
	t.place(listLive, c)
	if t.MaxConns > 0 && t.Len() > t.MaxConns {
		victim := t.front(listEnded)
		if victim == nil || victim == c {
			victim = t.front(listLive)
		}
		if victim != nil && victim != c {
			t.stats.EvictedCap++
			victim.evictedAtCap = true
			t.forget(victim)
		}
	}
	return c
}

// forget drops c, which leaves the table on a timeout or at the cap, and
// remembers that it did: a later packet of the four-tuple starts a
// connection without the history before it, and its evidence must say so
// rather than that the capture began mid-connection.
func (t *Tracker) forget(c *conn) {
	why := ForgotIdle
	switch {
	case c.evictedAtCap:
		why = ForgotCap
	case c.list == listEnded:
		why = ForgotEnded
	}
	f := Forgotten{Frame: c.LastFrame, Why: why}
	rstLower := false
	for i := range c.Sides {
		if rf := c.Sides[i].RSTFrame; rf != 0 && (f.RSTFrame == 0 || rf < f.RSTFrame) {
			f.RSTFrame, rstLower = rf, i == c.lowerSide()
		}
	}
	t.gone.note(c.hash, f, rstLower)
	t.drop(c)
}

// drop removes c from the table, judging what it still holds.
func (t *Tracker) drop(c *conn) {
	if c.nOpen > 0 {
		t.closeOpen(c, true)
	}
	t.unlink(c)
	t.sched.remove(c)
	t.conns.del(c)
	if c.firstSender != 0 {
		t.setFirst(c, nil) // a reset judged and emitted must not stay reachable
	}
	if t.Observer != nil {
		t.Observer.Dropped(ConnID(c.id), &c.Conn)
	}
	t.free = append(t.free, c)
}

// setFirst sets c's first reset; nil forgets it.
func (t *Tracker) setFirst(c *conn, r *Reset) {
	e := t.slabs.ext(c.id)
	if e.first != nil {
		t.unref(e.first)
	}
	e.first = r
	c.firstSender = 0
	if r != nil {
		r.refs++
		c.firstSender = uint8(r.Sender) + 1
	}
}

// unref drops one of r's holders (the queue until emitted, the
// connection while r is its first reset, each follow-up that names r as
// First). With Recycle, a reset nothing holds goes back to the pool.
func (t *Tracker) unref(r *Reset) {
	r.refs--
	if r.refs > 0 || !t.Recycle {
		return
	}
	if f := r.First; f != nil {
		r.First = nil
		t.unref(f)
	}
	// Every one goes back, however many: its Conn is a snapshot slot
	// outside the heap that only the pool hands out again, so a reset
	// dropped here would leak its slot, and the pool is never larger than
	// the most resets held at once. Zeroed now, not when reused: a reset
	// recycled while something still read it would show at once
	// (TestRecycleSameAnswers).
	later, payload, trailer, conn := r.Later[:0], r.payload[:0], r.trailer[:0], r.Conn
	*conn = Conn{}
	*r = Reset{Later: later, payload: payload, trailer: trailer, Conn: conn}
	t.pool = append(t.pool, r)
}

// newReset returns a zero Reset, from the pool when it has one; a
// recycled one keeps its Later and payload arrays for reuse (unref
// zeroed the rest).
func (t *Tracker) newReset() *Reset {
	n := len(t.pool)
	if n == 0 {
		if t.Recycle {
			return &Reset{Conn: t.snaps.get(t)}
		}
		return &Reset{Conn: new(Conn)}
	}
	r := t.pool[n-1]
	t.pool[n-1] = nil
	t.pool = t.pool[:n-1]
	return r
}

// Close returns the tracker's connections to the system once the tracker
// is done: its slabs are outside the heap, and a batch of captures must
// not wait for the collector to find them. Whatever the tracker held is
// forgotten; using it again starts afresh.
func (t *Tracker) Close() {
	if t.slabs.mem != nil {
		t.slabs.mem.unmapAll()
	}
	if t.snaps.mem != nil {
		// With Recycle, no Reset is used past its Emit: nothing points
		// into the snapshots any more.
		t.snaps.mem.unmapAll()
	}
	t.pool, t.snaps = nil, snapSlabs{}
	t.conns, t.slabs, t.free = connTable{}, connSlabs{}, nil
	t.lists, t.sched = [3]connList{}, schedule{}
}

// Advance moves the tracker's clock to ts (capture time) without a
// packet, so that a tracker that sees few packets still judges and
// expires on time.
func (t *Tracker) Advance(ts int64) {
	if ts > t.now {
		t.now = ts
	}
	t.expire()
}

// expire closes the evidence windows of resets whose connection went
// quiet, then drops connections past their time. Judging comes first so
// that a connection never leaves the table with evidence still open.
func (t *Tracker) expire() {
	for t.sched.len() > 0 && t.sched.top().at <= t.now {
		c := t.sched.top()
		if at := t.closeAt(c); at > t.now {
			t.sched.set(c, at)
			continue
		}
		t.closeOpen(c, false)
	}
	for _, l := range [...]listID{listLive, listEnded} {
		timeout := t.timeout(l)
		for c := t.front(l); c != nil && c.seen+timeout <= t.now; c = t.front(l) {
			t.stats.EvictedIdle++
			t.forget(c)
		}
	}
	maxPending := t.MaxPending
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	for len(t.out)-t.head > maxPending {
		r := t.out[t.head]
		c := t.lookup(r.Packet.FlowHash(), keyOf(&r.Packet))
		if c == nil || r.ready {
			// Its connection is gone or it waits only for an earlier one.
			break
		}
		t.closeOpen(c, true)
	}
}

// PendingFrame is the frame of the oldest reset not yet emitted, or 0: no
// reset of a frame below it will be emitted later.
func (t *Tracker) PendingFrame() int64 {
	if t.head < len(t.out) {
		return t.out[t.head].Packet.Frame
	}
	return 0
}

// closeAt is when c's open resets stop gathering evidence.
func (t *Tracker) closeAt(c *conn) int64 {
	at := c.seen + t.dur(t.Quiet, DefaultQuiet)
	if lim := c.openSince + t.dur(t.MaxDelay, DefaultMaxDelay); lim < at {
		at = lim
	}
	return at
}

// closeOpen ends the aftermath of c's open resets: each gets the packets
// counted since it came.
func (t *Tracker) closeOpen(c *conn, early bool) {
	e := t.slabs.ext(c.id)
	for _, r := range e.open {
		r.ready = true
		s := r.Sender
		a := &r.After
		for i, side := range [2]int{s, 1 - s} {
			a.Packets[i] = c.tally.pkts[side] - r.base.pkts[side]
			a.Bytes[i] = c.tally.bytes[side] - r.base.bytes[side]
			a.RSTs[i] = c.tally.rsts[side] - r.base.rsts[side]
		}
		if a.Packets[0]+a.Packets[1] > 0 {
			a.Until = c.until
		}
		if early {
			a.Early = true
			t.stats.Early++
		}
	}
	clear(e.open) // judged resets must not stay reachable from the slice's array
	e.open = e.open[:0]
	c.nOpen = 0
	c.tally, c.until, c.firstDone, c.laterDone, c.laterFull = tally{}, 0, [2]int32{}, [2]int32{}, 0
	c.rstDone = [2]int32{}
	t.sched.remove(c)
	t.release()
}

// release emits the judged resets at the head of the frame-ordered queue.
func (t *Tracker) release() {
	for t.head < len(t.out) && t.out[t.head].ready {
		r := t.out[t.head]
		t.out[t.head] = nil
		t.head++
		if t.Emit != nil {
			t.Emit(r)
		}
		t.unref(r)
	}
	if t.head == len(t.out) {
		t.out, t.head = t.out[:0], 0
	} else if t.head > 1024 && t.head > len(t.out)/2 {
		n := copy(t.out, t.out[t.head:])
		clear(t.out[n:])
		t.out, t.head = t.out[:n], 0
	}
}

func (t *Tracker) add(c *conn, dir uint8, p *decode.Packet) {
	if c.nOpen > 0 && t.now >= t.closeAt(c) {
		t.closeOpen(c, false)
	}
	copyOf := c.copyOf(dir, p)
	if copyOf != 0 && p.Flags&decode.RST == 0 {
		c.Copies++
		t.stats.Copies++
		return
	}
	if c.nOpen > 0 {
		t.count(c, dir, p)
	}
	if c.firstSender != 0 && p.Flags&decode.RST == 0 && p.Flags&(decode.SYN|decode.ACK) != decode.SYN {
		if dir+1 == c.firstSender {
			c.firstSenderOn = true
		} else if c.firstSenderOn {
			// Both sides carried on past the first RST: it never took
			// effect (a forged RST the receiver dropped as out of
			// window), so a later RST is not its consequence.
			t.setFirst(c, nil)
			c.firstSenderOn = false
		}
	}

	if p.Flags&decode.RST != 0 {
		t.reset(c, int(dir), p, copyOf)
	} else {
		kind := c.apply(dir, p)
		c.touch(p, t.now)
		s := summaryOf(p, dir, kind, &c.Sides[dir])
		// applyAck set the peer's UnseenFrame to this frame, no other.
		if s.AcksUnseen = c.Sides[1-dir].UnseenFrame == p.Frame; s.AcksUnseen {
			t.stats.Unseen++
		}
		c.push(s)
		c.noteHistory(dir, p.Flags, p.Len, kind, s.Window)
		if c.nOpen > 0 {
			t.follow(c, &s)
		}
		t.moveBack(c)
	}
	if t.Observer != nil {
		t.Observer.Segment(ConnID(c.id), int(dir), p, &c.Conn)
	}
}

// count adds p, from side dir, to the aftermath of c's open resets. What
// only some resets take (the first packet of a side after each, the
// sender's first later packet) is given to each reset once: a packet
// costs O(1) amortized however many resets are open.
func (t *Tracker) count(c *conn, dir uint8, p *decode.Packet) {
	c.tally.pkts[dir]++
	c.tally.bytes[dir] += int64(p.Len)
	rst := p.Flags&decode.RST != 0
	if rst {
		c.tally.rsts[dir]++
	}
	c.until = p.TS
	open := t.slabs.ext(c.id).open
	for _, r := range open[c.firstDone[dir]:] {
		i := 1
		if int(dir) == r.Sender {
			i = 0
		}
		r.After.FirstFrame[i] = p.Frame
	}
	c.firstDone[dir] = int32(len(open))
	if rst {
		for _, r := range open[c.rstDone[dir]:] {
			if int(dir) == r.Sender {
				r.After.NextRSTFrame, r.After.NextRSTTS, r.After.NextRSTSeq = p.Frame, p.TS, p.Seq
			}
		}
		c.rstDone[dir] = int32(len(open))
	}
	if rst && p.IPIDKin != 0 {
		// The kin RST came at most kinIDs IP IDs before: look no further
		// back among the open resets than that.
		for i := len(open) - 1; i >= 0 && i >= len(open)-16; i-- {
			if r := open[i]; r.Packet.Frame == p.IPIDKin && int(dir) != r.Sender && r.After.KinFrame == 0 {
				r.After.KinFrame = p.Frame
			}
		}
	}
	if !rst && p.Flags&(decode.SYN|decode.ACK) != decode.SYN {
		for _, r := range open[c.laterDone[dir]:] {
			if int(dir) == r.Sender {
				r.After.SenderLaterFrame = p.Frame
			}
		}
		c.laterDone[dir] = int32(len(open))
	}
}

// dropped reports whether the receiver of a RST ignores it as RFC 5961
// §3.2 has every stack since (Linux since 3.6) do: only a RST at the
// receiver's next expected sequence number resets; one elsewhere in the
// window draws a challenge ACK, one outside it is dropped. As seen, the
// receiver expects the sender's next sequence number or what it last
// acknowledged (the two differ while data is in flight); after the
// sender's FIN, also the FIN's own number (Linux's tcp_reset_check). A
// RST the receiver ignored ended nothing: a later RST is not its
// follow-up. Without both numbers (no handshake seen) it says false.
func dropped(c *conn, dir int, p *decode.Packet) bool {
	me, peer := &c.Sides[dir], &c.Sides[1-dir]
	if !me.HasSeq || !peer.HasAck {
		return false
	}
	s := p.Seq
	return s != me.NextSeq && s != peer.AckHi && (me.FINFrame == 0 || s != me.NextSeq-1)
}

// follow gives s to the open resets that have fewer than LaterSize
// packets after them.
func (t *Tracker) follow(c *conn, s *Summary) {
	open := t.slabs.ext(c.id).open
	i := int(c.laterFull)
	for i < len(open) && len(open[i].Later) == LaterSize {
		i++
	}
	c.laterFull = int32(i)
	for _, r := range open[i:] {
		if cap(r.Later) == 0 {
			r.Later = make([]Summary, 0, 2)
		}
		r.Later = append(r.Later, *s)
	}
}

// reset records a RST: the snapshot is taken before the RST changes
// anything.
func (t *Tracker) reset(c *conn, dir int, p *decode.Packet, copyOf int64) {
	t.stats.Resets++
	e := t.slabs.ext(c.id)
	first := e.first
	if first != nil && uint8(dir)+1 != c.firstSender && !c.firstSenderOn && copyOf == 0 {
		// A RST never draws a RST (RFC 9293 §3.10.7: a reset is never
		// answered): a reset of the other side is the consequence of the
		// first only when it answers a segment the first resetter sent
		// after it. Two sides resetting at once, each at its own next
		// sequence number, are two aborts.
		first = nil
	}
	if first != nil && uint8(dir)+1 == c.firstSender && copyOf == 0 && p.Flags&decode.ACK != 0 &&
		p.Seq == first.Packet.Seq && p.Ack == first.Packet.Ack && c.Sides[1-dir].LastFrame < first.Packet.Frame {
		// The same sender's RST+ACK again at the same numbers, and
		// nothing from the peer since the first: no segment drew it (a
		// reset connection's answers are bare RSTs at the ack of what
		// they answer, RFC 9293 §3.10.7.1). A second abort, judged on
		// its own; a copy of the first would be CopyOf.
		first = nil
	}
	r := t.newReset()
	*r.Conn = c.Conn
	r.Packet, r.Sender, r.First, r.CopyOf, r.base = *p, dir, first, copyOf, c.tally
	r.refs = 1 // the queue's, until emitted
	if first != nil {
		first.refs++
	}
	r.Packet.Payload = nil
	if len(p.Payload) > 0 {
		r.payload = append(r.payload[:0], p.Payload[:min(len(p.Payload), payloadKept)]...)
		r.Packet.Payload = r.payload
	}
	r.Packet.Trailer = nil
	if len(p.Trailer) > 0 { // decode.MaxTrailer bytes at most
		r.trailer = append(r.trailer[:0], p.Trailer...)
		r.Packet.Trailer = r.trailer
	}
	if c.firstSender == 0 && !dropped(c, dir, p) {
		t.setFirst(c, r)
	}
	me := &c.Sides[dir]
	if me.RSTFrame == 0 {
		me.RSTFrame = p.Frame
	}
	me.Packets++
	me.LastFrame, me.LastTS = p.Frame, p.TS
	c.Resets++
	c.touch(p, t.now)
	s := summaryOf(p, uint8(dir), KindNew, me)
	// A RST's own window, not the side's last advertised one: the
	// ladder shows what Wireshark shows, and copyOf compares it.
	s.Window = uint32(p.Window) << c.shift(uint8(dir))
	c.push(s)
	c.noteHistory(uint8(dir), p.Flags, p.Len, KindNew, 0)
	if c.nOpen > 0 {
		t.follow(c, &s)
	}

	if c.nOpen == 0 {
		c.openSince = t.now
	}
	e.open = append(e.open, r)
	c.nOpen++
	t.out = append(t.out, r)
	if c.heapIdx < 0 {
		t.sched.set(c, t.closeAt(c))
	}
	if c.list != listEnded {
		t.unlink(c)
		t.place(listEnded, c)
	} else {
		t.moveBack(c)
	}
}

// timeout is how long a connection of list l may stay silent.
func (t *Tracker) timeout(l listID) int64 {
	if l == listEnded {
		return t.dur(t.Linger, DefaultLinger)
	}
	return t.dur(t.Idle, DefaultIdle)
}

func (t *Tracker) place(l listID, c *conn) {
	t.pushBack(l, c)
	c.moved = t.now
}

// moveBack keeps c's list in the order of activity after a packet, or
// moves c to the ended list when both its FINs are in and acknowledged.
// A FIN still unacknowledged is retransmitted (RFC 9293 §3.10.7), for as
// long as the closer's FIN_WAIT or LAST_ACK lasts: a connection left
// after 2 s would meet the retransmissions, and a RST drawn by them, as a
// new connection with no history.
//
// It is lazy: a connection moves only when it last moved a sixteenth of
// its list's timeout ago. Unlinking touches both neighbours, two cache
// misses a packet in a large table, and most packets come within a few
// milliseconds of the one before on their connection. So the lists are in
// order of the last move, and a connection behind the front may expire up
// to that sixteenth late; a packet for it in the meantime finds it
// expired all the same (AddAt), so the answers do not change, and neither
// does the split of connections between workers.
func (t *Tracker) moveBack(c *conn) {
	l := c.list
	if l == listLive && c.Sides[0].FINAckedFrame != 0 && c.Sides[1].FINAckedFrame != 0 {
		t.unlink(c)
		t.place(listEnded, c)
		return
	}
	if t.now-c.moved < t.timeout(l)/16 {
		return
	}
	t.unlink(c)
	t.place(l, c)
}

func (c *conn) touch(p *decode.Packet, now int64) {
	c.Packets++
	c.LastFrame, c.LastTS, c.seen = p.Frame, p.TS, now
}

// copyOf returns the frame of an identical packet captured just before
// from the same side, or 0. Copies differ at most by one in TTL (the
// forwarded copy) and arrive within a millisecond.
func (c *conn) copyOf(dir uint8, p *decode.Packet) int64 {
	if me := &c.Sides[dir]; p.Flags&decode.RST == 0 && (p.IPID != me.LastIPID || p.TS-me.LastTS > int64(time.Millisecond)) {
		// Not the side's last packet again (countSender keeps its IP ID
		// and time): no need to read the ring, a cache miss a packet.
		return 0
	}
	s, ok := c.last(dir)
	if !ok || p.TS-s.TS > int64(time.Millisecond) || p.TS < s.TS {
		return 0
	}
	if s.Seq != p.Seq || s.Ack != p.Ack || s.Flags != p.Flags || s.Len != uint32(p.Len) || s.IPID != p.IPID {
		return 0
	}
	if d := int(s.TTL) - int(p.TTL); d < -1 || d > 1 {
		return 0
	}
	if p.Flags&decode.RST != 0 && p.IPID == 0 && s.TTL == p.TTL {
		// Two RSTs with IP ID 0 (a kernel's RST without a socket, a
		// crafted one) alike to the TTL may be two RSTs: each answer to
		// two segments with the same ack is the same packet. Only a
		// forwarded copy (TTL one lower) or a shared non-zero IP ID
		// says it is one RST captured twice.
		return 0
	}
	if raw := rawWindow(s.Window, c.shift(dir)); raw != uint32(p.Window) {
		return 0
	}
	return s.Frame
}

func rawWindow(w uint32, shift uint8) uint32 { return w >> shift }

// shift is the window scale that applies to side dir's advertisements,
// or 0 when unknown (then windows are kept raw).
func (c *conn) shift(dir uint8) uint8 { return c.WindowShift(int(dir)) }

// WindowShift is the window scale that applies to side's advertisements
// (RFC 7323: both SYNs carried the option), or 0 when unknown or none.
func (c *Conn) WindowShift(side int) uint8 {
	a, b := &c.Sides[0], &c.Sides[1]
	if a.SYNFrame == 0 || b.SYNFrame == 0 || a.WScale < 0 || b.WScale < 0 {
		return 0
	}
	return uint8(min(c.Sides[side].WScale, 14)) // RFC 7323 §2.3: at most 14
}

func summaryOf(p *decode.Packet, dir uint8, kind Kind, me *Side) Summary {
	return Summary{Frame: p.Frame, TS: p.TS, Seq: p.Seq, Ack: p.Ack, Len: uint32(p.Len),
		Window: me.Window, IPID: p.IPID, TTL: p.TTL, Flags: p.Flags, Dir: dir, Kind: kind}
}

// apply updates side dir's state with a non-RST segment and returns how
// the segment was understood. Each step is a function of its own, in the
// order they depend on each other: the handshake, the sequence space
// (which says what kind of segment it is), the runs that kind ends or
// extends, the data, the acknowledgement, the window, the FIN, and what
// the packet says of its sender (TTL, IP ID).
func (c *conn) apply(dir uint8, p *decode.Packet) Kind {
	me, peer := &c.Sides[dir], &c.Sides[1-dir]
	syn, fin := p.Flags&decode.SYN != 0, p.Flags&decode.FIN != 0
	if syn {
		c.applySYN(dir, p)
	}
	kind, fresh := c.applySeq(dir, p, syn, fin)
	me.countKind(peer, kind, p, syn || fin)
	if fresh > 0 {
		me.countData(peer, p, fresh)
	}
	if p.Len > 0 {
		me.DataPackets++
	}
	if p.Flags&decode.ACK != 0 {
		c.applyAck(dir, p, syn)
	}
	c.applyWindow(dir, p, syn)
	if fin && me.FINFrame == 0 {
		me.FINFrame, me.FINTS, me.FINSeq = p.Frame, p.TS, p.Seq+uint32(p.Len)
	}
	me.countSender(p)
	return kind
}

// applySYN notes the handshake: who is the client, the SYN-ACK, and the
// options each side announced in its SYN.
func (c *conn) applySYN(dir uint8, p *decode.Packet) {
	me := &c.Sides[dir]
	if p.Flags&decode.ACK == 0 {
		c.Client, c.ClientGuessed = int(dir), false
	} else {
		if c.SYNACKFrame == 0 {
			c.SYNACKFrame = p.Frame
		}
		if c.ClientGuessed || c.Sides[1-dir].SYNFrame == 0 {
			c.Client, c.ClientGuessed = int(1-dir), false
		}
	}
	if me.SYNFrame == 0 {
		me.SYNFrame, me.ISN = p.Frame, p.Seq
		me.WScale, me.MSS, me.SACKPerm, me.TSOpt, me.Layout = p.WScale, p.MSS, p.SACKPerm, p.HasTS, p.Layout
	}
}

// applySeq moves side dir's snd_nxt and says what the segment is: new
// (with fresh bytes of new data) or a repeat of what was sent before.
func (c *conn) applySeq(dir uint8, p *decode.Packet, syn, fin bool) (kind Kind, fresh int64) {
	me := &c.Sides[dir]
	end := p.Seq + uint32(p.Len)
	if syn {
		end++
	}
	if fin {
		end++
	}
	switch {
	case !me.HasSeq:
		me.HasSeq, me.NextSeq, fresh = true, end, int64(p.Len)
	case seqGT(end, me.NextSeq):
		fresh = int64(p.Len)
		if seqLT(p.Seq, me.NextSeq) {
			fresh = max(0, SeqDiff(me.NextSeq, p.Seq+uint32(p.Len)))
			me.Retrans++ // partly a retransmission
			me.LastRetransFrame = p.Frame
		}
		me.NextSeq = end
	default:
		return c.classifyOld(dir, p), 0
	}
	return KindNew, fresh
}

// countKind extends or ends the runs a segment of this kind bears on:
// retransmissions, keepalive probes and their answers, zero-window probes.
// control is a SYN or FIN.
func (me *Side) countKind(peer *Side, kind Kind, p *decode.Packet, control bool) {
	switch kind {
	case KindRetrans:
		me.Retrans++
		me.LastRetransFrame = p.Frame
		if me.RetransRun == 0 {
			me.RetransRunFrame = p.Frame
		}
		me.RetransRun++
	case KindKeepalive:
		me.Keepalives++
		if me.KeepaliveRun == 0 {
			me.KeepaliveFrame = p.Frame
		}
		me.KeepaliveRun++
	case KindProbe:
		peer.Stall.Probes++
	}
	traffic := p.Len > 0 || control
	if kind != KindKeepalive && traffic {
		me.KeepaliveRun = 0
	}
	switch {
	case traffic:
		peer.KeepaliveRun, peer.KeepaliveAnswers = 0, 0 // real traffic: the peer's probes were answered
	case peer.KeepaliveRun > 0 && kind != KindKeepalive:
		peer.KeepaliveAnswers++
	}
}

// countData counts fresh bytes of new data, and the run of data the peer
// has not answered.
func (me *Side) countData(peer *Side, p *decode.Packet, fresh int64) {
	me.Bytes += fresh
	me.LastDataFrame, me.LastDataTS = p.Frame, p.TS
	if me.FirstDataFrame == 0 {
		me.FirstDataFrame = p.Frame
	}
	if me.Unanswered == 0 { // a new run: what does it answer?
		me.UnansweredFrame, me.UnansweredMsgs = p.Frame, 0
		me.AnsweredMsgs = peer.UnansweredMsgs
	}
	me.Unanswered += fresh
	if p.Flags&decode.PSH != 0 {
		me.UnansweredMsgs++
	}
	peer.Unanswered, peer.UnansweredFrame, peer.UnansweredMsgs = 0, 0, 0
}

// applyAck takes side dir's acknowledgement: what it acknowledged of the
// peer's data and FIN, and the handshake's last ACK.
func (c *conn) applyAck(dir uint8, p *decode.Packet, syn bool) {
	me, peer := &c.Sides[dir], &c.Sides[1-dir]
	if peer.HasSeq && seqGT(p.Ack, peer.NextSeq) {
		peer.UnseenFrame = p.Frame
	}
	if !me.HasAck || seqGT(p.Ack, me.AckHi) {
		if me.HasAck {
			peer.RetransRun, peer.RetransRunFrame = 0, 0
		}
		me.HasAck, me.AckHi = true, p.Ack
	}
	if peer.FINFrame != 0 && peer.FINAckedFrame == 0 && seqGT(p.Ack, peer.FINSeq) {
		peer.FINAckedFrame = p.Frame
	}
	if c.SYNACKFrame != 0 && c.AckedFrame == 0 && !syn && int(dir) == c.Client &&
		peer.SYNFrame != 0 && p.Ack == peer.ISN+1 {
		c.AckedFrame, c.AckedTS = p.Frame, p.TS
	}
}

// applyWindow takes side dir's advertised window, scaled once both SYNs
// announced a scale (never on a SYN itself: RFC 7323 §2.2), and its
// zero-window periods.
func (c *conn) applyWindow(dir uint8, p *decode.Packet, syn bool) {
	me := &c.Sides[dir]
	if syn {
		me.Window = uint32(p.Window)
		me.MaxWindow = max(me.MaxWindow, me.Window)
		return
	}
	w := uint32(p.Window) << c.shift(dir)
	me.Window, me.Scaled = w, c.Sides[0].SYNFrame != 0 && c.Sides[1].SYNFrame != 0
	me.MaxWindow = max(me.MaxWindow, w)
	if p.Window == 0 {
		me.ZeroWindows++
		if !me.Stall.Active() {
			me.Stall = Stall{StartFrame: p.Frame, StartTS: p.TS}
		}
		me.Stall.Adverts++
	} else if me.Stall.Active() {
		me.Stall.EndFrame, me.Stall.EndTS = p.Frame, p.TS
	}
}

// countSender notes who sent the packet, as far as its IP header says:
// the TTL range and IP ID of the endpoint's own packets.
func (me *Side) countSender(p *decode.Packet) {
	if me.MaxTTL == 0 {
		me.FirstTTL, me.MinTTL, me.MaxTTL = p.TTL, p.TTL, p.TTL
	}
	me.LastTTL = p.TTL
	me.MinTTL, me.MaxTTL = min(me.MinTTL, p.TTL), max(me.MaxTTL, p.TTL)
	if !p.IPv6 {
		me.LastIPID = p.IPID
		me.IPIDs++
		if p.IPID == 0 {
			me.ZeroIPIDs++
		} else {
			if d := p.IPID - me.CounterIPID; me.CounterIPID != 0 && d >= 1 && d <= IPIDStep {
				me.IPIDRun = min(me.IPIDRun+1, math.MaxUint16)
			} else {
				me.IPIDRun = 0
			}
			me.CounterIPID = p.IPID
		}
	}
	me.TSOnLast = p.HasTS
	if p.HasTS {
		if me.TSPackets == 0 {
			me.TSFirstFrame, me.TSFirstTS, me.TSFirstVal = p.Frame, p.TS, p.TSVal
		} else if int32(p.TSVal-me.TSLastVal) < 0 {
			me.TSBack = true
		}
		me.TSLastVal = p.TSVal
		me.TSPackets = min(me.TSPackets+1, math.MaxUint16)
	}
	me.Packets++
	me.LastFrame, me.LastTS = p.Frame, p.TS
}

// classifyOld says what a segment that carries nothing new is.
func (c *conn) classifyOld(dir uint8, p *decode.Packet) Kind {
	me, peer := &c.Sides[dir], &c.Sides[1-dir]
	una := me.NextSeq
	if peer.HasAck {
		una = peer.AckHi
	}
	small := p.Len <= 1 && p.Flags&(decode.SYN|decode.FIN) == 0
	switch {
	case small && peer.Stall.Active() && (p.Seq == una || p.Seq == una-1):
		// Linux probes a zero window with seq = snd_una, no data
		// (tcp_xmit_probe_skb, urgent=1); others send one byte.
		return KindProbe
	case small && p.Seq == una-1:
		// Keepalive: seq = snd_una-1, zero or one byte (RFC 1122 4.2.3.6).
		return KindKeepalive
	case p.Len > 0 || p.Flags&(decode.SYN|decode.FIN) != 0:
		return KindRetrans
	}
	if s, ok := c.last(dir); ok && s.Ack == p.Ack && s.Len == 0 && rawWindow(s.Window, c.shift(dir)) == uint32(p.Window) {
		return KindDupAck
	}
	return KindNew
}
