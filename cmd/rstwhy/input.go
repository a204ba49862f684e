package main

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
)

// An interrupted capture is read up to where it was: the reader returns
// io.EOF from then on, and the pipeline, which gets a context that is
// never cancelled, takes that for the end of the capture. It judges the
// resets still pending as at any end and emits them, and the output is
// finished as after a full read. That needs nothing of the pipeline
// beyond reading an io.Reader.

// errNotOpened: interrupted while waiting for the file to open (a FIFO
// with no writer yet).
var errNotOpened = errors.New("interrupted before it was opened")

// openCapture opens name, giving up when stop is done. Opening a FIFO
// blocks until a writer opens it, and no system call can be told to stop
// waiting: the open runs in a goroutine, which is left behind when
// interrupted and closes the file if it ever opens. (O_NONBLOCK would
// not block, but a FIFO opened so reads as empty until a writer comes.)
func openCapture(stop context.Context, name string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(name)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		return o.f, o.err
	case <-stop.Done():
		go func() {
			if o := <-done; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, errNotOpened
	}
}

// captureReader is the reader the pipeline gets for one capture.
type captureReader interface {
	io.Reader
	// interrupted reports whether the reader ended the capture early.
	interrupted() bool
}

// newCaptureReader picks how to read r: a regular file's reads return at
// once, so asking before each is enough; anything else (standard input,
// a pipe, a FIFO, a terminal) can block in Read for ever.
func newCaptureReader(stop context.Context, r io.Reader) captureReader {
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return &fileReader{stop: stop, r: r}
		}
	}
	return newBlockingReader(stop, r)
}

// fileReader reads a regular file until stop is done.
type fileReader struct {
	stop    context.Context
	r       io.Reader
	stopped bool
}

func (f *fileReader) Read(p []byte) (int, error) {
	if f.stopped || f.stop.Err() != nil {
		f.stopped = true
		return 0, io.EOF
	}
	return f.r.Read(p)
}

func (f *fileReader) interrupted() bool { return f.stopped }

func isFileReader(r captureReader) bool {
	if c, ok := r.(countingReader); ok {
		r = c.captureReader
	}
	_, ok := r.(*fileReader)
	return ok
}

// countingReader adds the bytes read to n.
type countingReader struct {
	captureReader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	k, err := c.captureReader.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// blockingReader reads in a goroutine of its own, into a buffer of its
// own, so that a Read blocked on a silent pipe does not keep Read from
// seeing stop. After stop the goroutine may still be blocked; it is left
// behind (the process is about to exit) and writes only into its own
// buffer, which nobody reads any more.
type blockingReader struct {
	stop    context.Context
	r       io.Reader
	buf     []byte
	rest    []byte // read, not yet returned
	err     error  // what the last read returned after rest
	pending bool   // a read is under way
	done    chan readResult
	stopped bool
}

type readResult struct {
	n   int
	err error
}

// blockingBufSize is larger than a pipe's buffer (64 KiB on Linux): one
// read takes all a writer has queued.
const blockingBufSize = 256 << 10

func newBlockingReader(stop context.Context, r io.Reader) *blockingReader {
	return &blockingReader{stop: stop, r: r, buf: make([]byte, blockingBufSize), done: make(chan readResult, 1)}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if len(b.rest) > 0 {
		// Already read: handed out even after stop, as the bytes a
		// fileReader returned before it.
		n := copy(p, b.rest)
		b.rest = b.rest[n:]
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.stopped {
		return 0, io.EOF
	}
	if !b.pending {
		b.pending = true
		go func() {
			n, err := b.r.Read(b.buf)
			b.done <- readResult{n, err}
		}()
	}
	var res readResult
	select {
	case res = <-b.done:
	case <-b.stop.Done():
		select {
		case res = <-b.done: // bytes already read are not dropped
		default:
			b.stopped = true
			return 0, io.EOF
		}
	}
	b.pending = false
	b.rest, b.err = b.buf[:res.n], res.err
	if res.n == 0 && res.err == nil {
		return 0, nil
	}
	return b.Read(p)
}

func (b *blockingReader) interrupted() bool { return b.stopped }
