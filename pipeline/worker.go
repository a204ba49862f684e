package pipeline

import (
	"fmt"
	"math/bits"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// worker decodes its share of the chunks and tracks its share of the
// flows.
type worker[T any] struct {
	id, n   int
	t       *track.Tracker
	in      <-chan *chunk
	free    chan<- *chunk
	reports chan<- report[T]
	spare   <-chan []judged[T] // emitted result slices, to fill again
	order   *ordered
	dec     decode.Decoder
	failed  error
	queue   []*chunk // received, not yet tracked, in order
	decoded int64    // chunks of this worker's up to this seq are decoded
	stats   decodeStats
	out     []judged[T] // emitted since the last report
}

// start makes the worker's tracker judge each reset it emits and keep
// the result for the next report.
func (w *worker[T]) start(judge func(*track.Reset) T) {
	w.t.Emit = func(r *track.Reset) {
		if w.out == nil {
			select {
			case w.out = <-w.spare: // one the merger is done with
			default:
			}
		}
		w.out = append(w.out, judged[T]{r.Packet.Frame, judge(r)})
	}
	w.decoded = -1
}

// run takes chunks from in until the final one, decoding its own and
// tracking every one, and sends a report after each.
func (w *worker[T]) run(judge func(*track.Reset) T) {
	w.start(judge)
	defer w.t.Close()
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
		rep := w.finish()
		w.reports <- rep
		if rep.mark == finalMark {
			return
		}
	}
}

// step is run for a worker that is the only one, on the reader's
// goroutine: c, the next chunk, is decoded, tracked and reported at once,
// with no goroutine to hand it to. The work and its order are the same as
// run's; only the handing over is left out, which cost the one-worker
// run a fifth more CPU time.
func (w *worker[T]) step(c *chunk, m *merger[T]) {
	w.queue = append(w.queue, c)
	w.decodeOwn()
	m.take(w.finish())
}

// finalMark is the watermark of a worker's last report.
const finalMark = 1 << 62

// finish tracks the chunk at the head of the queue, which is decoded and
// past the ordered pass, hands it back when no worker needs it any more,
// and returns the report of what it emitted.
func (w *worker[T]) finish() report[T] {
	head := w.queue[0]
	w.queue[0] = nil
	w.queue = w.queue[1:]
	if w.failed == nil {
		w.failed = w.track(head)
	}
	mark := head.last + 1
	if f := w.t.PendingFrame(); f != 0 && f < mark {
		mark = f
	}
	rep := report[T]{worker: w.id, out: w.out, mark: mark, err: w.failed}
	if head.final {
		rep.mark, rep.stats, rep.decode = finalMark, w.t.Stats(), w.stats
	}
	w.out = nil
	if head.refs.Add(-1) == 0 && !head.lone {
		w.free <- head // the reader may refill it at once
	}
	return rep
}

// decodeOwn decodes the first chunk in the queue that falls to this
// worker and is not decoded yet, and reports whether there was one.
func (w *worker[T]) decodeOwn() bool {
	for _, c := range w.queue {
		if c.seq <= w.decoded || int(c.seq%int64(w.n)) != w.id {
			continue
		}
		w.decoded = c.seq
		if c.err = decodeGuarded(c, &w.dec, w.n); c.err != nil {
			c.pkts, c.ttl, c.edges = c.pkts[:0], c.ttl[:0], c.edges[:0]
			for i := range c.mine {
				c.mine[i] = c.mine[i][:0]
			}
		}
		w.stats.merge(&c.stats)
		w.order.decoded(c)
		return true
	}
	return false
}

// track adds the chunk's packets that hash to this worker.
func (w *worker[T]) track(c *chunk) (err error) {
	var frame int64
	defer guard(&err, func() string { return fmt.Sprintf("at frame %d", frame) })
	if c.err != nil {
		return c.err
	}
	t := w.t
	for _, i := range c.mine[w.id] {
		p := &c.pkts[i]
		frame = p.Frame
		t.AddAt(p, max(c.base, c.nows[i]), c.hashes[i])
	}
	t.Advance(max(c.base, c.maxTS))
	if c.final {
		t.Flush()
	}
	return nil
}

// merger releases the workers' results in frame order. It emits them
// from the slices the workers reported, without copying, and hands each
// slice back through spare once it is emitted, for a worker to fill
// again.
type merger[T any] struct {
	queues  []mergeQueue[T]
	marks   []int64
	spare   chan<- []judged[T]
	emit    func(T)
	stats   *track.Stats
	decoded *decodeStats
	err     error
}

type mergeQueue[T any] struct {
	lists [][]judged[T] // not yet emitted, in order; none empty
	pos   int           // the next in lists[0]
}

func newMerger[T any](n int, spare chan<- []judged[T], emit func(T), stats *track.Stats, decoded *decodeStats) *merger[T] {
	return &merger[T]{queues: make([]mergeQueue[T], n), marks: make([]int64, n), spare: spare, emit: emit, stats: stats, decoded: decoded}
}

// take adds a worker's report and emits what no later report can precede.
func (m *merger[T]) take(rep report[T]) {
	if len(rep.out) > 0 {
		m.queues[rep.worker].lists = append(m.queues[rep.worker].lists, rep.out)
	}
	m.marks[rep.worker] = rep.mark
	if rep.err != nil && m.err == nil {
		m.err = rep.err
	}
	if rep.mark == finalMark {
		m.stats.Add(rep.stats)
		m.decoded.notTCP += rep.decode.notTCP
		m.decoded.undecodable += rep.decode.undecodable
		m.decoded.undecodableFrames = append(m.decoded.undecodableFrames, rep.decode.undecodableFrames...)
		for _, k := range rep.decode.skips {
			m.decoded.skip(k.what, k.n)
		}
	}
	low := m.marks[0]
	for _, mk := range m.marks[1:] {
		low = min(low, mk)
	}
	for {
		best, bestFrame := -1, int64(0)
		for i := range m.queues {
			q := &m.queues[i]
			if len(q.lists) == 0 {
				continue
			}
			if f := q.lists[0][q.pos].frame; f < low && (best < 0 || f < bestFrame) {
				best, bestFrame = i, f
			}
		}
		if best < 0 {
			return
		}
		q := &m.queues[best]
		m.emit(q.lists[0][q.pos].v)
		q.lists[0][q.pos] = judged[T]{}
		if q.pos++; q.pos == len(q.lists[0]) {
			select {
			case m.spare <- q.lists[0][:0]:
			default:
			}
			q.lists[0] = nil
			q.lists, q.pos = q.lists[1:], 0
		}
	}
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

// decodeGuarded decodes c, a panic becoming the chunk's error.
func decodeGuarded(c *chunk, dec *decode.Decoder, n int) (err error) {
	defer guard(&err, func() string { return fmt.Sprintf("decoding frames up to %d", c.last) })
	c.decode(dec, n)
	return nil
}

// sampleTTL says which packets the host TTL table learns from. A TTL is a
// host's property: the SYN and SYN-ACK of each connection and every 64th
// packet give its range, and a RST reads it; probing the table for every
// packet cost a tenth of the time on captures of many short connections.
func sampleTTL(p *decode.Packet) bool {
	return p.Flags&(decode.SYN|decode.RST) != 0 || p.Frame&63 == 0
}
