package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/rstwhy/rstwhy/capture"
	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// Options configure one capture's analysis. The zero value uses the
// defaults of track.Tracker and one worker.
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
	// reached. 0 means 1.
	Workers int
	// Capture says how to open the input: the zstd window limit, a
	// memory budget shared by captures read at once, and Live, for input
	// from a pipe or a terminal (tcpdump -U -w - |): there capture time
	// moves with the wall clock while nothing arrives, so a RST is judged
	// within Quiet of wall time after its connection went quiet, and what
	// was read is passed on every Tick. Cancelling ctx ends a live
	// capture as if the pipe had closed: what was read is judged and
	// emitted.
	Capture capture.Config
	// Recycle promises that judge keeps neither its *track.Reset nor any
	// slice of it (Later, Packet.Payload, Packet.Trailer) past its return, so the trackers
	// reuse Resets (track.Tracker.Recycle) instead of leaving the collector
	// one 1.7 KB object per RST. Run never sets it: its emit may keep them.
	Recycle bool

	chunkBytes int // block size; 0: chunkBytes (tests set it small)
}

// Result sums up one capture.
type Result struct {
	Read  capture.ReadStats
	Track track.Stats // with several workers: sums (Peak is the sum of their peaks)
	// NotTCP counts frames without a TCP segment (ARP, UDP, ...);
	// NotTCPBy counts them by what they carried instead.
	NotTCP   int64
	NotTCPBy map[decode.Skip]int64
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
// after the resets before it were emitted. When ctx is cancelled, reading
// stops and the resets read so far are still judged and emitted before
// Run returns ctx's error. Run keeps no state outside its own call: many
// can run at once.
func Run(ctx context.Context, r io.Reader, opt Options, emit func(*track.Reset)) (Result, error) {
	opt.Recycle = false
	return RunJudged(ctx, r, opt, func(r *track.Reset) *track.Reset { return r }, emit)
}

// RunJudged is Run with the judging split from the emitting: judge runs on
// the worker that tracked the reset's connection (so with several workers,
// concurrently), and emit receives judge's results in frame order from one
// goroutine at a time.
func RunJudged[T any](ctx context.Context, r io.Reader, opt Options, judge func(*track.Reset) T, emit func(T)) (Result, error) {
	return RunObserved(ctx, r, opt, func() (track.Observer, func(*track.Reset) T) { return nil, judge }, emit)
}

// RunObserved is RunJudged with an observer on each worker's tracker
// (track.Tracker.Observer): newJudge is called once a worker, as it
// starts (so perhaps concurrently), and returns the observer to set (nil:
// none) and the judge of that worker's resets, which runs on the worker's
// goroutine and so may read what the observer kept without a lock. An
// observer with a Close method is closed when its worker is done.
func RunObserved[T any](ctx context.Context, r io.Reader, opt Options, newJudge func() (track.Observer, func(*track.Reset) T), emit func(T)) (Result, error) {
	rd, err := opt.Capture.Open(ctx, r)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{}, err
	}
	defer rd.Close()
	rd.Keep(decode.Supported)
	return run(ctx, rd, opt, newJudge, emit)
}

func (opt Options) tracker(share int) *track.Tracker {
	t := &track.Tracker{Quiet: opt.Quiet, MaxDelay: opt.MaxDelay, Idle: opt.Idle, Linger: opt.Linger,
		MaxConns: opt.MaxConns, MaxPending: opt.MaxPending, Recycle: opt.Recycle}
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

// closeObserver closes an observer that has a Close method, once its
// tracker is done: what it holds need not wait for the collector.
func closeObserver(o track.Observer) {
	if c, ok := o.(interface{ Close() }); ok {
		c.Close()
	}
}

// guard turns a panic into an internal error that says where it happened:
// a bug must cost one capture, not the batch. Defer it directly.
func guard(err *error, where func() string) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("internal error %s: %v", where(), v)
	}
}

// The pipeline. The calling goroutine only reads: it hands out records,
// undecoded and uncopied, in chunks of consecutive frames, every chunk to
// every worker, in order. Each chunk is decoded once, by the worker it
// falls to (chunk k to worker k mod n), which also sorts its packets by
// flow hash into one list a worker. Every worker then tracks, chunk after
// chunk, the packets that hash to it, so decoding and tracking both
// spread over the cores; with one worker, the same path runs on one
// goroutine beside the reader.
//
// What needs every packet in frame order is done between the two, once a
// chunk and all chunks before it are decoded, under one lock (ordered):
// the host TTL table and the capture clock (the latest time read so far),
// which the workers' trackers all follow so that they expire and judge as
// one tracker would.
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

// blocks keeps the reader's blocks of chunkBytes between runs: a scan of
// thousands of 1 MiB captures otherwise allocated and cleared a megabyte
// of blocks for each (a fifth of its time went to clearing them and to
// the collections they caused). What a run hands back holds nothing of
// its records once the run is over: the resets copy what they keep.
var blocks sync.Pool

// block returns a block of chunkBytes from the pool, or nil.
func block() []byte {
	if b, ok := blocks.Get().(*[]byte); ok {
		return *b
	}
	return nil
}

func run[T any](ctx context.Context, rd *capture.Reader, opt Options, newJudge func() (track.Observer, func(*track.Reset) T), emit func(T)) (res Result, err error) {
	n := max(1, opt.Workers)
	in := make([]chan *chunk, n)
	pool := 4 * n
	free := make(chan *chunk, pool)
	reports := make(chan report[T], 4*n)
	spare := make(chan []judged[T], 4*n)
	o := &ordered{waiting: map[int64]*chunk{}}
	var (
		wg      sync.WaitGroup
		stats   track.Stats
		decoded decodeStats
		m       = newMerger(n, spare, emit, &stats, &decoded)
		only    *worker[T] // the one worker, stepped on this goroutine
	)
	if n == 1 {
		only = &worker[T]{n: 1, t: opt.tracker(1), free: free, spare: spare, order: o}
		obs, judge := newJudge()
		only.t.Observer = obs
		only.start(judge)
		defer closeObserver(obs)
		defer only.t.Close()
	}
	for i := range n {
		if only != nil {
			break
		}
		in[i] = make(chan *chunk, pool)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker[T]{id: i, n: n, t: opt.tracker(n), in: in[i], free: free, reports: reports, spare: spare, order: o}
			obs, judge := newJudge()
			w.t.Observer = obs
			defer closeObserver(obs)
			w.run(judge)
		}()
	}
	mergeDone := make(chan struct{})
	go func() {
		defer close(mergeDone)
		for rep := range reports {
			m.take(rep)
		}
	}()

	// Every chunk owns a block of the reader's: when the reader needs a
	// new block it takes the next chunk's, and the records read before
	// are all in the blocks of chunks already begun. So records are never
	// copied; a block is read into again once every worker is done with
	// its chunk.
	blockSize := chunkBytes
	if opt.chunkBytes > 0 {
		blockSize = opt.chunkBytes
	}
	var made []*chunk // every chunk of this run, to hand their blocks back
	newChunk := func() *chunk {
		var c *chunk
		if len(made) < pool {
			select {
			case c = <-free:
			default:
				c = &chunk{}
				made = append(made, c)
			}
		} else {
			c = <-free
		}
		clear(c.recs) // they point into other chunks' blocks
		c.recs, c.last, c.err, c.final, c.tick = c.recs[:0], 0, nil, false, 0
		c.ready = make(chan struct{})
		c.refs.Store(int32(n))
		return c
	}
	var (
		seq       int64
		lastFrame int64 // the last frame handed out
		readTS    int64 // the latest record time handed out
	)
	send := func(c *chunk) {
		c.seq = seq
		if c.last == 0 {
			c.last = lastFrame
		}
		lastFrame = c.last
		seq++
		if only != nil {
			only.step(c, m)
			return
		}
		for _, ch := range in {
			ch <- c
		}
	}
	cur := newChunk()
	var begun []*chunk // chunks whose blocks the reader moved to
	// Blocks start small and double up to blockSize, so that a capture of
	// a few packets (or a fuzzer's input) allocates kilobytes, not the
	// pool's megabytes.
	want := min(blockSize, 16<<10)
	rd.SetFresh(func(size int) []byte {
		c := newChunk()
		if len(c.data) < max(want, size) && max(want, size) <= blockSize && blockSize == chunkBytes {
			if b := block(); b != nil {
				c.data, want = b, blockSize
			}
		}
		if len(c.data) < max(want, size) {
			c.data = make([]byte, max(want, size))
			if cap(c.recs) < chunkRecords {
				c.recs = make([]capture.Raw, 0, min(chunkRecords, max(16, len(c.data)/1024)))
			}
		}
		want = min(blockSize, 2*want)
		begun = append(begun, c)
		return c.data
	})
	// passOn sends the chunks whose records are all read.
	passOn := func() {
		for _, c := range begun {
			// The records so far are in older blocks than c's.
			send(cur)
			cur = c
		}
		begun = begun[:0]
	}
	if opt.Capture.Live {
		// Every tick: pass on what was read, then move every worker's
		// clock to the wall clock's idea of capture time, so that resets
		// are judged while the pipe stays quiet.
		rd.OnIdle(func(since time.Duration) {
			for _, r := range cur.recs {
				readTS = max(readTS, r.TS)
			}
			if len(cur.recs) > 0 {
				rd.Detach()
				passOn()
			}
			if readTS == 0 {
				return // no packet yet: no clock to move
			}
			c := &chunk{tick: readTS + int64(since), ready: make(chan struct{}), lone: true}
			c.refs.Store(int32(n))
			send(c)
		})
	}

	var loopErr error
	func() {
		defer guard(&loopErr, func() string { return fmt.Sprintf("at frame %d", cur.last+1) })
		for k := 0; ; k++ {
			if k&1023 == 0 && ctx.Err() != nil {
				loopErr = ctx.Err()
				return
			}
			if k > 0 {
				// What the reader holds of whole plain records, cheaply;
				// Next then reads the one after, which begins a block.
				cur.recs = rd.TakeBuffered(cur.recs)
				if n := len(cur.recs); n > 0 {
					cur.last = cur.recs[n-1].Frame
				}
			}
			raw, rerr := rd.Next()
			passOn()
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) {
					res.Damage = rerr
				}
				return
			}
			cur.recs = append(cur.recs, raw)
			cur.last = raw.Frame
		}
	}()
	passOn()
	cur.final = true
	send(cur) // the last chunk, possibly empty: workers flush after it
	for i := range in {
		if in[i] != nil {
			close(in[i])
		}
	}
	wg.Wait()
	close(reports)
	<-mergeDone
	if !opt.Capture.Live {
		// Every worker is done with every chunk. (A live source's
		// reading goroutine may not be: its blocks are left to the
		// collector.)
		for _, c := range made {
			if len(c.data) == chunkBytes {
				b := c.data
				blocks.Put(&b)
			}
			c.data = nil
		}
	}
	if m.err != nil && loopErr == nil {
		loopErr = m.err
	}
	if loopErr == nil && ctx.Err() != nil {
		// A live capture interrupted ends like a closed pipe; say so.
		loopErr = ctx.Err()
	}
	if ctx.Err() != nil && res.Damage != nil {
		res.Damage = nil // cut short by the interruption, not damaged
	}
	slices.Sort(decoded.undecodableFrames)
	res.NotTCP, res.Undecodable = decoded.notTCP, decoded.undecodable
	for _, k := range decoded.skips {
		if res.NotTCPBy == nil {
			res.NotTCPBy = map[decode.Skip]int64{}
		}
		res.NotTCPBy[k.what] += k.n
	}
	res.UndecodableFrames = decoded.undecodableFrames[:min(len(decoded.undecodableFrames), keepUndecodable)]
	res.Read, res.Track = rd.Stats(), stats
	return res, loopErr
}
