package heuristics_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/truth"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

// labResets reads every lab capture that has a truth file and returns its
// resets in file and frame order.
func labResets(tb testing.TB) []*track.Reset {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(corpus, "*.truth.json"))
	var out []*track.Reset
	for _, tf := range files {
		want, err := truth.Load(tf)
		if err != nil {
			tb.Fatal(err)
		}
		path := filepath.Join(corpus, want.Capture.File)
		f, err := os.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		_, err = pipeline.Run(context.Background(), f, pipeline.Options{}, func(r *track.Reset) {
			out = append(out, r)
		})
		f.Close()
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
	}
	return out
}

// BenchmarkExplain judges the lab captures' resets, one per op, first
// resets and follow-ups alike, in the proportion the lab has them.
func BenchmarkExplain(b *testing.B) {
	resets := labResets(b)
	if len(resets) == 0 {
		b.Skip("no lab captures in " + corpus)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		heuristics.Explain(resets[i%len(resets)])
	}
}
