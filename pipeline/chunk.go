package pipeline

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rstwhy/rstwhy/capture"
	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// chunk is a run of consecutive records on its way through the workers.
type chunk struct {
	seq   int64
	data  []byte        // the block the records' bytes were read into
	recs  []capture.Raw // in this chunk's block or an earlier chunk's
	last  int64         // last frame read into the chunk, or before it
	final bool          // the capture's last chunk
	// tick, on a live capture, is the capture time the wall clock says
	// it is: the workers' clocks move to it after the chunk.
	tick int64
	lone bool // not from the pool: never reused (a tick's empty chunk)

	// Filled in by the decoding worker.
	pkts   []decode.Packet // Payload and Trailer alias data
	hashes []uint64
	nows   []int64   // the latest packet time in the chunk up to each packet
	mine   [][]int32 // per worker: indices of the packets that hash to it
	ttl    []int32   // packets the host TTL table looks at
	edges  []int32   // packets with SYN, FIN or RST, for upstreams
	maxTS  int64
	stats  decodeStats
	err    error

	// Set by the ordered pass.
	base  int64         // the capture clock before the chunk
	ready chan struct{} // closed after the ordered pass

	refs atomic.Int32 // workers yet to track the chunk
}

// decodeStats counts the frames that gave no TCP segment.
type decodeStats struct {
	notTCP, undecodable int64
	undecodableFrames   []int64
	skips               []skipCount // notTCP by what the frames carried
}

type skipCount struct {
	what decode.Skip
	n    int64
}

// maxSkips bounds the kinds counted apart; the rest count as decode.Skip{}.
const maxSkips = 64

// skip counts n frames that carried what instead of TCP.
func (s *decodeStats) skip(what decode.Skip, n int64) {
	for i := range s.skips {
		if s.skips[i].what == what {
			s.skips[i].n += n
			return
		}
	}
	if len(s.skips) >= maxSkips {
		what = decode.Skip{}
		for i := range s.skips {
			if s.skips[i].what == what {
				s.skips[i].n += n
				return
			}
		}
	}
	s.skips = append(s.skips, skipCount{what, n})
}

// reset empties s, keeping its slices' room.
func (s *decodeStats) reset() {
	*s = decodeStats{undecodableFrames: s.undecodableFrames[:0], skips: s.skips[:0]}
}

// merge adds o's counts to s. Each worker keeps its first frames, and
// decodes its chunks in frame order, so the first of all are among the
// workers' firsts.
func (s *decodeStats) merge(o *decodeStats) {
	s.notTCP += o.notTCP
	s.undecodable += o.undecodable
	for _, k := range o.skips {
		s.skip(k.what, k.n)
	}
	for _, f := range o.undecodableFrames {
		if len(s.undecodableFrames) < keepUndecodable {
			s.undecodableFrames = append(s.undecodableFrames, f)
		}
	}
}

// decode decodes every record of c and deals its packets out to n
// workers. The host TTLs wait for the ordered pass: they need the packets
// of earlier chunks first.
func (c *chunk) decode(dec *decode.Decoder, n int) {
	c.pkts = slices.Grow(c.pkts[:0], len(c.recs))[:len(c.recs)]
	c.hashes, c.nows, c.ttl, c.edges = c.hashes[:0], c.nows[:0], c.ttl[:0], c.edges[:0]
	if len(c.mine) != n {
		c.mine = make([][]int32, n)
	}
	for i := range c.mine {
		c.mine[i] = c.mine[i][:0]
	}
	c.maxTS = 0
	c.stats.reset()
	j := 0
	for _, r := range c.recs {
		p := &c.pkts[j]
		p.Frame, p.TS = r.Frame, r.TS
		switch err := dec.Decode(r.Link, r.Data, p); {
		case err == nil:
			if p.Iface == 0 {
				p.Iface = r.Iface
			}
			c.maxTS = max(c.maxTS, p.TS)
			h := p.FlowHash()
			c.hashes, c.nows = append(c.hashes, h), append(c.nows, c.maxTS)
			w := shardOf(h, n)
			c.mine[w] = append(c.mine[w], int32(j))
			if sampleTTL(p) {
				c.ttl = append(c.ttl, int32(j))
			}
			if p.Flags&(decode.SYN|decode.FIN|decode.RST) != 0 {
				c.edges = append(c.edges, int32(j))
			}
			j++
		case errors.Is(err, decode.ErrNotTCP):
			c.stats.notTCP++
			c.stats.skip(dec.Last(), 1)
		case errors.Is(err, decode.ErrUnsupportedLink):
			c.stats.notTCP++
		default:
			c.stats.undecodable++
			if len(c.stats.undecodableFrames) < keepUndecodable {
				c.stats.undecodableFrames = append(c.stats.undecodableFrames, r.Frame)
			}
		}
	}
	c.pkts = c.pkts[:j]
	c.maxTS = max(c.maxTS, c.tick)
}

// ordered runs the passes that need every packet in frame order, on each
// chunk once it and all chunks before it are decoded.
type ordered struct {
	mu      sync.Mutex
	next    int64
	waiting map[int64]*chunk
	hosts   hostTTLs
	up      upstreams
	accept  listeners
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
		for _, i := range c.edges {
			o.up.see(&c.pkts[i], c.hashes[i])
			o.accept.see(&c.pkts[i])
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
	stats  track.Stats
	decode decodeStats // of the chunks this worker decoded
	err    error
}

type judged[T any] struct {
	frame int64
	v     T
}
