package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rstwhy/rstwhy/heuristics"
)

// tableWriter prints a row as each record arrives, each reset's evidence
// under its row, and a summary by cause at Close. Columns have fixed
// widths, chosen before the first row from Options.Width, so a row
// printed never has to move: a longer value (an IPv6 endpoint, a long
// file name) wraps onto the next lines of its own column. The last
// column is not padded. Between records it keeps the counts by cause and
// a Digest (its groups, not the records).
//
// Two layouts: wide, a column for everything, when the width is unknown
// or holds it; narrow, for a terminal of 80 to some 160 columns, where
// the endpoints, the kernel reason and the capture go on a line under
// the row. Evidence wraps at the width, at spaces only.
type tableWriter struct {
	w       io.Writer
	opt     Options
	cols    []column
	multi   bool // several captures: their names are shown
	narrow  bool
	started bool
	b       []byte // one record's lines, reused
	counts  map[string]int
	digest  *Digest
	err     error // the first failed write
}

type column struct {
	name  string
	width int // in characters; 0: the last column, not padded
	right bool
}

const (
	colSep = "  "
	// Capture names wider than this wrap: the other columns stay on
	// screen.
	maxCaptureWidth = 32
	// The widest Linux reason, TCP_INVALID_ACK_SEQUENCE: the last column
	// is not padded, but the wide layout must leave it room.
	reasonWidth = len("TCP_INVALID_ACK_SEQUENCE")
)

func newTableWriter(w io.Writer, opt Options) *tableWriter {
	t := &tableWriter{w: w, opt: opt, multi: len(opt.Files) > 1, digest: NewDigest()}
	capWidth := 0
	if t.multi {
		capWidth = len("capture")
		for _, f := range opt.Files {
			capWidth = max(capWidth, utf8.RuneCountInString(Printable(filepath.Base(f))))
		}
		capWidth = min(capWidth, maxCaptureWidth)
	}
	frame := column{name: "frame", width: 9, right: true} // a billion frames
	tm := column{name: "time (UTC)", width: len("2006-01-02 15:04:05.000000")}
	client := column{name: "client", width: len("255.255.255.255:65535")}
	server := column{name: "server", width: len("255.255.255.255:65535")}
	resetter := column{name: "resetter", width: len("resetter")}
	state := column{name: "state", width: len("syn_received")}
	cause := column{name: "cause", width: len("retransmission_timeout")}
	conf := column{name: "conf", width: len("0.00"), right: true}
	wide := []column{frame, tm, client, server, resetter, state, cause, conf, {name: "linux reason"}}
	if t.multi {
		wide = append([]column{{name: "capture", width: capWidth}}, wide...)
	}
	if opt.Width <= 0 || rowWidth(wide)+reasonWidth <= opt.Width {
		t.cols = wide
		return t
	}
	// Narrow: the time wraps its date above its time of day when even
	// that is too wide (80 columns).
	t.narrow = true
	conf.width = 0
	t.cols = []column{frame, tm, resetter, state, cause, conf}
	if rowWidth(t.cols)+conf.width > opt.Width {
		t.cols[1].width = len("15:04:05.000000")
	}
	return t
}

// rowWidth is the width of a row of cols, the last column's width
// counted as given.
func rowWidth(cols []column) int {
	n := 0
	for i, c := range cols {
		if i > 0 {
			n += len(colSep)
		}
		n += c.width
	}
	return n
}

func (t *tableWriter) Record(r Record) error {
	if t.err != nil {
		return t.err
	}
	t.b = t.b[:0]
	if !t.started {
		t.started = true
		names := make([]string, len(t.cols))
		for i, c := range t.cols {
			names[i] = strings.ToUpper(c.name)
		}
		start := len(t.b)
		t.b = t.appendRow(t.b, names)
		if t.opt.Color {
			t.b = append(t.b[:start], ansiBold+strings.TrimSuffix(string(t.b[start:]), "\n")+ansiReset+"\n"...)
		}
	}
	cause := r.Cause
	if r.Followup {
		// Its cause is the first RST's, which its evidence names.
		cause = "follow-up"
	}
	tm := r.Time
	if ts, err := time.Parse(TimeFormat, r.Time); err == nil {
		tm = ts.UTC().Format("2006-01-02 15:04:05.000000")
	}
	var cells []string
	if t.narrow {
		cells = []string{strconv.FormatInt(r.Frame, 10), tm, r.Resetter, r.State, cause, strconv.FormatFloat(r.Confidence, 'f', 2, 64)}
	} else {
		cells = []string{strconv.FormatInt(r.Frame, 10), tm, r.Client, r.Server,
			r.Resetter, r.State, cause, strconv.FormatFloat(r.Confidence, 'f', 2, 64), r.KernelReason}
		if t.multi {
			cells = append([]string{filepath.Base(r.Capture)}, cells...)
		}
	}
	t.b = t.appendRow(t.b, cells)
	// The evidence goes under the row from the time column on, so that
	// the frame numbers stand out on the left.
	indent := t.cols[0].width + len(colSep)
	if t.multi && !t.narrow {
		indent += t.cols[1].width + len(colSep)
	}
	pad := strings.Repeat(" ", indent)
	if t.narrow {
		// What the narrow row has no room for, on a line of its own.
		line := Printable(r.Client) + " -> " + Printable(r.Server)
		if r.KernelReason != "" {
			line += "  " + r.KernelReason
		}
		if t.multi {
			line += "  (" + Printable(filepath.Base(r.Capture)) + ")"
		}
		for _, l := range WrapWords(line, max(t.opt.Width-indent, 30)) {
			t.b = append(t.b, pad...)
			t.b = TextOptions{Color: t.opt.Color}.paint(t.b, ansiDim, l)
			t.b = append(t.b, '\n')
		}
	}
	if t.opt.Ladder {
		// The ladder carries the evidence beside its packets.
		t.b = append(t.b, '\n')
		t.b = AppendLadder(t.b, &r, TextOptions{Color: t.opt.Color, Width: t.opt.Width})
		t.b = append(t.b, '\n')
	} else {
		for i, e := range r.KeyFirst() {
			width := 0
			if t.opt.Width > 0 {
				width = max(t.opt.Width-indent-2, 30)
			}
			for k, l := range WrapWords(Printable(e), width) {
				t.b = append(t.b, pad...)
				if k == 0 {
					t.b = append(t.b, "- "...)
				} else {
					t.b = append(t.b, "  "...)
				}
				if i == 0 && t.opt.Color {
					t.b = TextOptions{Color: t.opt.Color}.paint(t.b, ansiBold, l)
				} else {
					t.b = append(t.b, l...)
				}
				t.b = append(t.b, '\n')
			}
		}
	}
	if _, t.err = t.w.Write(t.b); t.err != nil {
		return t.err
	}
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	t.counts[summaryKey(&r)]++
	t.digest.Add(&r)
	return nil
}

// appendRow appends one row, as many lines as its tallest cell.
func (t *tableWriter) appendRow(b []byte, cells []string) []byte {
	lines := make([][]string, len(cells))
	height := 1
	for i, c := range cells {
		lines[i] = wrap(Printable(c), t.cols[i].width)
		height = max(height, len(lines[i]))
	}
	for l := range height {
		start := len(b)
		for i, col := range t.cols {
			if i > 0 {
				b = append(b, colSep...)
			}
			s := ""
			if l < len(lines[i]) {
				s = lines[i][l]
			}
			pad := col.width - utf8.RuneCountInString(s)
			if col.right && pad > 0 {
				b = append(b, strings.Repeat(" ", pad)...)
			}
			b = append(b, s...)
			if !col.right && pad > 0 && i < len(t.cols)-1 {
				b = append(b, strings.Repeat(" ", pad)...)
			}
		}
		b = append(b[:start], strings.TrimRight(string(b[start:]), " ")...)
		b = append(b, '\n')
	}
	return b
}

// wrap cuts s into lines of at most width characters: at a space (which
// goes), else after a separator of names and addresses (- _ . : /), else
// anywhere. Width 0 is no limit.
func wrap(s string, width int) []string {
	if width <= 0 || utf8.RuneCountInString(s) <= width {
		return []string{s}
	}
	var lines []string
	for utf8.RuneCountInString(s) > width {
		// cut is the byte offset just past width characters.
		cut := 0
		for range width {
			_, size := utf8.DecodeRuneInString(s[cut:])
			cut += size
		}
		next := cut
		if sp := strings.LastIndexByte(s[:cut+1], ' '); sp > 0 {
			cut, next = sp, sp+1
		} else if sep := strings.LastIndexAny(s[:cut], "-_.:/"); sep >= 0 {
			cut, next = sep+1, sep+1
		}
		lines = append(lines, s[:cut])
		s = s[next:]
	}
	return append(lines, s)
}

// Printable returns s with what a terminal would act on or not show
// escaped as Go escapes it: control characters (a newline in a file
// name, ESC), invalid UTF-8, format characters such as a right-to-left
// override, and line separators. A row or a diagnostic line stays one
// line, and what it shows is what the name holds.
func Printable(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case needsEscape(r, size):
			q := strconv.QuoteRune(r) // '\n', '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(r rune, size int) bool {
	return r == utf8.RuneError && size == 1 || !unicode.IsPrint(r)
}

func (t *tableWriter) Close(captures []Capture) error {
	if t.err != nil {
		return t.err
	}
	var b strings.Builder
	var total int
	for _, n := range t.counts {
		total += n
	}
	if t.started {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d %s in %d %s", total, plural(int64(total), "reset", "resets"), len(captures), plural(int64(len(captures)), "capture", "captures"))
	if total > 0 {
		b.WriteString(":")
	}
	b.WriteString("\n")
	for _, c := range heuristics.Causes() {
		if n := t.counts[string(c)]; n > 0 {
			fmt.Fprintf(&b, "  %-24s %d\n", c, n)
		}
	}
	if n := t.counts["followup"]; n > 0 {
		fmt.Fprintf(&b, "  %-24s %d (answers drawn by an earlier reset)\n", "follow-ups", n)
	}
	b.WriteString(t.alike())
	for _, c := range captures {
		if len(c.Groups) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\ngroups in %s:\n", Printable(c.File))
		for _, g := range c.Groups {
			b.WriteString("  " + describeGroup(g) + "\n")
		}
	}
	_, t.err = io.WriteString(t.w, b.String())
	return t.err
}

// describeGroup says what a group is in one line.
func describeGroup(g Group) string {
	span := fmt.Sprintf("frames %d-%d, %s to %s", g.FirstFrame, g.LastFrame, g.FirstTime[11:26], g.LastTime[11:26])
	switch g.Kind {
	case "storm":
		return fmt.Sprintf("group %d: storm: %s reset %d connections at once (%s)", g.ID, g.Resetter, g.Connections, span)
	case "repeat":
		return fmt.Sprintf("group %d: repeat: %s, %s to port %d, %d times (%s)", g.ID, g.Resetter, g.Cause, g.ServerPort, g.Resets, span)
	case "scan":
		return fmt.Sprintf("group %d: scan: %s refused %s on %d ports (%s)", g.ID, g.Resetter, g.Peer, g.Ports, span)
	}
	return fmt.Sprintf("group %d: %d resets (%s)", g.ID, g.Resets, span)
}

// tableTimeFormat is how the table and the text views show a time: date,
// microseconds and zone (records' times are UTC).
const tableTimeFormat = "2006-01-02 15:04:05.000000 MST"

// WrapWords cuts s into lines of at most width characters at spaces,
// never inside a word: a word longer than width has a line of its own.
func WrapWords(s string, width int) []string {
	if width <= 0 || utf8.RuneCountInString(s) <= width {
		return []string{s}
	}
	var lines []string
	line, n := "", 0
	for _, w := range strings.Fields(s) {
		wn := utf8.RuneCountInString(w)
		switch {
		case n == 0:
			line, n = w, wn
		case n+1+wn <= width:
			line += " " + w
			n += 1 + wn
		default:
			lines = append(lines, line)
			line, n = w, wn
		}
	}
	return append(lines, line)
}

// maxAlike is how many groups of alike resets the table's end lists.
const maxAlike = 20

// alike lists the digest's groups of more than one reset, largest first:
// a capture with thousands of resets ends with what they have in common.
func (t *tableWriter) alike() string {
	var b strings.Builder
	gs := t.digest.Groups()
	shown := 0
	for _, g := range gs {
		if g.Count < 2 {
			continue
		}
		if shown == 0 {
			b.WriteString("\nalike resets (same cause, resetting host and server port):\n")
		}
		if shown == maxAlike {
			fmt.Fprintf(&b, "  ... and more groups: --format markdown lists them all\n")
			break
		}
		shown++
		line := fmt.Sprintf("%d x %s by the %s %s, server port %d, frames %d-%d, %s to %s; example: frame %d",
			g.Count, g.Cause, g.Resetter, g.Host, g.ServerPort, g.FirstFrame, g.LastFrame,
			shortTime(g.FirstTime), shortTime(g.LastTime), g.Example.Frame)
		if t.multi {
			line += " (" + filepath.Base(g.Capture) + ")"
		}
		width := 0 // unknown: no wrapping
		if t.opt.Width > 0 {
			width = max(t.opt.Width-4, 40)
		}
		for k, l := range WrapWords(Printable(line), width) {
			if k == 0 {
				b.WriteString("  " + l + "\n")
			} else {
				b.WriteString("    " + l + "\n")
			}
		}
	}
	return b.String()
}

// shortTime is a record time as the table shows it: date, time to the
// microsecond, zone.
func shortTime(s string) string {
	if ts, err := time.Parse(TimeFormat, s); err == nil {
		return ts.UTC().Format(tableTimeFormat)
	}
	return s
}
