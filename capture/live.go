package capture

import (
	"errors"
	"io"
	"time"
)

// ErrIdle is what a live source's Read returns when no data came for a
// tick: not an end, not damage. The Reader never returns it; it calls its
// idle hook (OnIdle) and reads again.
var ErrIdle = errors.New("no data yet")

// live reads a pipe or terminal from a goroutine of its own, so that the
// Reader, waiting for data, still wakes up every tick: a live capture's
// clock must move while nothing arrives (a RST is judged once its
// connection has been quiet), and records read so far must be passed on.
// Once stop is closed, Read returns io.EOF: an interrupted live capture
// ends like a finished one, and what was read is still judged.
type live struct {
	in    chan liveRead
	buf   []byte // unread bytes of the last read
	err   error  // sticky, once the source ended and buf is drained
	tick  time.Duration
	timer *time.Timer
	stop  <-chan struct{}
	last  time.Time // when the latest data arrived
	woke  time.Time // when Read last returned ErrIdle
}

type liveRead struct {
	b   []byte
	err error
}

func newLive(src io.Reader, tick time.Duration, stop <-chan struct{}) *live {
	l := &live{in: make(chan liveRead, 4), tick: tick, stop: stop, last: time.Now(), woke: time.Now()}
	go func() {
		for {
			b := make([]byte, 64<<10)
			n, err := src.Read(b)
			if n > 0 {
				l.in <- liveRead{b: b[:n]}
			}
			if err != nil {
				l.in <- liveRead{err: err}
				return
			}
		}
	}()
	return l
}

// Read returns buffered data, or waits for the next read; after a tick
// without any (or a tick since it last did, while data keeps coming) it
// returns ErrIdle so that the Reader's idle hook runs.
func (l *live) Read(p []byte) (int, error) {
	if len(l.buf) == 0 && l.err != nil {
		return 0, l.err
	}
	now := time.Now()
	if now.Sub(l.woke) >= l.tick {
		l.woke = now
		return 0, ErrIdle
	}
	if len(l.buf) == 0 {
		if l.timer == nil {
			l.timer = time.NewTimer(l.tick)
		} else {
			l.timer.Reset(l.tick)
		}
		select {
		case r := <-l.in:
			l.timer.Stop()
			l.buf, l.err = r.b, r.err
			if len(r.b) > 0 {
				l.last = time.Now()
			}
		case <-l.timer.C:
			l.woke = time.Now()
			return 0, ErrIdle
		case <-l.stop:
			l.timer.Stop()
			l.err = io.EOF
			return 0, io.EOF
		}
		if len(l.buf) == 0 {
			return 0, l.err
		}
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

// OnIdle sets the hook a live Reader calls every tick, on the goroutine
// calling Next, between two reads of its source; since is how long ago
// data last arrived. The hook may call Detach. Only live readers
// (Config.Live) call it.
func (r *Reader) OnIdle(f func(since time.Duration)) {
	l, ok := r.br.src.(*live)
	if !ok {
		return
	}
	r.br.idle = func() { f(time.Since(l.last)) }
}

// Detach moves the reader to a fresh block (SetFresh): every record handed
// out so far lies in blocks it will never write again, so their owners may
// pass them on at once.
func (r *Reader) Detach() {
	if r.br.fresh != nil {
		r.br.makeRoom(r.br.w - r.br.r + 1)
	}
}
