package analyzer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
	"time"
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
// and leave, a hop older, by another): every packet looks it up, and a
// 20-byte key cost a fifth of tracking time. Two hosts whose hashes
// collide would share a range, which can only widen it: a missed
// mismatch, never a false one.
type hostTTLs map[uint64][2]uint8

const maxHosts = 1 << 16

func (h hostTTLs) see(p *Packet) {
	k := endpointHash(p.Src, uint16(p.Iface)) ^ uint64(p.Iface)<<17
	if p.Flags&RST != 0 {
		p.SrcTTLMin, p.SrcTTLMax = 0, 0
		if r, ok := h[k]; ok {
			p.SrcTTLMin, p.SrcTTLMax = r[0], r[1]
		}
		return
	}
	if p.Flags&SYN == 0 && p.Frame&63 != 0 {
		// A TTL is a host's property: the SYN and SYN-ACK of each
		// connection and every 64th packet give its range; probing the
		// table for every packet cost a tenth of the time on captures of
		// many short connections.
		return
	}
	r, ok := h[k]
	switch {
	case !ok && len(h) >= maxHosts:
	case !ok:
		h[k] = [2]uint8{p.TTL, p.TTL}
	case p.TTL < r[0] || p.TTL > r[1]:
		h[k] = [2]uint8{min(r[0], p.TTL), max(r[1], p.TTL)}
	}
}

// decodeLoop reads and decodes every frame and passes each TCP segment to
// add; it fills in the reading side of res.
func decodeLoop(ctx context.Context, rd *Reader, res *Result, frame *int64, add func(*Packet)) error {
	var (
		dec   Decoder
		p     Packet
		hosts = hostTTLs{}
	)
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		raw, err := rd.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				res.Damage = err
			}
			return nil
		}
		*frame = raw.Frame
		p.Frame, p.TS = raw.Frame, raw.TS
		switch derr := dec.Decode(raw.Link, raw.Data, &p); {
		case derr == nil:
			if p.Iface == 0 {
				p.Iface = raw.Iface
			}
			hosts.see(&p)
			add(&p)
		case errors.Is(derr, ErrNotTCP), errors.Is(derr, ErrUnsupportedLink):
			res.NotTCP++
		default:
			res.Undecodable++
			if len(res.UndecodableFrames) < keepUndecodable {
				res.UndecodableFrames = append(res.UndecodableFrames, raw.Frame)
			}
		}
	}
}

func runOne[T any](ctx context.Context, rd *Reader, opt Options, judge func(*Reset) T, emit func(T)) (res Result, err error) {
	t := opt.tracker(1)
	t.Emit = func(r *Reset) { emit(judge(r)) }
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

// Sharding: the reading goroutine decodes and deals packets out to workers
// by flow hash, in batches. Every flush sends each worker a batch (empty
// or not) stamped with the capture time and the last frame read, so that
// idle workers still judge on time and vouch for how far they have got.
// Each worker answers with the results it emitted, in frame order, and a
// watermark: no result of a frame below it will come from that worker
// later. A merger releases results in frame order below the lowest
// watermark, so the output does not depend on scheduling.

const batchSize = 512

type batch struct {
	pkts   []Packet
	nows   []int64  // the reader's clock at each packet, so workers expire as one tracker would
	hashes []uint64 // each packet's flow hash, computed once to pick its worker
	now    int64    // capture time reached by the reader
	upTo   int64    // last frame the reader had read
	last   bool
}

type judged[T any] struct {
	frame int64
	v     T
}

type report[T any] struct {
	worker int
	out    []judged[T]
	mark   int64 // no later result from this worker has a frame below it
	stats  TrackStats
	err    error
}

func runSharded[T any](ctx context.Context, rd *Reader, opt Options, judge func(*Reset) T, emit func(T)) (res Result, err error) {
	n := opt.Workers
	in := make([]chan *batch, n)
	free := make(chan *batch, 4*n)
	reports := make(chan report[T], 4*n)
	var wg sync.WaitGroup
	for i := range n {
		in[i] = make(chan *batch, 2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(i, opt.tracker(n), in[i], free, reports, judge)
		}()
	}

	mergeDone := make(chan error, 1)
	var stats TrackStats
	go func() { mergeDone <- merge(n, reports, emit, &stats) }()

	cur := make([]*batch, n)
	newBatch := func() *batch {
		select {
		case b := <-free:
			b.pkts, b.nows, b.hashes, b.last = b.pkts[:0], b.nows[:0], b.hashes[:0], false
			return b
		default:
			return &batch{pkts: make([]Packet, 0, batchSize), nows: make([]int64, 0, batchSize), hashes: make([]uint64, 0, batchSize)}
		}
	}
	for i := range cur {
		cur[i] = newBatch()
	}
	var frame, now int64
	pending := 0
	flush := func(last bool) {
		for i, b := range cur {
			b.now, b.upTo, b.last = now, frame, last
			in[i] <- b
			if !last {
				cur[i] = newBatch()
			}
		}
		pending = 0
	}
	var loopErr error
	func() {
		defer func() {
			if v := recover(); v != nil {
				loopErr = fmt.Errorf("internal error at frame %d: %v", frame, v)
			}
		}()
		loopErr = decodeLoop(ctx, rd, &res, &frame, func(p *Packet) {
			now = max(now, p.TS)
			h := flowHash(p)
			b := cur[int(h%uint64(n))]
			b.pkts, b.nows, b.hashes = append(b.pkts, *p), append(b.nows, now), append(b.hashes, h)
			q := &b.pkts[len(b.pkts)-1]
			q.Payload = nil
			if p.Flags&RST != 0 && len(p.Payload) > 0 {
				q.Payload = append([]byte(nil), p.Payload[:min(len(p.Payload), payloadKept)]...)
			}
			pending++
			if len(b.pkts) == batchSize || pending >= batchSize*n/2 {
				flush(false)
			}
		})
	}()
	flush(true)
	for i := range in {
		close(in[i])
	}
	wg.Wait()
	close(reports)
	if merr := <-mergeDone; merr != nil && loopErr == nil {
		loopErr = merr
	}
	res.Read, res.Track = rd.Stats(), stats
	return res, loopErr
}

// work owns one share of the flows.
func work[T any](id int, t *Tracker, in <-chan *batch, free chan<- *batch, reports chan<- report[T], judge func(*Reset) T) {
	var out []judged[T]
	var failed error
	t.Emit = func(r *Reset) { out = append(out, judged[T]{r.Packet.Frame, judge(r)}) }
	for b := range in {
		if failed == nil {
			failed = workBatch(t, b)
		}
		mark := b.upTo + 1
		if f := t.pendingFrame(); f != 0 && f < mark {
			mark = f
		}
		rep := report[T]{worker: id, out: out, mark: mark, err: failed}
		if b.last {
			rep.mark, rep.stats = 1<<62, t.Stats()
		}
		out = nil
		reports <- rep
		select {
		case free <- b:
		default:
		}
	}
}

func workBatch(t *Tracker, b *batch) (err error) {
	var frame int64
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error at frame %d: %v", frame, v)
		}
	}()
	for i := range b.pkts {
		frame = b.pkts[i].Frame
		t.addAt(&b.pkts[i], b.nows[i], b.hashes[i])
	}
	t.Advance(b.now)
	if b.last {
		t.Flush()
	}
	return nil
}

// merge releases the workers' results in frame order.
func merge[T any](n int, reports <-chan report[T], emit func(T), stats *TrackStats) error {
	queues := make([][]judged[T], n)
	marks := make([]int64, n)
	var err error
	for rep := range reports {
		queues[rep.worker] = append(queues[rep.worker], rep.out...)
		marks[rep.worker] = rep.mark
		if rep.err != nil && err == nil {
			err = rep.err
		}
		if rep.mark == 1<<62 {
			stats.add(rep.stats)
		}
		low := marks[0]
		for _, m := range marks[1:] {
			low = min(low, m)
		}
		for {
			best := -1
			for i, q := range queues {
				if len(q) > 0 && q[0].frame < low && (best < 0 || q[0].frame < queues[best][0].frame) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			emit(queues[best][0].v)
			queues[best][0] = judged[T]{}
			queues[best] = queues[best][1:]
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
