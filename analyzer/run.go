package analyzer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Options configure one capture's analysis. The zero value uses the
// defaults of Tracker.
type Options struct {
	Quiet      time.Duration
	MaxDelay   time.Duration
	Idle       time.Duration
	Linger     time.Duration
	MaxConns   int
	MaxPending int
}

// Result sums up one capture.
type Result struct {
	Read  ReadStats
	Track TrackStats
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
// every RST, in frame order. It returns an error only when r is not a
// capture at all or analysis could not start; damage later in the file is
// reported in Result.Damage after the resets before it were emitted.
// Run keeps no state outside its own call: many can run at once.
func Run(ctx context.Context, r io.Reader, opt Options, emit func(*Reset)) (res Result, err error) {
	rd, err := NewReader(r)
	if err != nil {
		return res, err
	}
	t := &Tracker{Quiet: opt.Quiet, MaxDelay: opt.MaxDelay, Idle: opt.Idle, Linger: opt.Linger,
		MaxConns: opt.MaxConns, MaxPending: opt.MaxPending, Emit: emit}
	var (
		dec   Decoder
		p     Packet
		frame int64
	)
	defer func() {
		// A bug must cost one capture, not the batch: report it with the
		// frame it happened on.
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error at frame %d: %v", frame, v)
		}
	}()
	for {
		if frame&1023 == 0 && ctx.Err() != nil {
			return res, ctx.Err()
		}
		raw, rerr := rd.Next()
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				res.Damage = rerr
			}
			break
		}
		frame = raw.Frame
		p.Frame, p.TS = raw.Frame, raw.TS
		switch derr := dec.Decode(raw.Link, raw.Data, &p); {
		case derr == nil:
			t.Add(&p)
		case errors.Is(derr, ErrNotTCP), errors.Is(derr, ErrUnsupportedLink):
			res.NotTCP++
		default:
			res.Undecodable++
			if len(res.UndecodableFrames) < keepUndecodable {
				res.UndecodableFrames = append(res.UndecodableFrames, raw.Frame)
			}
		}
	}
	t.Flush()
	res.Read, res.Track = rd.Stats(), t.Stats()
	return res, nil
}
