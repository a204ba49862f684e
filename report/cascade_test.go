package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/internal/truth"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

// links runs a capture with the given workers and returns the caused_by of
// every record that has one, by frame.
func links(tb testing.TB, name string, workers int) map[int64]truth.CausedBy {
	tb.Helper()
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	got := map[int64]truth.CausedBy{}
	_, err = pipeline.RunJudged(context.Background(), f, pipeline.Options{Workers: workers},
		func(r *track.Reset) Record { return NewRecord(name, r, heuristics.Explain(r)) },
		func(rec Record) {
			if c := rec.CausedBy; c != nil {
				got[rec.Frame] = truth.CausedBy{Frame: c.Frame, Event: c.Event}
				if n := len(rec.Evidence); n == 0 || !strings.Contains(rec.Evidence[n-1], "(frame "+itoa64(c.Frame)+")") {
					tb.Errorf("%s: frame %d: caused_by %+v, but the evidence's last sentence does not cite its frame: %q", name, rec.Frame, *c, rec.Evidence)
				}
			}
		})
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return got
}

// TestCascadeTruth holds caused_by to the lab's truth files: every proxy
// reset a cascade scenario links (and haproxy-dead's, where the capture
// holds haproxy's loopback) gets its upstream event's frame and kind, and
// no other reset of the lab's captures gets a caused_by. With one worker
// and with three: the link must not depend on how flows are spread.
func TestCascadeTruth(t *testing.T) {
	var files []string
	for _, dir := range []string{testcap.LabDir(), filepath.Join(testcap.LabDir(), "..", "pcaps-servers")} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.truth.json"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no lab captures")
	}
	kinds := map[string]int{}
	for _, tf := range files {
		want, err := truth.Load(tf)
		if err != nil {
			t.Fatal(err)
		}
		wantLinks := map[int64]truth.CausedBy{}
		for _, r := range want.Resets {
			if r.CausedBy != nil {
				wantLinks[r.Frame] = *r.CausedBy
				kinds[r.CausedBy.Event]++
			}
		}
		name := filepath.Join(filepath.Dir(tf), want.Capture.File)
		for _, workers := range []int{1, 3} {
			if d := cmp.Diff(wantLinks, links(t, name, workers)); d != "" {
				t.Errorf("%s, %d workers: caused_by by frame (-truth +rstwhy):\n%s", want.Capture.File, workers, d)
			}
		}
	}
	for _, ev := range truth.CascadeEvents {
		if kinds[ev] == 0 {
			t.Errorf("no truth file links a reset to %s", ev)
		}
	}
}

// TestCascadePublic: none of the public captures is a proxy captured with
// both legs, so none of their resets follows an upstream failure.
func TestCascadePublic(t *testing.T) {
	for _, name := range testcap.CorpusFiles(t) {
		if got := links(t, name, 1); len(got) != 0 {
			t.Errorf("%s: caused_by on frames %v: no capture of the public corpus is a proxy's", filepath.Base(name), got)
		}
	}
}
