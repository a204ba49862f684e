package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/rstwhy/rstwhy/decode"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/track"
)

// resetsOf runs a capture and returns its resets with First reduced to a
// frame number, so that runs can be compared.
func resetsOf(tb testing.TB, data []byte, opt Options) ([]track.Reset, Result) {
	tb.Helper()
	var out []track.Reset
	res, err := Run(context.Background(), bytes.NewReader(data), opt, func(r *track.Reset) {
		cp := *r
		if cp.First != nil {
			cp.First = &track.Reset{Packet: decode.Packet{Frame: cp.First.Packet.Frame}}
		}
		out = append(out, cp)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out, res
}

// TestWorkersSameAnswers: spreading a capture's connections over workers
// must not change a single reset's evidence, nor the order of the output.
func TestWorkersSameAnswers(t *testing.T) {
	files := testcap.All()
	if len(files) == 0 {
		t.Skip("no captures")
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			one, res1 := resetsOf(t, data, Options{})
			for _, o := range []Options{{Workers: 1, chunkBytes: 1}, {Workers: 2}, {Workers: 3}, {Workers: 8}, {Workers: 2, chunkBytes: 1}, {Workers: 3, chunkBytes: 300}} {
				w := fmt.Sprintf("%d (%d-byte blocks)", o.Workers, o.chunkBytes)
				many, res := resetsOf(t, data, o)
				if len(many) != len(one) {
					t.Fatalf("workers=%s: %d resets, want %d", w, len(many), len(one))
				}
				for i := range one {
					if !reflect.DeepEqual(one[i], many[i]) {
						t.Fatalf("workers=%s: reset %d (frame %d) differs from the one-worker run:\n got %+v\nwant %+v",
							w, i, one[i].Packet.Frame, many[i], one[i])
					}
				}
				if res.Track.Packets != res1.Track.Packets || res.Track.Resets != res1.Track.Resets || res.Track.Conns != res1.Track.Conns {
					t.Errorf("workers=%s: stats %+v, want %+v", w, res.Track, res1.Track)
				}
				if res.NotTCP != res1.NotTCP || res.Undecodable != res1.Undecodable || !slices.Equal(res.UndecodableFrames, res1.UndecodableFrames) ||
					!maps.Equal(res.NotTCPBy, res1.NotTCPBy) {
					t.Errorf("workers=%s: not TCP %d, undecodable %d %v; want %d, %d %v", w,
						res.NotTCP, res.Undecodable, res.UndecodableFrames, res1.NotTCP, res1.Undecodable, res1.UndecodableFrames)
				}
			}
		})
	}
}
