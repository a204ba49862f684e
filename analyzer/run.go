package analyzer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Options configure one capture's analysis. The zero value uses the
// defaults of Tracker and one worker.
type Options struct {
	Quiet      time.Duration
	MaxDelay   time.Duration
	Idle       time.Duration
	Linger     time.Duration
	MaxConns   int // for the whole capture; each worker gets its share
	MaxPending int
	// Workers track connections in parallel, each owning the flows that
	// hash to it. The file is still read once, in order, and the results
	// are the same as with one worker unless MaxConns or MaxPending is
	// reached. 0 or 1: everything on the calling goroutine.
	Workers int

	chunkBytes int // block size with several workers; 0: chunkBytes (tests set it small)
}

// Result sums up one capture.
type Result struct {
	Read  ReadStats
	Track TrackStats // with several workers: sums (Peak is the sum of their peaks)
	// NotTCP counts frames without a TCP segment (ARP, UDP, ...).
	NotTCP int64
	// Undecodable counts frames that claim to carry TCP but are damaged;
	// UndecodableFrames holds the first few frame numbers.
	Undecodable       int64
	UndecodableFrames []int64
	// Damage is set when reading stopped before the end of the file:
	// everything before it was analysed.
	Damage error
}

const keepUndecodable = 8

// Run analyses one capture: it reads r packet by packet and calls emit for
// every RST, in frame order, from one goroutine at a time. It returns an
// error when r is not a capture at all, when ctx is cancelled, or on an
// internal error; damage later in the file is reported in Result.Damage
// after the resets before it were emitted. Run keeps no state outside its
// own call: many can run at once.
func Run(ctx context.Context, r io.Reader, opt Options, emit func(*Reset)) (Result, error) {
	return RunJudged(ctx, r, opt, func(r *Reset) *Reset { return r }, emit)
}

// RunJudged is Run with the judging split from the emitting: judge runs on
// the worker that tracked the reset's connection (so with several workers,
// concurrently), and emit receives judge's results in frame order from one
// goroutine at a time.
func RunJudged[T any](ctx context.Context, r io.Reader, opt Options, judge func(*Reset) T, emit func(T)) (Result, error) {
	rd, err := NewReader(r)
	if err != nil {
		return Result{}, err
	}
	if opt.Workers <= 1 {
		return runOne(ctx, rd, opt, judge, emit)
	}
	return runSharded(ctx, rd, opt, judge, emit)
}

func (opt Options) tracker(share int) *Tracker {
	t := &Tracker{Quiet: opt.Quiet, MaxDelay: opt.MaxDelay, Idle: opt.Idle, Linger: opt.Linger,
		MaxConns: opt.MaxConns, MaxPending: opt.MaxPending}
	if share > 1 {
		if t.MaxConns > 0 {
			t.MaxConns = max(1, t.MaxConns/share)
		}
		if t.MaxPending > 0 {
			t.MaxPending = max(1, t.MaxPending/share)
		}
	}
	return t
}

// hostTTLs remembers the TTL range each address sent with, across
// connections. It lives with the reader, which sees every packet in
// order, so its answers do not depend on how flows are spread over
// workers. Past maxHosts addresses it learns no new ones.
//
// It is keyed by a 64-bit hash of the address as seen on one capture
// interface (on a router the same host's packets arrive on one interface
// and leave, a hop older, by another). Two hosts whose hashes collide
// would share a range, which can only widen it: a missed mismatch, never
// a false one. It is an open-addressing table of its own, not a map: one
// probe is one cache line, where a Go map lookup in a table this size
// cost two misses.
type hostTTLs struct {
	slots []hostSlot // a power of two long; key 0 marks an empty slot
	n     int
}

type hostSlot struct {
	key      uint64
	min, max uint8
}

const maxHosts = 1 << 16

// slot returns the slot of key k, or the empty slot where it would go.
func (h *hostTTLs) slot(k uint64) *hostSlot {
	mask := uint64(len(h.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		if s := &h.slots[i]; s.key == k || s.key == 0 {
			return s
		}
	}
}

func (h *hostTTLs) grow() {
	old := h.slots
	h.slots = make([]hostSlot, max(1024, 2*len(old)))
	prefault(h.slots)
	for _, s := range old {
		if s.key != 0 {
			*h.slot(s.key) = s
		}
	}
}

func (h *hostTTLs) see(p *Packet) {
	rst := p.Flags&RST != 0
	if !rst && p.Flags&SYN == 0 && p.Frame&63 != 0 {
		// A TTL is a host's property: the SYN and SYN-ACK of each
		// connection and every 64th packet give its range; probing the
		// table for every packet cost a tenth of the time on captures of
		// many short connections.
		return
	}
	if h.slots == nil {
		h.grow()
	}
	k := endpointHash(p.Src, uint16(p.Iface)) ^ uint64(p.Iface)<<17
	// Never the empty key. The top bit, which no slot index reaches: the
	// lowest one, set, made every home slot an odd one.
	k |= 1 << 63
	s := h.slot(k)
	switch {
	case rst:
		p.SrcTTLMin, p.SrcTTLMax = s.min, s.max // 0, 0 when unknown
	case s.key == 0 && h.n >= maxHosts:
	case s.key == 0:
		*s = hostSlot{key: k, min: p.TTL, max: p.TTL}
		h.n++
		if h.n*2 > len(h.slots) {
			h.grow()
		}
	default:
		s.min, s.max = min(s.min, p.TTL), max(s.max, p.TTL)
	}
}

// decodeLoop reads and decodes every frame and passes each TCP segment to
// add; it fills in the reading side of res.
func decodeLoop(ctx context.Context, rd *Reader, res *Result, frame *int64, add func(*Packet)) error {
	var (
		dec   Decoder
		p     Packet
		hosts hostTTLs
		recs  = make([]chunkRec, 0, 1024)
	)
	one := func(r *chunkRec) {
		*frame = r.frame
		p.Frame, p.TS = r.frame, r.ts
		switch derr := dec.Decode(r.link, r.data, &p); {
		case derr == nil:
			if p.Iface == 0 {
				p.Iface = r.iface
			}
			hosts.see(&p)
			add(&p)
		case errors.Is(derr, ErrNotTCP), errors.Is(derr, ErrUnsupportedLink):
			res.NotTCP++
		default:
			res.Undecodable++
			if len(res.UndecodableFrames) < keepUndecodable {
				res.UndecodableFrames = append(res.UndecodableFrames, r.frame)
			}
		}
	}
	for n := 0; ; n++ {
		if n&255 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		// Whole plain records already buffered, in one go; Next reads
		// the rest (and refills the buffer) one at a time.
		recs = rd.takeBuffered(recs[:0])
		for i := range recs {
			one(&recs[i])
		}
		raw, err := rd.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				res.Damage = err
			}
			return nil
		}
		r := chunkRec{frame: raw.Frame, ts: raw.TS, data: raw.Data, iface: raw.Iface, link: raw.Link}
		one(&r)
	}
}

func runOne[T any](ctx context.Context, rd *Reader, opt Options, judge func(*Reset) T, emit func(T)) (res Result, err error) {
	t := opt.tracker(1)
	t.Emit = func(r *Reset) { emit(judge(r)) }
	defer t.discard()
	var frame int64
	defer func() {
		// A bug must cost one capture, not the batch: report it with the
		// frame it happened on.
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error at frame %d: %v", frame, v)
		}
	}()
	if err := decodeLoop(ctx, rd, &res, &frame, t.Add); err != nil {
		return res, err
	}
	t.Flush()
	res.Read, res.Track = rd.Stats(), t.Stats()
	return res, nil
}

// Sharding. The calling goroutine only reads: it copies records, undecoded,
// into chunks of consecutive frames and hands every chunk to every worker,
// in order. Each chunk is decoded once, by the worker it falls to (chunk
// k to worker k mod n), which also sorts its packets by flow hash into one
// list a worker. Every worker then tracks, chunk after chunk, the packets
// that hash to it, so decoding and tracking both spread over the cores.
//
// What needs every packet in frame order is done between the two, once a
// chunk and all chunks before it are decoded, under one lock: the host
// TTL table and the capture clock (the latest time read so far), which
// the workers' trackers all follow so that they expire and judge as one
// tracker would.
//
// After each chunk a worker reports the results it emitted, in frame
// order, and a watermark: no result of a frame below it will come from
// that worker later. A merger releases results in frame order below the
// lowest watermark, so the output does not depend on scheduling.

// Chunk limits: big enough that handing chunks around costs little per
// packet, small enough that a few per worker stay in the cache.
const (
	chunkBytes   = 256 << 10
	chunkRecords = 2048
)

type chunk struct {
	seq   int64
	data  []byte // the records' bytes, back to back
	recs  []chunkRec
	last  int64 // last frame read into the chunk
	final bool  // the capture's last chunk

	// Filled in by the decoding worker.
	pkts   []Packet // Payload aliases data
	hashes []uint64
	nows   []int64   // the latest packet time in the chunk up to each packet
	mine   [][]int32 // per worker: indices of the packets that hash to it
	ttl    []int32   // packets the host TTL table looks at
	maxTS  int64
	stats  decodeStats
	err    error

	// Set by the ordered pass.
	base  int64         // the capture clock before the chunk
	ready chan struct{} // closed after the ordered pass

	refs atomic.Int32 // workers yet to track the chunk
}

type chunkRec struct {
	frame, ts int64
	data      []byte // in the block of this chunk or of one before it
	iface     uint32
	link      layers.LinkType
}

// decodeStats counts the frames that gave no TCP segment.
type decodeStats struct {
	notTCP, undecodable int64
	undecodableFrames   []int64
}

// merge adds o's counts to s. Each worker keeps its first frames, and
// decodes its chunks in frame order, so the first of all are among the
// workers' firsts.
func (s *decodeStats) merge(o *decodeStats) {
	s.notTCP += o.notTCP
	s.undecodable += o.undecodable
	for _, f := range o.undecodableFrames {
		if len(s.undecodableFrames) < keepUndecodable {
			s.undecodableFrames = append(s.undecodableFrames, f)
		}
	}
}

// decode decodes every record of c and deals its packets out to n
// workers. It does what decodeLoop does for one tracker, except for the
// host TTLs, which need the packets of earlier chunks first.
func (c *chunk) decode(dec *Decoder, n int) {
	c.pkts = slices.Grow(c.pkts[:0], len(c.recs))[:len(c.recs)]
	c.hashes, c.nows, c.ttl = c.hashes[:0], c.nows[:0], c.ttl[:0]
	if len(c.mine) != n {
		c.mine = make([][]int32, n)
	}
	for i := range c.mine {
		c.mine[i] = c.mine[i][:0]
	}
	c.maxTS, c.stats = 0, decodeStats{}
	j := 0
	for _, r := range c.recs {
		p := &c.pkts[j]
		p.Frame, p.TS = r.frame, r.ts
		switch err := dec.Decode(r.link, r.data, p); {
		case err == nil:
			if p.Iface == 0 {
				p.Iface = r.iface
			}
			c.maxTS = max(c.maxTS, p.TS)
			h := flowHash(p)
			c.hashes, c.nows = append(c.hashes, h), append(c.nows, c.maxTS)
			w := shardOf(h, n)
			c.mine[w] = append(c.mine[w], int32(j))
			if p.Flags&(SYN|RST) != 0 || p.Frame&63 == 0 {
				c.ttl = append(c.ttl, int32(j))
			}
			j++
		case errors.Is(err, ErrNotTCP), errors.Is(err, ErrUnsupportedLink):
			c.stats.notTCP++
		default:
			c.stats.undecodable++
			if len(c.stats.undecodableFrames) < keepUndecodable {
				c.stats.undecodableFrames = append(c.stats.undecodableFrames, r.frame)
			}
		}
	}
	c.pkts = c.pkts[:j]
}

// ordered runs the passes that need every packet in frame order, on each
// chunk once it and all chunks before it are decoded.
type ordered struct {
	mu      sync.Mutex
	next    int64
	waiting map[int64]*chunk
	hosts   hostTTLs
	clock   int64
}

func (o *ordered) decoded(c *chunk) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.waiting[c.seq] = c
	for {
		c, ok := o.waiting[o.next]
		if !ok {
			return
		}
		delete(o.waiting, o.next)
		o.next++
		for _, i := range c.ttl {
			o.hosts.see(&c.pkts[i])
		}
		c.base = o.clock
		o.clock = max(o.clock, c.maxTS)
		close(c.ready)
	}
}

type report[T any] struct {
	worker int
	out    []judged[T]
	mark   int64 // no later result from this worker has a frame below it
	stats  TrackStats
	decode decodeStats // of the chunks this worker decoded
	err    error
}

type judged[T any] struct {
	frame int64
	v     T
}

func runSharded[T any](ctx context.Context, rd *Reader, opt Options, judge func(*Reset) T, emit func(T)) (res Result, err error) {
	n := opt.Workers
	in := make([]chan *chunk, n)
	pool := 4 * n
	free := make(chan *chunk, pool)
	reports := make(chan report[T], 4*n)
	spare := make(chan []judged[T], 4*n)
	o := &ordered{waiting: map[int64]*chunk{}}
	var wg sync.WaitGroup
	for i := range n {
		in[i] = make(chan *chunk, pool)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker[T]{id: i, n: n, t: opt.tracker(n), in: in[i], free: free, reports: reports, spare: spare, order: o}
			w.run(judge)
		}()
	}

	mergeDone := make(chan error, 1)
	var stats TrackStats
	var decoded decodeStats
	go func() { mergeDone <- merge(n, reports, spare, emit, &stats, &decoded) }()

	// Every chunk owns a block of the reader's: when the reader needs a
	// new block it takes the next chunk's, and the records read before
	// are all in the blocks of chunks already begun. So records are never
	// copied; a block is read into again once every worker is done with
	// its chunk.
	blockSize := chunkBytes
	if opt.chunkBytes > 0 {
		blockSize = opt.chunkBytes
	}
	allocated := 0
	newChunk := func() *chunk {
		var c *chunk
		if allocated < pool {
			select {
			case c = <-free:
			default:
				allocated++
				c = &chunk{data: make([]byte, blockSize), recs: make([]chunkRec, 0, chunkRecords)}
			}
		} else {
			c = <-free
		}
		clear(c.recs) // they point into other chunks' blocks
		c.recs, c.last, c.err, c.final = c.recs[:0], 0, nil, false
		c.ready = make(chan struct{})
		c.refs.Store(int32(n))
		return c
	}
	var seq int64
	final := false
	cur := newChunk()
	send := func() {
		cur.seq, cur.final = seq, final
		for _, ch := range in {
			ch <- cur
		}
		seq++
	}
	var begun []*chunk // chunks whose blocks the reader moved to
	rd.br.SetFresh(func(size int) []byte {
		c := newChunk()
		if len(c.data) < size {
			c.data = make([]byte, size)
		}
		begun = append(begun, c)
		return c.data
	})
	var loopErr error
	func() {
		defer func() {
			if v := recover(); v != nil {
				loopErr = fmt.Errorf("internal error at frame %d: %v", cur.last+1, v)
			}
		}()
		for k := 0; ; k++ {
			if k&1023 == 0 && ctx.Err() != nil {
				loopErr = ctx.Err()
				return
			}
			if k > 0 {
				// What the reader holds of whole plain records, cheaply;
				// Next then reads the one after, which begins a block.
				cur.recs = rd.takeBuffered(cur.recs)
			}
			raw, rerr := rd.Next()
			for _, c := range begun {
				// The records so far are in older blocks than c's.
				send()
				cur = c
			}
			begun = begun[:0]
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) {
					res.Damage = rerr
				}
				return
			}
			cur.recs = append(cur.recs, chunkRec{frame: raw.Frame, ts: raw.TS, data: raw.Data, iface: raw.Iface, link: raw.Link})
			cur.last = raw.Frame
		}
	}()
	for _, c := range begun {
		send()
		cur = c
	}
	final = true
	send() // the last chunk, possibly empty: workers flush after it
	for i := range in {
		close(in[i])
	}
	wg.Wait()
	close(reports)
	if merr := <-mergeDone; merr != nil && loopErr == nil {
		loopErr = merr
	}
	slices.Sort(decoded.undecodableFrames)
	res.NotTCP, res.Undecodable = decoded.notTCP, decoded.undecodable
	res.UndecodableFrames = decoded.undecodableFrames[:min(len(decoded.undecodableFrames), keepUndecodable)]
	res.Read, res.Track = rd.Stats(), stats
	return res, loopErr
}

// worker decodes its share of the chunks and tracks its share of the
// flows.
type worker[T any] struct {
	id, n   int
	t       *Tracker
	in      <-chan *chunk
	free    chan<- *chunk
	reports chan<- report[T]
	spare   <-chan []judged[T] // emitted result slices, to fill again
	order   *ordered
	dec     Decoder
	failed  error
	queue   []*chunk // received, not yet tracked, in order
	decoded int64    // chunks of this worker's up to this seq are decoded
	stats   decodeStats
}

func (w *worker[T]) run(judge func(*Reset) T) {
	var out []judged[T]
	w.t.Emit = func(r *Reset) {
		if out == nil {
			select {
			case out = <-w.spare: // one the merger is done with
			default:
			}
		}
		out = append(out, judged[T]{r.Packet.Frame, judge(r)})
	}
	defer w.t.discard()
	w.decoded = -1
	open := true
	for {
		// Take what has come, then decode this worker's chunks among it
		// before waiting for anyone else's: every worker doing so is what
		// keeps the chunks flowing.
		for open {
			select {
			case c, ok := <-w.in:
				if !ok {
					open = false
					continue
				}
				w.queue = append(w.queue, c)
				continue
			default:
			}
			break
		}
		if w.decodeOwn() {
			continue
		}
		if len(w.queue) == 0 {
			c, ok := <-w.in
			if !ok {
				open = false
				continue
			}
			w.queue = append(w.queue, c)
			continue
		}
		head := w.queue[0]
		if open {
			select {
			case <-head.ready:
			case c, ok := <-w.in:
				if !ok {
					open = false
				} else {
					w.queue = append(w.queue, c)
				}
				continue
			}
		} else {
			<-head.ready
		}
		w.queue = w.queue[1:]
		if w.failed == nil {
			w.failed = w.track(head)
		}
		mark := head.last + 1
		if f := w.t.pendingFrame(); f != 0 && f < mark {
			mark = f
		}
		rep := report[T]{worker: w.id, out: out, mark: mark, err: w.failed}
		final := head.final
		if final {
			rep.mark, rep.stats, rep.decode = 1<<62, w.t.Stats(), w.stats
		}
		out = nil
		if head.refs.Add(-1) == 0 {
			w.free <- head // the reader may refill it at once
		}
		w.reports <- rep
		if final {
			return
		}
	}
}

// decodeOwn decodes the first chunk in the queue that falls to this
// worker and is not decoded yet, and reports whether there was one.
func (w *worker[T]) decodeOwn() bool {
	for _, c := range w.queue {
		if c.seq <= w.decoded || int(c.seq%int64(w.n)) != w.id {
			continue
		}
		w.decoded = c.seq
		func() {
			defer func() {
				if v := recover(); v != nil {
					c.err = fmt.Errorf("internal error decoding frames up to %d: %v", c.last, v)
					c.pkts, c.ttl = c.pkts[:0], c.ttl[:0]
					for i := range c.mine {
						c.mine[i] = c.mine[i][:0]
					}
				}
			}()
			c.decode(&w.dec, w.n)
		}()
		w.stats.merge(&c.stats)
		w.order.decoded(c)
		return true
	}
	return false
}

// track adds the chunk's packets that hash to this worker.
func (w *worker[T]) track(c *chunk) (err error) {
	var frame int64
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error at frame %d: %v", frame, v)
		}
	}()
	if c.err != nil {
		return c.err
	}
	t := w.t
	for _, i := range c.mine[w.id] {
		p := &c.pkts[i]
		frame = p.Frame
		t.addAt(p, max(c.base, c.nows[i]), c.hashes[i])
	}
	t.Advance(max(c.base, c.maxTS))
	if c.final {
		t.Flush()
	}
	return nil
}

// merge releases the workers' results in frame order. It emits them
// from the slices the workers reported, without copying, and hands each
// slice back through spare once it is emitted, for a worker to fill
// again.
func merge[T any](n int, reports <-chan report[T], spare chan<- []judged[T], emit func(T), stats *TrackStats, decoded *decodeStats) error {
	type queue struct {
		lists [][]judged[T] // not yet emitted, in order; none empty
		pos   int           // the next in lists[0]
	}
	queues := make([]queue, n)
	marks := make([]int64, n)
	var err error
	for rep := range reports {
		if len(rep.out) > 0 {
			queues[rep.worker].lists = append(queues[rep.worker].lists, rep.out)
		}
		marks[rep.worker] = rep.mark
		if rep.err != nil && err == nil {
			err = rep.err
		}
		if rep.mark == 1<<62 {
			stats.add(rep.stats)
			decoded.notTCP += rep.decode.notTCP
			decoded.undecodable += rep.decode.undecodable
			decoded.undecodableFrames = append(decoded.undecodableFrames, rep.decode.undecodableFrames...)
		}
		low := marks[0]
		for _, m := range marks[1:] {
			low = min(low, m)
		}
		for {
			best, bestFrame := -1, int64(0)
			for i := range queues {
				q := &queues[i]
				if len(q.lists) == 0 {
					continue
				}
				if f := q.lists[0][q.pos].frame; f < low && (best < 0 || f < bestFrame) {
					best, bestFrame = i, f
				}
			}
			if best < 0 {
				break
			}
			q := &queues[best]
			emit(q.lists[0][q.pos].v)
			q.lists[0][q.pos] = judged[T]{}
			if q.pos++; q.pos == len(q.lists[0]) {
				select {
				case spare <- q.lists[0][:0]:
				default:
				}
				q.lists[0] = nil
				q.lists, q.pos = q.lists[1:], 0
			}
		}
	}
	return err
}

func (s *TrackStats) add(o TrackStats) {
	s.Packets += o.Packets
	s.Conns += o.Conns
	s.Peak += o.Peak
	s.EvictedIdle += o.EvictedIdle
	s.EvictedCap += o.EvictedCap
	s.Copies += o.Copies
	s.Resets += o.Resets
	s.Early += o.Early
}

// shardOf returns the worker of n that tracks the flow with hash h. It
// takes the hash's high bits (h*n / 2^64): the table a worker keeps its
// flows in takes the low ones, which must stay uniform among the flows
// that reach one worker. With h mod 2, every flow of a worker had the same
// lowest bit, and so every flow's first slot was an even one.
func shardOf(h uint64, n int) int {
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

// flowHash gives both directions of a connection the same worker and
// table slot: it adds the endpoints' hashes (addition commutes), then
// mixes the sum once more. It is fixed, not seeded: the same capture
// spreads over workers the same way on every run.
func flowHash(p *Packet) uint64 {
	return fmix(endpointHash(p.Src, p.SrcPort) + endpointHash(p.Dst, p.DstPort))
}

func endpointHash(a [16]byte, port uint16) uint64 {
	w0 := binary.LittleEndian.Uint64(a[0:8])
	w1 := binary.LittleEndian.Uint64(a[8:16])
	return fmix(mul(w0^0xa0761d6478bd642f, w1^0xe7037ed1a0b428db) ^ mul(uint64(port)^0x8ebc6af09c88c6e3, 0x589965cc75374cc3))
}

// mul folds the 128-bit product of a and b (the wyhash mixing step).
func mul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// fmix is murmur3's 64-bit finalizer: every input bit moves every
// output bit.
func fmix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
