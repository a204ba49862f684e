package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rstwhy/rstwhy/heuristics"
)

// tableWriter prints a row as each record arrives, each reset's evidence
// under its row, and a summary by cause at Close. Columns have fixed
// widths, chosen before the first row, so a row printed never has to
// move: a longer value (an IPv6 endpoint, a long file name) wraps onto
// the next lines of its own column. The last column is not padded.
// Between records it keeps the counts by cause, nothing else.
type tableWriter struct {
	w       io.Writer
	cols    []column
	multi   bool // a capture column first
	started bool
	b       []byte // one record's lines, reused
	counts  map[string]int
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
)

func newTableWriter(w io.Writer, opt Options) *tableWriter {
	t := &tableWriter{w: w, multi: len(opt.Files) > 1}
	if t.multi {
		width := len("capture")
		for _, f := range opt.Files {
			width = max(width, utf8.RuneCountInString(Printable(filepath.Base(f))))
		}
		t.cols = append(t.cols, column{name: "capture", width: min(width, maxCaptureWidth)})
	}
	t.cols = append(t.cols,
		column{name: "frame", width: 9, right: true},        // a billion frames
		column{name: "time", width: len("15:04:05.000000")}, // UTC, as the JSON's time
		column{name: "client", width: len("255.255.255.255:65535")},
		column{name: "server", width: len("255.255.255.255:65535")},
		column{name: "resetter", width: len("resetter")},
		column{name: "state", width: len("syn_received")},
		column{name: "cause", width: len("retransmission_timeout")},
		column{name: "conf", width: len("0.00"), right: true},
		column{name: "linux reason"},
	)
	return t
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
		t.b = t.appendRow(t.b, names)
	}
	cause := r.Cause
	if r.Followup {
		// Its cause is the first RST's, which its evidence names.
		cause = "follow-up"
	}
	tm := r.Time
	if len(tm) >= 26 {
		tm = tm[11:26]
	}
	cells := []string{strconv.FormatInt(r.Frame, 10), tm, r.Client, r.Server,
		r.Resetter, r.State, cause, strconv.FormatFloat(r.Confidence, 'f', 2, 64), r.KernelReason}
	if t.multi {
		cells = append([]string{filepath.Base(r.Capture)}, cells...)
	}
	t.b = t.appendRow(t.b, cells)
	// The evidence goes under the row from the time column on, so that
	// the frame numbers stand out on the left.
	indent := t.cols[0].width + len(colSep)
	if t.multi {
		indent += t.cols[1].width + len(colSep)
	}
	for _, e := range r.Evidence {
		t.b = append(t.b, strings.Repeat(" ", indent)...)
		t.b = append(t.b, "- "...)
		t.b = append(t.b, Printable(e)...)
		t.b = append(t.b, '\n')
	}
	if _, t.err = t.w.Write(t.b); t.err != nil {
		return t.err
	}
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	t.counts[summaryKey(&r)]++
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
	fmt.Fprintf(&b, "%d resets in %d capture(s)", total, len(captures))
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
