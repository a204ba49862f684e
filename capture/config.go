package capture

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/semaphore"
)

// DefaultMaxZstdWindow is the largest zstd window read by default: what
// the zstd command itself decompresses without being told more
// (--memory=128MB), so `zstd --long=27` archives read, and a 19-byte file
// cannot make the decoder allocate the library's own limit of 512 MiB.
const DefaultMaxZstdWindow = 128 << 20

// Config says how to open a capture; the zero value opens a file with the
// defaults.
type Config struct {
	// MaxZstdWindow bounds the window of a zstd-compressed capture, which
	// is what its decoder holds in memory; 0 means DefaultMaxZstdWindow. A
	// capture over it is refused with a *WindowError.
	MaxZstdWindow uint64
	// Memory, when set, is shared by the readers of a process: a zstd
	// capture takes its window from it before reading and gives it back at
	// Close, so that many compressed captures at once wait for memory
	// rather than exhaust it.
	Memory *Memory
	// Live reads a pipe or a terminal: data is read as it comes, and every
	// Tick (DefaultTick when 0), whether or not data came, the Reader calls
	// the hook set with OnIdle. Cancelling the context given to Open ends
	// a live capture as if the writer had closed the pipe.
	Live bool
	Tick time.Duration
}

// DefaultTick is how often a live Reader wakes without data.
const DefaultTick = 100 * time.Millisecond

// WindowError refuses a zstd capture whose window is over the limit.
type WindowError struct {
	Window, Limit uint64
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("zstd window of %s is over the limit of %s", mib(e.Window), mib(e.Limit))
}

func mib(n uint64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Memory is a budget of bytes shared by readers (Config.Memory).
type Memory struct {
	sem  *semaphore.Weighted
	size int64
}

// NewMemory returns a budget of n bytes.
func NewMemory(n int64) *Memory { return &Memory{sem: semaphore.NewWeighted(n), size: n} }

// take waits for n bytes of the budget (all of it when n is more) and
// returns what it took.
func (m *Memory) take(ctx context.Context, n int64) (int64, error) {
	n = min(n, m.size)
	if err := m.sem.Acquire(ctx, n); err != nil {
		return 0, err
	}
	return n, nil
}

// Open opens a capture read from r: NewReader with the Config's limits.
// ctx bounds the wait for Memory and, for a live capture, its reading.
func (c Config) Open(ctx context.Context, r io.Reader) (*Reader, error) {
	var wrap func(io.Reader) io.Reader
	if c.Live {
		tick := c.Tick
		if tick <= 0 {
			tick = DefaultTick
		}
		wrap = func(src io.Reader) io.Reader { return newLive(src, tick, ctx.Done()) }
	}
	return newReader(ctx, r, c, wrap)
}

// zstdWindow reads the window size from a zstd frame header (RFC 8878
// §3.1.1.1): from the window descriptor, or for a single-segment frame,
// the content size. ok is false when head is too short to tell.
func zstdWindow(head []byte) (window uint64, ok bool) {
	if len(head) < 5 {
		return 0, false
	}
	fhd := head[4]
	single := fhd&0x20 != 0
	didSize := [4]int{0, 1, 2, 4}[fhd&3]
	fcsSize := [4]int{0, 2, 4, 8}[fhd>>6]
	if single && fcsSize == 0 {
		fcsSize = 1
	}
	off := 5
	if !single {
		if len(head) < 6 {
			return 0, false
		}
		wd := head[5]
		log := 10 + uint64(wd>>3)
		base := uint64(1) << log
		return base + base/8*uint64(wd&7), true
	}
	off += didSize
	if len(head) < off+fcsSize {
		return 0, false
	}
	b := head[off : off+fcsSize]
	switch fcsSize {
	case 1:
		return uint64(b[0]), true
	case 2:
		return uint64(binary.LittleEndian.Uint16(b)) + 256, true
	case 4:
		return uint64(binary.LittleEndian.Uint32(b)), true
	}
	return binary.LittleEndian.Uint64(b), true
}
