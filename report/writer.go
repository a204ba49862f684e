package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rstwhy/rstwhy/correlate"
)

// Capture sums up one input file.
type Capture struct {
	File        string `json:"file"`
	Format      string `json:"format,omitempty"`
	Compression string `json:"compression,omitempty"`
	Frames      int64  `json:"frames"`
	TCP         int64  `json:"tcp_segments"`
	Conns       int64  `json:"connections"`
	Resets      int64  `json:"resets"`
	Undecodable int64  `json:"undecodable"`
	// UndecodableFrames are the first few undecodable frames.
	UndecodableFrames []int64 `json:"undecodable_frames,omitempty"`
	// Skipped counts frames of link types rstwhy does not decode (an
	// interface of a pcapng file it cannot read), by link type name.
	Skipped map[string]int64 `json:"skipped_frames,omitempty"`
	Evicted int64            `json:"evicted_connections"`
	Early   int64            `json:"resets_judged_early"`
	// Dropped is what the capture itself says it lost while capturing
	// (pcapng interface statistics: isb_ifdrop + isb_osdrop); absent when
	// the file does not say (pcap files never do).
	Dropped *int64 `json:"capture_dropped,omitempty"`
	// Unseen counts segments that acknowledged bytes no captured packet
	// carried: packets the capture missed, whatever it says of itself.
	Unseen int64 `json:"segments_acking_unseen"`
	// NotTCP counts the frames without a TCP segment by what they carried
	// instead ("UDP", "ethertype 0x0806 (ARP)", "802.11 management").
	NotTCP map[string]int64 `json:"not_tcp,omitempty"`
	// Groups are the capture's storms, repeats and scans, largest first
	// (package correlate); records name theirs in "group".
	Groups []Group `json:"groups,omitempty"`
	// Warning says where a damaged capture stopped being readable;
	// everything before it was analysed.
	Warning string `json:"warning,omitempty"`
	// Error says why a capture could not be read at all.
	Error string `json:"error,omitempty"`
}

// GapWarning says what the capture missed, by its own count (pcapng
// interface statistics) and by what was acknowledged without being
// captured; "" when neither shows a loss.
func (c Capture) GapWarning() string {
	var parts []string
	if c.Dropped != nil && *c.Dropped > 0 {
		parts = append(parts, fmt.Sprintf("the capture says it dropped %d %s while capturing", *c.Dropped, plural(*c.Dropped, "packet", "packets")))
	}
	if c.Unseen > 0 {
		parts = append(parts, fmt.Sprintf("%d %s data the capture never showed (verdicts near them are held to 0.6)", c.Unseen, plural(c.Unseen, "segment acknowledges", "segments acknowledge")))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + ": a verdict may rest on packets the capture does not have"
}

// Group sums up resets that belong together: one host resetting many
// connections at once (storm), the same reset recurring (repeat), or a
// scanner's refusals (scan).
type Group struct {
	ID          int64  `json:"id"`
	Kind        string `json:"kind"`
	Resets      int64  `json:"resets"`
	Connections int64  `json:"connections"`
	Resetter    string `json:"resetter"`
	Peer        string `json:"peer,omitempty"`
	ServerPort  uint16 `json:"server_port,omitempty"`
	Cause       string `json:"cause,omitempty"`
	Ports       int    `json:"ports,omitempty"` // distinct ports refused, for a scan (counted up to 64)
	FirstFrame  int64  `json:"first_frame"`
	LastFrame   int64  `json:"last_frame"`
	FirstTime   string `json:"first_time"`
	LastTime    string `json:"last_time"`
}

// NewGroup renders a correlate group.
func NewGroup(g correlate.Group) Group {
	out := Group{ID: g.ID, Kind: g.Kind, Resets: g.Count, Connections: g.Conns, Cause: g.Key.Cause,
		ServerPort: g.Key.ServerPort, FirstFrame: g.FirstFrame, LastFrame: g.LastFrame,
		FirstTime: time.Unix(0, g.FirstTS).UTC().Format(TimeFormat), LastTime: time.Unix(0, g.LastTS).UTC().Format(TimeFormat)}
	if g.Key.Resetter.IsValid() {
		out.Resetter = g.Key.Resetter.String()
	}
	if g.Key.Peer.IsValid() {
		out.Peer = g.Key.Peer.String()
	}
	if g.Kind == correlate.Scan {
		out.Ports = g.Ports
	}
	return out
}

// Writer renders records as they are judged, then the captures' summary.
// No format keeps the records: what a Writer holds does not grow with
// their number, except html's compact row a reset (some 300 bytes), its
// table of resets being written at Close.
type Writer interface {
	// Record writes one record. An error from the underlying writer is
	// returned by every later call too; a record that cannot be encoded
	// is left out and its error returned, and the output stays well
	// formed.
	Record(r Record) error
	// Close writes what comes after the records and flushes.
	Close(captures []Capture) error
}

// Options are what a Writer needs to know before the first record.
// The zero value works.
type Options struct {
	// Files are the captures given, in order. With more than one the
	// table has a capture column, as wide as their names (up to a limit).
	Files []string
	// Version is the tool's, which the JSON document names.
	Version string
	// Width is the terminal's width in columns, for the table's layout
	// and where text wraps; 0: unknown (the table is as wide as it needs,
	// its evidence unwrapped).
	Width int
	// Color allows ANSI colours in the table (a terminal, NO_COLOR unset).
	Color bool
	// Ladder adds each reset's ladder: under its row in the table, in the
	// JSON records' "ladder" field.
	Ladder bool
	// Mermaid draws the Markdown report's ladders as Mermaid
	// sequenceDiagrams, within a budget for the page.
	Mermaid bool
}

// NewWriter returns the writer for a format: "table", "json", "jsonl" or
// "markdown", or "html" (one self-contained page, written at Close).
func NewWriter(format string, w io.Writer, opt Options) (Writer, error) {
	switch format {
	case "jsonl":
		return &jsonlWriter{w: w}, nil
	case "json":
		return &jsonWriter{w: w, opt: opt}, nil
	case "table":
		return newTableWriter(w, opt), nil
	case "markdown", "md":
		return &markdownWriter{w: w, opt: opt, digest: NewDigest()}, nil
	case "html":
		return newHTMLWriter(w, opt), nil
	}
	return nil, fmt.Errorf("unknown format %q (want table, json, jsonl, markdown or html)", format)
}

func newEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// jsonlWriter streams one object a reset: a pipeline can act on the first
// RST of a large capture before the last is read. Its bytes are what
// json.Encoder wrote before appendRecord replaced it.
type jsonlWriter struct {
	w   io.Writer
	buf []byte // one line, reused
	err error  // the first failed write: later records are not written, as with json.Encoder
}

func (j *jsonlWriter) Record(r Record) error {
	if j.err != nil {
		return j.err
	}
	b, err := appendRecord(j.buf[:0], &r)
	if err != nil {
		return err
	}
	j.buf = append(b, '\n')
	if _, err := j.w.Write(j.buf); err != nil {
		j.err = err
	}
	return j.err
}

func (j *jsonlWriter) Close(captures []Capture) error { return j.err }

// jsonWriter streams one document: the head and each record as it comes,
// then, at Close, the captures and the summary, which are known only
// then. The bytes are what json.Encoder with SetIndent writes for the
// document as one struct with the fields in that order; only the counts
// by cause are kept between records.
type jsonWriter struct {
	w       io.Writer
	opt     Options
	started bool
	n       int            // records written
	line    []byte         // one compact record, reused
	out     bytes.Buffer   // what one call writes, reused
	counts  map[string]int // by summaryKey
	err     error          // the first failed write
}

// Indentation of the records: they are elements of the "resets" array,
// two levels into the document.
const (
	resetsPrefix = "    "
	jsonIndent   = "  "
)

// head puts the document's start, up to the resets array's bracket, in
// j.out.
func (j *jsonWriter) head() {
	j.started = true
	doc := struct {
		Schema  int    `json:"schema_version"`
		Version string `json:"rstwhy_version"`
	}{SchemaVersion, j.opt.Version}
	enc := newEncoder(&j.out)
	enc.SetIndent("", jsonIndent)
	enc.Encode(doc) // cannot fail: an int and a string
	// The encoding ends in "\n}\n"; the resets array comes before the brace.
	j.out.Truncate(j.out.Len() - len("\n}\n"))
	j.out.WriteString(",\n" + jsonIndent + `"resets": [`)
}

func (j *jsonWriter) Record(r Record) error {
	if j.err != nil {
		return j.err
	}
	line, err := appendRecord(j.line[:0], &r)
	if err != nil {
		return err
	}
	j.line = line
	j.out.Reset()
	if !j.started {
		j.head()
	}
	if j.n > 0 {
		j.out.WriteByte(',')
	}
	j.out.WriteString("\n" + resetsPrefix)
	// json.Indent with the prefix of the record's depth writes what
	// indenting the whole document does.
	if err := json.Indent(&j.out, j.line, resetsPrefix, jsonIndent); err != nil {
		return err
	}
	if _, j.err = j.w.Write(j.out.Bytes()); j.err != nil {
		return j.err
	}
	j.n++
	if j.counts == nil {
		j.counts = map[string]int{}
	}
	j.counts[summaryKey(&r)]++
	return nil
}

// Close ends the resets array and writes the captures and the summary.
func (j *jsonWriter) Close(captures []Capture) error {
	if j.err != nil {
		return j.err
	}
	j.out.Reset()
	if !j.started {
		j.head()
	}
	if j.n > 0 {
		j.out.WriteString("\n" + jsonIndent)
	}
	j.out.WriteString("],")
	if j.counts == nil {
		j.counts = map[string]int{}
	}
	tail := struct {
		Captures []Capture      `json:"captures"`
		Summary  map[string]int `json:"summary"`
	}{captures, j.counts}
	var b bytes.Buffer
	enc := newEncoder(&b)
	enc.SetIndent("", jsonIndent)
	if err := enc.Encode(tail); err != nil {
		return err
	}
	// Past its opening brace the tail's encoding is the document's end.
	j.out.Write(b.Bytes()[1:])
	_, j.err = j.w.Write(j.out.Bytes())
	return j.err
}

// summaryKey is what a record counts as in the summary by cause.
func summaryKey(r *Record) string {
	if r.Followup {
		return "followup"
	}
	return r.Cause
}
