package capture

import (
	"bufio"
	"io"
)

// blockReader is what the Reader needs of bufio.Reader, Peek and Discard,
// with one difference that lets packets leave the reading goroutine
// without a copy: once it has a source of fresh blocks (SetFresh), it
// never writes to a block again after moving on from it. The bytes Peek
// returned stay valid for as long as whoever owns the block keeps it.
// Without one it slides unread bytes to the front of its one buffer, as
// bufio does.
type blockReader struct {
	src     io.Reader
	buf     []byte // the current block, whole; buf[r:w] is unread
	r, w    int
	err     error
	max     int                // the longest Peek
	fresh   func(n int) []byte // a new block of at least n bytes, or nil
	scratch []byte             // for Discard past the buffered bytes
	idle    func()             // called when a live source returns ErrIdle
}

// newBlockReader returns a reader whose longest Peek is size bytes. Its
// buffer starts small and grows as Peeks ask for more: a capture of a few
// packets, or one whose blocks come from SetFresh, never needs the rest.
func newBlockReader(src io.Reader, size int) *blockReader {
	return &blockReader{src: src, buf: make([]byte, min(size, 64<<10)), max: size}
}

// Peek returns the next n bytes without consuming them, or fewer with
// the error that stopped the read; bufio.ErrBufferFull when n is over
// the reader's size.
func (b *blockReader) Peek(n int) ([]byte, error) {
	full := n > b.max
	if full {
		n = b.max
	}
	for b.w-b.r < n && b.err == nil {
		if len(b.buf)-b.r < n {
			b.makeRoom(n)
		}
		b.fill()
	}
	if b.w-b.r < n {
		err := b.err
		b.err = nil
		return b.buf[b.r:b.w], err
	}
	if full {
		return b.buf[b.r : b.r+n], bufio.ErrBufferFull
	}
	return b.buf[b.r : b.r+n], nil
}

// fill reads once into the free end of the buffer.
func (b *blockReader) fill() {
	for i := 0; i < 100; i++ {
		m, err := b.src.Read(b.buf[b.w:])
		b.w += m
		if err == ErrIdle {
			b.wake()
			i-- // a tick is not a read that gave nothing
			continue
		}
		if err != nil {
			b.err = err
			return
		}
		if m > 0 {
			return
		}
	}
	b.err = io.ErrNoProgress
}

// makeRoom makes the buffer hold n bytes from r on.
func (b *blockReader) makeRoom(n int) {
	var nb []byte
	switch {
	case b.fresh != nil:
		nb = b.fresh(n)
		nb = nb[:cap(nb)]
	case len(b.buf) >= n:
		nb = b.buf
	default:
		nb = make([]byte, min(b.max, max(n, 2*len(b.buf))))
	}
	b.w = copy(nb, b.buf[b.r:b.w])
	b.r, b.buf = 0, nb
}

// Discard skips n bytes and returns how many it skipped, fewer only with
// the error that stopped it. Bytes past the buffered ones are read into a
// scratch buffer, never into a block that may have been handed out.
func (b *blockReader) Discard(n int) (int, error) {
	if b.w-b.r >= n {
		b.r += n
		return n, nil
	}
	done := b.w - b.r
	b.r = b.w
	if b.scratch == nil {
		b.scratch = make([]byte, 64<<10)
	}
	for done < n {
		if b.err != nil {
			err := b.err
			b.err = nil
			return done, err
		}
		m, err := b.src.Read(b.scratch[:min(len(b.scratch), n-done)])
		done += m
		if err == ErrIdle {
			b.wake()
			continue
		}
		if err != nil {
			b.err = err
		} else if m == 0 {
			b.err = io.ErrNoProgress // a reader that keeps returning nothing
		}
	}
	return done, nil
}

// SetFresh gives the reader a source of new blocks: from then on it moves
// to a block from fresh instead of sliding bytes within its buffer. It
// moves to the first one at once, so that every byte it hands out from
// then on is in a block from fresh.
func (b *blockReader) SetFresh(fresh func(n int) []byte) {
	b.fresh = fresh
	b.makeRoom(b.w - b.r)
}

// wake calls the idle hook, which may move the reader to a fresh block
// (Reader.Detach): callers take the free end of the buffer anew after it.
func (b *blockReader) wake() {
	if b.idle != nil {
		b.idle()
	}
}
