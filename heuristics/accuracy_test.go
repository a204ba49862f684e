package heuristics_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/truth"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

const corpus = "../testdata/pcaps"

// judged is rstwhy's answer for one RST frame.
type judged struct {
	r *track.Reset
	v heuristics.Verdict
}

func analyzeFile(tb testing.TB, path string) map[int64]judged {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	got := map[int64]judged{}
	res, err := pipeline.Run(context.Background(), f, pipeline.Options{}, func(r *track.Reset) {
		got[r.Packet.Frame] = judged{r, heuristics.Explain(r)}
	})
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if res.Damage != nil {
		tb.Errorf("%s: %v", path, res.Damage)
	}
	return got
}

// TestAccuracy holds rstwhy to the kernel's own labels: every RST of every
// lab capture must get the cause and resetter its truth file names. It
// prints the confusion matrix (expected x given) and how often
// kernel_reason agrees with the tcp_send_reset tracepoint.
func TestAccuracy(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus, "*.truth.json"))
	if len(files) == 0 {
		t.Skip("no lab captures in " + corpus)
	}
	confusion := map[[2]string]int{}
	var kernelSame, kernelTotal int
	for _, tf := range files {
		want, err := truth.Load(tf)
		if err != nil {
			t.Fatal(err)
		}
		name := want.Capture.File
		t.Run(strings.TrimSuffix(name, filepath.Ext(name)), func(t *testing.T) {
			got := analyzeFile(t, filepath.Join(corpus, name))
			for _, w := range want.Resets {
				g, ok := got[w.Frame]
				if !ok {
					t.Errorf("frame %d: RST not reported", w.Frame)
					confusion[[2]string{w.Cause, "(missing)"}]++
					continue
				}
				delete(got, w.Frame)
				confusion[[2]string{w.Cause, string(g.v.Cause)}]++
				if string(g.v.Cause) != w.Cause {
					t.Errorf("frame %d: cause %s, want %s (kernel %s, %s)\n\tevidence: %s", w.Frame, g.v.Cause, w.Cause,
						deref(w.KernelReason), w.Note, strings.Join(g.v.Evidence, "; "))
				}
				if w.Resetter != truth.Middlebox && string(g.v.Resetter) != w.Resetter {
					t.Errorf("frame %d: resetter %s, want %s", w.Frame, g.v.Resetter, w.Resetter)
				}
				if g.v.Followup != (w.Followup || w.CopyOf != 0) {
					t.Errorf("frame %d: followup %v, want %v (copy of %d)", w.Frame, g.v.Followup, w.Followup, w.CopyOf)
				}
				if w.KernelReason != nil && !g.v.Followup {
					kernelTotal++
					if g.v.KernelReason == *w.KernelReason {
						kernelSame++
					}
				}
			}
			for f := range got {
				t.Errorf("frame %d: reported, but the truth file lists no RST there", f)
			}
		})
	}
	t.Logf("confusion matrix (rows: cause expected, columns: cause given)\n%s", matrix(confusion))
	if kernelTotal > 0 {
		t.Logf("kernel_reason agrees with the tracepoint on %d of %d first resets (%.0f%%)",
			kernelSame, kernelTotal, 100*float64(kernelSame)/float64(kernelTotal))
	}
}

func deref(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}

func matrix(m map[[2]string]int) string {
	rowSet, colSet := map[string]bool{}, map[string]bool{}
	for k := range m {
		rowSet[k[0]], colSet[k[1]] = true, true
	}
	rows, cols := keys(rowSet), keys(colSet)
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s", "")
	for _, c := range cols {
		fmt.Fprintf(&b, " %*s", len(abbrev(c)), abbrev(c))
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-24s", r)
		for _, c := range cols {
			n := m[[2]string{r, c}]
			cell := "."
			if n > 0 {
				cell = fmt.Sprint(n)
			}
			fmt.Fprintf(&b, " %*s", len(abbrev(c)), cell)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// abbrev shortens a cause for a column heading: unread_data_close -> udc.
func abbrev(c string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.Trim(c, "()"), "_") {
		if w != "" {
			b.WriteByte(w[0])
		}
	}
	return b.String()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
