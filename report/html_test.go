package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func htmlOf(tb testing.TB, recs []Record, captures []Capture) string {
	tb.Helper()
	var out bytes.Buffer
	w, err := NewWriter("html", &out, Options{Version: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Record(r); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(captures); err != nil {
		tb.Fatal(err)
	}
	return out.String()
}

var (
	rowRE     = regexp.MustCompile(`<tr data-frame="(\d+)" data-cause="([^"]*)"`)
	ladderRE  = regexp.MustCompile(`<svg class="ladder" data-rst="(\d+)"`)
	rstRowRE  = regexp.MustCompile(`<g class="pkt rst" data-pkt="(\d+)">`)
	scriptRE  = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	cspRE     = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`)
	fetchesRE = regexp.MustCompile(`(?i)\b(src|href|srcset|action|data|poster|xlink:href)\s*=\s*"([^"#][^"]*)"|url\(|@import|<link|<iframe|<object|<embed|fetch\(|XMLHttpRequest|import\(`)
)

// TestHTMLLab: on every lab capture, the page has a row a record in
// their order with its frame and cause, a ladder for each group whose
// RST is the group's first, nothing that would fetch, and a CSP that
// allows exactly its own script.
func TestHTMLLab(t *testing.T) {
	recs := captureRecords(t)
	page := htmlOf(t, recs, []Capture{{File: "lab"}})

	rows := rowRE.FindAllStringSubmatch(page, -1)
	if len(rows) != len(recs) {
		t.Fatalf("%d rows, want %d", len(rows), len(recs))
	}
	for i, r := range recs {
		if rows[i][1] != strconv.FormatInt(r.Frame, 10) || rows[i][2] != r.Cause {
			t.Errorf("row %d: frame %s cause %s, want %d %s", i, rows[i][1], rows[i][2], r.Frame, r.Cause)
		}
	}

	d := NewDigest()
	for i := range recs {
		d.Add(&recs[i])
	}
	ladders := ladderRE.FindAllStringSubmatch(page, -1)
	rsts := rstRowRE.FindAllStringSubmatch(page, -1)
	groups := d.Groups()
	if len(ladders) != min(len(groups), htmlLadders) || len(rsts) != len(ladders) {
		t.Fatalf("%d ladders, %d RSTs drawn; want one each for %d groups", len(ladders), len(rsts), len(groups))
	}
	for i, g := range groups[:len(ladders)] {
		want := strconv.FormatInt(g.Example.Frame, 10)
		if ladders[i][1] != want || rsts[i][1] != want {
			t.Errorf("group %d: ladder of %s drawing the RST of %s, want %s", g.ID, ladders[i][1], rsts[i][1], want)
		}
	}

	if n := strings.Count(page, "<h4>What to check next</h4>"); n != len(ladders) {
		t.Errorf("%d groups say what to check next, want all %d", n, len(ladders))
	}
	if m := fetchesRE.FindAllString(page, -1); len(m) > 0 {
		t.Errorf("the page refers to something outside it: %q", m)
	}
	csp := cspRE.FindStringSubmatch(page)
	scripts := scriptRE.FindAllStringSubmatch(page, -1)
	if csp == nil || len(scripts) != 1 {
		t.Fatalf("CSP %q, %d scripts; want a CSP and one script", csp, len(scripts))
	}
	h := sha256.Sum256([]byte(scripts[0][1]))
	policy := html.UnescapeString(csp[1])
	if !strings.Contains(policy, "default-src 'none'") || !strings.Contains(policy, "'sha256-"+base64.StdEncoding.EncodeToString(h[:])+"'") {
		t.Errorf("CSP %q does not forbid everything but the page's script", policy)
	}
}

// TestHTMLEscapes: what comes from a capture (its name, endpoints as
// rendered, evidence) cannot add markup to the page.
func TestHTMLEscapes(t *testing.T) {
	recs := captureRecords(t)[:3]
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	for i := range recs {
		recs[i].Capture = evil + ".pcap"
		recs[i].Cause = evil
		recs[i].Evidence = []string{"frame 1: " + evil}
		recs[i].Connection.History = evil
	}
	page := htmlOf(t, recs, []Capture{{File: evil + ".pcap", Warning: evil, Format: evil}, {File: "b"}})
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img") || slices.ContainsFunc(regexp.MustCompile(`<[a-zA-Z][^>]*>`).FindAllString(unquoted(page), -1), func(tag string) bool { return strings.Contains(tag, "onerror") }) {
		t.Errorf("markup from the capture reached the page")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the capture's text is not on the page, escaped")
	}
	if m := fetchesRE.FindAllString(page, -1); len(m) > 0 {
		t.Errorf("the page refers to something outside it: %q", m)
	}
}

// unquoted is the page without its quoted attribute values, where
// escaped text may say anything.
func unquoted(page string) string {
	return regexp.MustCompile(`="[^"]*"`).ReplaceAllString(page, "")
}

// TestHTMLEmpty: a capture without resets gives a page that says so.
func TestHTMLEmpty(t *testing.T) {
	page := htmlOf(t, nil, []Capture{{File: "quiet.pcap", Frames: 10}})
	if !strings.Contains(page, "rstwhy report: 0 resets") || rowRE.MatchString(page) || !strings.HasSuffix(page, "</html>\n") {
		t.Errorf("page of no resets:\n%s", page)
	}
}

// TestHTMLManyGroups: past htmlLadders groups, the rest are listed in
// one table, and every record still has its row.
func TestHTMLManyGroups(t *testing.T) {
	base := captureRecords(t)[0]
	var recs []Record
	for i := range htmlLadders + 20 {
		r := base
		r.Frame = int64(i + 1)
		r.Followup = false
		r.Server = fmt.Sprintf("10.0.0.1:%d", 1000+i) // a port, a group
		recs = append(recs, r)
	}
	page := htmlOf(t, recs, []Capture{{File: "many"}})
	if n := len(ladderRE.FindAllString(page, -1)); n != htmlLadders {
		t.Errorf("%d ladders, want %d", n, htmlLadders)
	}
	if !strings.Contains(page, "<h3>20 smaller groups</h3>") || len(rowRE.FindAllString(page, -1)) != len(recs) {
		t.Errorf("the 20 groups past the ladders are not listed, or rows are missing")
	}
}

// TestChartBins: the chart has at most htmlBins bars whatever the span,
// and every row is in one of them.
func TestChartBins(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   []int64
	}{
		{"one instant", []int64{5, 5, 5}},
		{"80 ms", []int64{1e18, 1e18 + 40e6, 1e18 + 80e6}},
		{"three days", []int64{1e18, 1e18 + 3*86400e9}},
		{"years apart", []int64{0, 1.7e18, 1.7e18 + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rows []htmlRow
			for _, ts := range tc.ts {
				rows = append(rows, htmlRow{ts: ts, Cause: "x"})
			}
			c := chart(rows, map[string]string{"x": "#000"})
			n := 0
			for _, b := range c.Bars {
				if b.X < chartLeft || b.X+b.W > chartRight {
					t.Errorf("bar at %d, %d wide: outside the chart", b.X, b.W)
				}
				for _, p := range b.Parts {
					var k int
					fmt.Sscanf(p.Title[strings.LastIndex(p.Title, ": ")+2:], "%d", &k)
					n += k
				}
			}
			if len(c.Bars) > htmlBins || n != len(rows) {
				t.Errorf("%d bars holding %d resets, want at most %d holding %d", len(c.Bars), n, htmlBins, len(rows))
			}
		})
	}
}

func TestCodeSpans(t *testing.T) {
	got := codeSpans([]string{"nginx: `lingering_close` (`on` by default)", "none"})
	want := [][]htmlSpan{{{"nginx: ", false}, {"lingering_close", true}, {" (", false}, {"on", true}, {" by default)", false}}, {{"none", false}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("codeSpans: %v, want %v", got, want)
	}
}
