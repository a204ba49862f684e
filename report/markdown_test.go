package report

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/correlate"
	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/storm"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

// markdownOf writes the Markdown report of the captures' records, the
// captures named by their base names.
func markdownOf(tb testing.TB, opt Options, paths ...string) string {
	tb.Helper()
	var out bytes.Buffer
	w, err := NewWriter("markdown", &out, opt)
	if err != nil {
		tb.Fatal(err)
	}
	var caps []Capture
	for _, p := range paths {
		var corr correlate.Correlator
		for _, r := range recordsOf(tb, p) {
			r.Capture = filepath.Base(p)
			r.Correlate(&corr)
			w.Record(r)
		}
		caps = append(caps, Capture{File: filepath.Base(p)})
	}
	if err := w.Close(caps); err != nil {
		tb.Fatal(err)
	}
	return out.String()
}

// TestMarkdownGolden keeps the Markdown report of lab captures and public
// ones under review; each has the summary, a section a group with its
// evidence, ladder and advice.
func TestMarkdownGolden(t *testing.T) {
	var lab []string
	for _, c := range ladderCaptures {
		lab = append(lab, filepath.Join(testcap.LabDir(), c.name))
	}
	got := markdownOf(t, Options{}, lab...)
	for _, want := range []string{"## Causes", "| `unread_data_close` |", "**What to check next:**", "```text\n", "`lingering_close`"} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	checkMarkdown(t, got)
	golden(t, "markdown/lab.md", got)

	var pub []string
	for _, name := range corpusLadders {
		pub = append(pub, testcap.Corpus(name))
	}
	if _, err := os.Stat(pub[0]); err != nil {
		t.Skipf("public corpus: %v", err)
	}
	got = markdownOf(t, Options{Mermaid: true}, pub...)
	checkMarkdown(t, got)
	golden(t, "markdown/public-mermaid.md", got)
}

// checkMarkdown: the fences are balanced, every table row has its
// header's cells (no pipe left unescaped in a cell), and no control
// character is in the text.
func checkMarkdown(tb testing.TB, md string) {
	tb.Helper()
	if n := strings.Count(md, "\n```"); n%2 != 0 {
		tb.Errorf("%d fence lines: unbalanced", n)
	}
	cells := 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cells = 0
			continue
		}
		n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1)) - 1
		if cells == 0 {
			cells = n
		} else if n != cells {
			tb.Errorf("a row of %d cells under a header of %d: %s", n, cells, line)
		}
	}
	if Printable(strings.ReplaceAll(md, "\n", "")) != strings.ReplaceAll(md, "\n", "") {
		tb.Error("control characters in the report")
	}
}

// TestMarkdownEscapes: a pipe, a backtick or markup in a capture name or
// an evidence sentence stays text: tables keep their cells and nothing
// becomes a link, emphasis or HTML.
func TestMarkdownEscapes(t *testing.T) {
	recs := recordsOf(t, filepath.Join(testcap.LabDir(), "unread_data_close-primes-v4-eth-server.pcap"))
	r := recs[0]
	r.Capture = "a|b`c*d.pcap"
	r.Evidence = append([]string{"frame 28: a <script> and [a link](x) | and *stars*: close() with data unread"}, r.Evidence...)
	var out bytes.Buffer
	w, _ := NewWriter("markdown", &out, Options{})
	w.Record(r)
	w.Close([]Capture{{File: r.Capture}})
	md := out.String()
	checkMarkdown(t, md)
	for _, bad := range []string{"<script>", "[a link](x)", " *stars*"} {
		if strings.Contains(md, bad) {
			t.Errorf("%q left as markup:\n%s", bad, md)
		}
	}
	if !strings.Contains(md, `a\|b'c*d.pcap`) {
		t.Errorf("the capture name is not escaped for a code span in a table:\n%s", md)
	}
}

// TestMarkdownStorm: 5,000 resets make a report under 200 KB, with one
// section for their group rather than 5,000 paragraphs.
func TestMarkdownStorm(t *testing.T) {
	var pc bytes.Buffer
	if err := storm.Write(&pc, 5000, false); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, _ := NewWriter("markdown", &out, Options{Mermaid: true})
	var corr correlate.Correlator
	n := 0
	pipeline.Run(context.Background(), &pc, pipeline.Options{}, func(r *track.Reset) {
		rec := NewRecord("storm.pcap", r, heuristics.Explain(r))
		rec.Correlate(&corr)
		w.Record(rec)
		n++
	})
	if err := w.Close([]Capture{{File: "storm.pcap"}}); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	if n != 5000 || !strings.HasPrefix(md, "# rstwhy report\n\n5000 resets in 1 capture") {
		t.Fatalf("%d resets; report begins %q", n, md[:min(len(md), 100)])
	}
	if len(md) >= 200<<10 {
		t.Errorf("%d bytes for 5,000 resets, want under 200 KB", len(md))
	}
	if strings.Count(md, "\n## Group ") != 1 || !strings.Contains(md, "```mermaid\n") {
		t.Errorf("want one group's section with a diagram:\n%s", md)
	}
	checkMarkdown(t, md)
}

// TestMermaidBudget: with every lab capture in one report, no diagram
// has more than 29 messages and the page's Mermaid text stays under
// 5,000 characters; the groups past the budget get the text ladder.
func TestMermaidBudget(t *testing.T) {
	md := markdownOf(t, Options{Mermaid: true}, testcap.Lab()...)
	total, diagrams := 0, 0
	for _, part := range strings.Split(md, "```mermaid\n")[1:] {
		body := part[:strings.Index(part, "```")]
		diagrams++
		total += len(body)
		if msgs := strings.Count(body, ">>") + strings.Count(body, "-x"); msgs > 29 {
			t.Errorf("a diagram of %d messages", msgs)
		}
		if !strings.HasPrefix(body, "sequenceDiagram\n") || !strings.Contains(body, "-x") {
			t.Errorf("a diagram without its RST:\n%s", body)
		}
	}
	if diagrams == 0 || total >= 5000 {
		t.Errorf("%d diagrams, %d characters of Mermaid", diagrams, total)
	}
	if diagrams >= strings.Count(md, "\n## Group ") {
		t.Errorf("all %d groups drew a diagram: no fallback to the text ladder seen", diagrams)
	}
	if !strings.Contains(md, "```text\n") {
		t.Error("no text ladder past the Mermaid budget")
	}
	checkMarkdown(t, md)
}
