package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rstwhy/rstwhy/capture"
	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/track"
)

// smallCaptures are lab captures small enough to seed fuzzing and to cut
// at many offsets.
func smallCaptures(tb testing.TB, maxSize int64) []string {
	tb.Helper()
	files, _ := filepath.Glob("../testdata/pcaps/*.pcap*")
	var out []string
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Size() <= maxSize {
			out = append(out, f)
		}
	}
	return out
}

// FuzzRun feeds arbitrary bytes to the whole pipeline: it must never
// panic or report an internal error, must emit resets in frame order,
// each one a RST, and must give the same answers with one worker as with
// two, whether the reader's blocks hold the whole input or a few records.
func FuzzRun(f *testing.F) {
	for _, name := range smallCaptures(f, 8<<10) {
		f.Add(readTB(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		one := checkRun(t, data, Options{})
		for _, opt := range []Options{{Workers: 2}, {Workers: 2, chunkBytes: 200}} {
			two := checkRun(t, data, opt)
			if !reflect.DeepEqual(frames(one), frames(two)) {
				t.Fatalf("1 worker: frames %v; 2 workers (%d-byte blocks): %v", frames(one), opt.chunkBytes, frames(two))
			}
		}
	})
}

func frames(rs []track.Reset) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.Packet.Frame)
	}
	return out
}

func checkRun(t *testing.T, data []byte, opt Options) []track.Reset {
	t.Helper()
	var out []track.Reset
	_, err := Run(context.Background(), bytes.NewReader(data), opt, func(r *track.Reset) {
		if r.Packet.Flags&decode.RST == 0 {
			t.Fatalf("frame %d emitted without decode.RST", r.Packet.Frame)
		}
		if n := len(out); n > 0 && out[n-1].Packet.Frame >= r.Packet.Frame {
			t.Fatalf("frame %d emitted after frame %d", r.Packet.Frame, out[n-1].Packet.Frame)
		}
		out = append(out, *r)
	})
	if err != nil && !errors.Is(err, capture.ErrNotCapture) {
		t.Fatalf("Run: %v", err)
	}
	return out
}

func readTB(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestDamagedCaptures cuts lab captures at many offsets and flips bytes
// in them. Nothing may panic; a cut file says where it stopped; and every
// reset before the damage comes out exactly as from the intact capture:
// same frame, sender and snapshot of the connection.
func TestDamagedCaptures(t *testing.T) {
	files := smallCaptures(t, 64<<10)
	if len(files) == 0 {
		t.Skip("no lab captures")
	}
	if len(files) > 12 {
		files = files[:12]
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data := readTB(t, name)
			whole, _ := resetsOf(t, data, Options{})
			for i := 1; i < 40; i++ {
				cut := len(data) * i / 40
				part := data[:cut]
				var got []track.Reset
				res, err := Run(context.Background(), bytes.NewReader(part), Options{}, func(r *track.Reset) { got = append(got, *r) })
				if err != nil {
					if !errors.Is(err, capture.ErrNotCapture) {
						t.Fatalf("cut at %d: %v", cut, err)
					}
					continue
				}
				var dmg *capture.DamageError
				stop := res.Read.Frames + 1 // a cut on a record boundary is a clean end
				if errors.As(res.Damage, &dmg) {
					stop = dmg.Frame
					if dmg.Offset <= 0 || dmg.Offset > int64(cut) {
						t.Errorf("cut at %d: damage offset %d", cut, dmg.Offset)
					}
				}
				for _, w := range whole {
					if w.Packet.Frame >= stop {
						break
					}
					var g *track.Reset
					for k := range got {
						if got[k].Packet.Frame == w.Packet.Frame {
							g = &got[k]
						}
					}
					if g == nil {
						t.Fatalf("cut at %d (damage at frame %d): reset at frame %d lost", cut, stop, w.Packet.Frame)
					}
					if g.Sender != w.Sender || !reflect.DeepEqual(g.Conn, w.Conn) {
						t.Fatalf("cut at %d: reset at frame %d judged on other evidence", cut, w.Packet.Frame)
					}
				}
			}
			// Flipped bytes: anything may happen to the answers, but no
			// panic and no internal error.
			for i := 0; i < 200; i++ {
				bad := append([]byte(nil), data...)
				bad[(i*7919)%len(bad)] ^= byte(1 + i%255)
				checkRun(t, bad, Options{})
			}
		})
	}
}
