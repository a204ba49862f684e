package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The HTML report is one self-contained page for a ticket attachment: its
// style, its charts (SVG drawn here) and a few lines of script for sorting
// the table are inline, and its Content-Security-Policy forbids loading
// anything, so that it opens the same on a machine with no network and
// cannot leak a visit. html/template escapes everything that comes from
// a capture.

//go:embed html.tmpl
var htmlSource string

//go:embed html.js
var htmlScript string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"conf": func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"base": captureBase,
	"count": func(n any, one, many string) string {
		var k int64
		switch v := n.(type) {
		case int:
			k = int64(v)
		case int64:
			k = v
		}
		return strconv.FormatInt(k, 10) + " " + plural(k, one, many)
	},
	"when": func(s string) string {
		if t, err := time.Parse(TimeFormat, s); err == nil {
			return t.UTC().Format(htmlTime)
		}
		return s
	},
}).Parse(htmlSource))

// htmlCSP allows the page's own inline style and, by its hash, its one
// script; nothing else, no fetch of any kind.
var htmlCSP = func() string {
	h := sha256.Sum256([]byte(htmlScript))
	return "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(h[:]) + "'; base-uri 'none'; form-action 'none'"
}()

// Limits of the HTML report: what a reader can take in, and what keeps a
// capture of a million resets from making a page no browser opens.
const (
	// htmlLadders is how many groups, largest first, get a section with
	// their ladder; the others are listed in one table.
	htmlLadders = 100
	// htmlTop is how many resetting hosts and server ports are listed.
	htmlTop = 10
	// htmlBins is the most bars of the chart over time.
	htmlBins = 60
)

// htmlTime is how the page writes a time, always in UTC, which the
// headings say: to the microsecond, as Wireshark and tcpdump show them.
const htmlTime = "2006-01-02 15:04:05.000000"

// htmlWriter keeps one compact row a reset, for the table, and the
// Digest, for the overview and the groups; it writes the page at Close.
// A row is some 300 bytes with its strings (measured on the lab
// captures): 5,000 resets hold about 1.5 MB.
type htmlWriter struct {
	w      io.Writer
	opt    Options
	rows   []htmlRow
	digest *Digest
}

type htmlRow struct {
	Capture    string
	Frame      int64
	ts         int64
	Time       string
	Client     string
	Server     string
	Resetter   string
	Cause      string
	Followup   bool
	FollowupOf int64
	Conf       float64
	Evidence   string // the sentence that carries the verdict (Record.Key)
	Group      int    // the Digest group's ID, 0 when it had none
	Ladder     bool   // the group has a section with its ladder
}

func newHTMLWriter(w io.Writer, opt Options) *htmlWriter {
	return &htmlWriter{w: w, opt: opt, digest: NewDigest()}
}

func (h *htmlWriter) Record(r Record) error {
	row := htmlRow{Capture: r.Capture, Frame: r.Frame, Client: r.Client, Server: r.Server,
		Resetter: r.Resetter, Cause: r.Cause, Followup: r.Followup, FollowupOf: r.FollowupOf, Conf: r.Confidence}
	if t, err := time.Parse(TimeFormat, r.Time); err == nil {
		row.ts = t.UnixNano()
		row.Time = t.UTC().Format(htmlTime)
	}
	if k := r.Key(); k >= 0 {
		row.Evidence = r.Evidence[k]
	}
	if g := h.digest.Add(&r); g != nil {
		row.Group = g.ID
	}
	h.rows = append(h.rows, row)
	return nil
}

func (h *htmlWriter) Close(captures []Capture) error {
	return htmlTemplate.Execute(h.w, h.page(captures))
}

// htmlPage is what the template draws.
type htmlPage struct {
	CSP         string
	Script      template.JS // trusted: this package's own file
	Version     string
	Captures    []htmlCapture
	Total       int
	Followups   int
	First, Last string
	Span        string
	Chart       htmlChart
	Causes      []htmlCount
	Resetters   []htmlCount
	Ports       []htmlCount
	Groups      []htmlGroup
	MoreGroups  []*DigestGroup
	Dropped     int
	Rows        []htmlRow
	MultiFile   bool
}

type htmlCapture struct {
	Name, Base string
	Capture    Capture
}

// captureBase is a capture's file name without its directory: what tells
// captures apart in a table, the whole path being in its title.
func captureBase(name string) string {
	return Printable(filepath.Base(name))
}

type htmlCount struct {
	Name  string
	Count int
	Color string
	Width int // of the bar, in percent of the largest
}

func (h *htmlWriter) page(captures []Capture) *htmlPage {
	d := h.digest
	p := &htmlPage{CSP: htmlCSP, Script: template.JS(htmlScript), Version: h.opt.Version,
		Total: d.Total, Followups: d.Followups, Rows: h.rows, Dropped: d.Dropped,
		MultiFile: len(captures) > 1 || len(h.opt.Files) > 1}
	for _, c := range captures {
		p.Captures = append(p.Captures, htmlCapture{Printable(c.File), captureBase(c.File), c})
	}
	if !d.First.IsZero() {
		p.First = d.First.UTC().Format("2006-01-02 15:04:05.000000 UTC")
		p.Last = d.Last.UTC().Format("2006-01-02 15:04:05.000000 UTC")
		p.Span = durationText(d.Last.Sub(d.First))
	}
	colors := causeColors(d.ByCause)
	p.Causes = counts(Sorted(d.ByCause), colors, 0)
	p.Resetters = counts(Sorted(d.ByResetter), nil, htmlTop)
	p.Ports = counts(d.SortedPorts(), nil, htmlTop)
	p.Chart = chart(h.rows, colors)
	groups := d.Groups()
	withLadder := map[int]bool{}
	for i, g := range groups {
		if i >= htmlLadders {
			p.MoreGroups = groups[i:]
			break
		}
		p.Groups = append(p.Groups, newHTMLGroup(g, colors))
		withLadder[g.ID] = true
	}
	for i := range p.Rows {
		p.Rows[i].Ladder = withLadder[p.Rows[i].Group]
	}
	return p
}

// counts turns sorted counts into bars, the first top of them and the
// rest summed up in one line (top 0: all).
func counts(sorted []Counted, colors map[string]string, top int) []htmlCount {
	out := make([]htmlCount, 0, len(sorted))
	rest, others := 0, 0
	for i, c := range sorted {
		if top > 0 && i >= top {
			rest += c.Count
			others++
			continue
		}
		out = append(out, htmlCount{Name: c.Name, Count: c.Count, Color: colors[c.Name]})
	}
	if others > 0 {
		out = append(out, htmlCount{Name: fmt.Sprintf("%d others", others), Count: rest})
	}
	largest := 0
	for _, c := range out {
		largest = max(largest, c.Count)
	}
	for i := range out {
		if largest > 0 {
			out[i].Width = max(1, out[i].Count*100/largest)
		}
	}
	return out
}

// palette is Tableau 10, whose colours stay apart for most readers;
// follow-ups are grey. Colour never carries meaning alone: every bar
// has its cause written beside it or in its title.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"}

const followupColor = "#bab0ac"

// causeColors gives each cause its colour, the most frequent first; past
// the palette, causes share the last one.
func causeColors(byCause map[string]int) map[string]string {
	out := map[string]string{}
	i := 0
	for _, c := range Sorted(byCause) {
		if c.Name == "followup" {
			out[c.Name] = followupColor
			continue
		}
		out[c.Name] = palette[min(i, len(palette)-1)]
		i++
	}
	return out
}

// htmlChart is the stacked bar chart of resets over time by cause.
type htmlChart struct {
	Width, Height int
	Bars          []htmlBar
	Max           int
	Step          string // the width of a bar, as a duration
	XLabels       []htmlLabel
	YTop          int // y of the top line
	Base          int // y of the axis
}

type htmlBar struct {
	X, W  int
	Parts []htmlBarPart
}

type htmlBarPart struct {
	Y, H  int
	Color string
	Title string
}

type htmlLabel struct {
	X      int
	Text   string
	Anchor string
}

// Chart geometry, in SVG units (the chart scales to the page's width).
const (
	chartW, chartH       = 1000, 200
	chartLeft, chartTop  = 48, 12
	chartRight, chartBot = 990, 170
)

// chartSteps are the bar widths tried, smallest first: the chart takes
// the first that covers the resets' span in htmlBins bars, so that a
// capture of 80 ms and one of three days both read well (the Digest's
// minutes would draw the first as one bar).
var chartSteps = []time.Duration{
	time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond, time.Millisecond,
	10 * time.Millisecond, 100 * time.Millisecond, time.Second, 5 * time.Second, 10 * time.Second,
	30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour,
	6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour,
}

func chart(rows []htmlRow, colors map[string]string) htmlChart {
	c := htmlChart{Width: chartW, Height: chartH, YTop: chartTop, Base: chartBot}
	if len(rows) == 0 {
		return c
	}
	lo, hi := rows[0].ts, rows[0].ts
	for _, r := range rows {
		lo, hi = min(lo, r.ts), max(hi, r.ts)
	}
	// Past a week a bar (resets years apart: a clock unset on one
	// capturing host), bars are as wide as htmlBins of them need.
	step := time.Duration((hi-lo)/(htmlBins-2) + 1) // one more bar for the alignment of the first
	for _, s := range chartSteps {
		if (hi-lo)/int64(s) < htmlBins-1 {
			step = s
			break
		}
	}
	start := lo - lo%int64(step)
	n := int((hi-start)/int64(step)) + 1
	bins := make([]map[string]int, n)
	for _, r := range rows {
		i := min(n-1, int((r.ts-start)/int64(step)))
		if bins[i] == nil {
			bins[i] = map[string]int{}
		}
		key := r.Cause
		if r.Followup {
			key = "followup"
		}
		bins[i][key]++
	}
	for _, b := range bins {
		t := 0
		for _, v := range b {
			t += v
		}
		c.Max = max(c.Max, t)
	}
	c.Step = step.String()
	slot := (chartRight - chartLeft) / n
	w := min(max(1, slot*4/5), 40) // a lone bar is no slab
	height := chartBot - chartTop
	for i, b := range bins {
		if len(b) == 0 {
			continue
		}
		bar := htmlBar{X: chartLeft + i*slot + (slot-w)/2, W: w}
		y := chartBot
		t0 := time.Unix(0, start+int64(i)*int64(step)).UTC()
		for _, cc := range Sorted(b) {
			h := max(1, cc.Count*height/c.Max)
			y -= h
			bar.Parts = append(bar.Parts, htmlBarPart{Y: y, H: h, Color: colors[cc.Name],
				Title: fmt.Sprintf("%s: %d %s", t0.Format("15:04:05.000000"), cc.Count, causeLabel(cc.Name))})
		}
		c.Bars = append(c.Bars, bar)
	}
	label := func(i int, anchor string) htmlLabel {
		t := time.Unix(0, start+int64(i)*int64(step)).UTC()
		f := "15:04:05"
		switch {
		case step >= time.Hour || time.Unix(0, lo).UTC().Format(time.DateOnly) != time.Unix(0, hi).UTC().Format(time.DateOnly):
			f = "2006-01-02 15:04"
		case step < time.Millisecond:
			f = "15:04:05.000000"
		case step < time.Second:
			f = "15:04:05.000"
		}
		return htmlLabel{X: chartLeft + i*slot, Text: t.Format(f), Anchor: anchor}
	}
	c.XLabels = append(c.XLabels, label(0, "start"))
	if n > 1 {
		c.XLabels = append(c.XLabels, label(n, "end"))
	}
	return c
}

func causeLabel(cause string) string {
	if cause == "followup" {
		return "follow-ups"
	}
	return cause
}

// htmlGroup is one group's section: its numbers, its example's
// connection and ladder, and the evidence beside it.
type htmlGroup struct {
	*DigestGroup
	Color      string
	Summary    []string
	Ladder     htmlLadder
	Evidence   []htmlEvidence
	NextSteps  [][]htmlSpan
	MoreFrames int // RST frames of the group not listed
}

type htmlEvidence struct {
	N      int // its number, as the ladder marks the packets it cites
	Text   string
	Frames []int64
}

func newHTMLGroup(g *DigestGroup, colors map[string]string) htmlGroup {
	ex := &g.Example
	key := ex.Cause
	if ex.Followup {
		key = "followup"
	}
	out := htmlGroup{DigestGroup: g, Color: colors[key], NextSteps: codeSpans(NextSteps(g.Cause)),
		MoreFrames: g.Count - len(g.Frames)}
	c := &ex.Connection
	out.Summary = []string{
		"duration " + msText(c.DurationMS),
		fmt.Sprintf("client → server %s in %d packets", bytesText(c.ClientBytes), c.ClientPackets),
		fmt.Sprintf("server → client %s in %d packets", bytesText(c.ServerBytes), c.ServerPackets),
		"idle before the RST " + msText(c.IdleMS),
	}
	if c.ClosedFirst != "" {
		out.Summary = append(out.Summary, c.ClosedFirst+" closed first")
	} else {
		out.Summary = append(out.Summary, "no FIN before the RST")
	}
	if c.History != "" {
		out.Summary = append(out.Summary, "history "+c.History)
	}
	cites := map[int64][]int{}
	for i, s := range ex.KeyFirst() {
		e := htmlEvidence{N: i + 1, Text: s, Frames: Cites(s)}
		for _, f := range e.Frames {
			if !slices.Contains(cites[f], e.N) {
				cites[f] = append(cites[f], e.N)
			}
		}
		out.Evidence = append(out.Evidence, e)
	}
	l := ex.Ladder
	if l == nil {
		l = ex.BuildLadder()
	}
	out.Ladder = newHTMLLadder(ex, l, cites)
	return out
}

// htmlLadder is a reset's ladder laid out for SVG: the client's line on
// the left, the server's on the right, one row a packet.
type htmlLadder struct {
	Frame               int64 // the RST's
	Width, Height       int
	ClientX, ServerX    int
	MidX, NoteX, FrameX int
	DeltaX, LineTop     int
	Client, Server      string
	Relative            bool
	Earlier             string
	EarlierY            int
	Rows                []htmlLadderRow
	AfterY              int // y of the line "after the RST", 0 when nothing followed
}

type htmlLadderRow struct {
	Y, TextY, ArrowY int
	Frame            int64
	Delta            string
	Label            string
	Class            string // "pkt", plus "rst", "answered", "after"
	Highlight        bool   // the RST and the packet it answers
	X1, X2           int
	Head             string // the arrowhead's points
	Note             string // what the row is, beside it: "RST", "answered", the kind
	Cited            string // the evidence numbers citing it: "[1][3]"
}

// Ladder geometry, in pixels.
const (
	ladderRowH   = 24
	ladderTop    = 44
	ladderWidth  = 790
	ladderClient = 150
	ladderServer = 590
)

func newHTMLLadder(ex *Record, l *Ladder, cites map[int64][]int) htmlLadder {
	out := htmlLadder{Frame: ex.Frame, Width: ladderWidth, ClientX: ladderClient, ServerX: ladderServer,
		MidX: (ladderClient + ladderServer) / 2, NoteX: ladderServer + 8, FrameX: 44, DeltaX: ladderClient - 12,
		LineTop: ladderTop - 8, Client: "client " + ex.Client, Server: "server " + ex.Server, Relative: l.Relative}
	y := ladderTop
	if l.Earlier > 0 {
		out.Earlier = earlierText(ex, l)
		out.EarlierY = y + 14
		y += ladderRowH
	}
	for _, p := range l.Packets {
		if p.Role == "after" && out.AfterY == 0 {
			out.AfterY = y + 4
			y += 8
		}
		r := htmlLadderRow{Y: y, TextY: y + 11, ArrowY: y + 17, Frame: p.Frame, Label: packetLabel(&p), Class: "pkt"}
		if p.SincePrevMS > 0 {
			r.Delta = "+" + msText(p.SincePrevMS)
		}
		const head = 7
		if p.From == "client" {
			r.X1, r.X2 = ladderClient+2, ladderServer-2
			r.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", r.X2, r.ArrowY, r.X2-head*2, r.ArrowY-head/2-1, r.X2-head*2, r.ArrowY+head/2+1)
		} else {
			r.X1, r.X2 = ladderServer-2, ladderClient+2
			r.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", r.X2, r.ArrowY, r.X2+head*2, r.ArrowY-head/2-1, r.X2+head*2, r.ArrowY+head/2+1)
		}
		switch p.Role {
		case "rst":
			r.Class += " rst"
			r.Highlight = true
			r.Note = "◀ the RST"
			if p.From == "client" {
				r.Note = "the RST ▶"
			}
		case "answered":
			r.Class += " answered"
			r.Highlight = true
			r.Note = "answered by the RST"
		case "after":
			r.Class += " after"
		}
		if p.Kind != "" {
			r.Note = strings.TrimSpace(strings.ReplaceAll(p.Kind, "_", " ") + " " + r.Note)
		}
		if p.AcksUnseen {
			r.Note = strings.TrimSpace(r.Note + " " + unseenNote)
		}
		for _, n := range cites[p.Frame] {
			r.Cited += "[" + strconv.Itoa(n) + "]"
		}
		out.Rows = append(out.Rows, r)
		y += ladderRowH
	}
	out.Height = y + 8
	return out
}

// msText is durationText for the milliseconds of a Connection.
func msText(ms float64) string { return durationText(time.Duration(ms * 1e6)) }

// htmlSpan is a piece of a sentence of advice: NextSteps writes settings
// and names in backticks, as Markdown inline code, which the page shows
// as code.
type htmlSpan struct {
	Text string
	Code bool
}

func codeSpans(lines []string) [][]htmlSpan {
	out := make([][]htmlSpan, len(lines))
	for i, l := range lines {
		for k, part := range strings.Split(l, "`") {
			if part != "" {
				out[i] = append(out[i], htmlSpan{part, k%2 == 1})
			}
		}
	}
	return out
}
