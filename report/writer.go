package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/rstwhy/rstwhy/heuristics"
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
	// Warning says where a damaged capture stopped being readable;
	// everything before it was analysed.
	Warning string `json:"warning,omitempty"`
	// Error says why a capture could not be read at all.
	Error string `json:"error,omitempty"`
}

// Writer renders records as they are judged, then the captures' summary.
type Writer interface {
	Record(r Record) error
	// Close writes what comes after the records and flushes.
	Close(captures []Capture) error
}

// NewWriter returns the writer for a format: "table", "json" or "jsonl".
func NewWriter(format string, w io.Writer) (Writer, error) {
	switch format {
	case "jsonl":
		return &jsonlWriter{w: w}, nil
	case "json":
		return &jsonWriter{w: w}, nil
	case "table":
		return &tableWriter{w: w}, nil
	}
	return nil, fmt.Errorf("unknown format %q (want table, json or jsonl)", format)
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

func (j *jsonlWriter) Close(captures []Capture) error { return nil }

// jsonWriter collects everything into one document. Each record is
// encoded and indented as it comes: the document's resets then cost their
// bytes, not their Records with the packets kept for ladders.
type jsonWriter struct {
	w      io.Writer
	resets bytes.Buffer   // indented records, comma-separated
	line   []byte         // one compact record, reused
	counts map[string]int // by summaryKey
	err    error          // the first record that could not be encoded
}

// Indentation of the records: they are elements of the "resets" array,
// two levels into the document.
const (
	resetsPrefix = "    "
	jsonIndent   = "  "
)

func (j *jsonWriter) Record(r Record) error {
	if j.err != nil {
		return nil // Close reports it and writes nothing, as one Encode of the whole did
	}
	if j.line, j.err = appendRecord(j.line[:0], &r); j.err != nil {
		return nil
	}
	if j.resets.Len() > 0 {
		j.resets.WriteString(",\n" + resetsPrefix)
	}
	// json.Indent with the prefix of the record's depth writes what
	// indenting the whole document did, which Encoder with SetIndent did.
	if err := json.Indent(&j.resets, j.line, resetsPrefix, jsonIndent); err != nil {
		return err
	}
	if j.counts == nil {
		j.counts = map[string]int{}
	}
	j.counts[summaryKey(&r)]++
	return nil
}

// Close writes the document, byte for byte as json.Encoder with SetIndent
// wrote the struct below with the records as its last field "resets".
func (j *jsonWriter) Close(captures []Capture) error {
	if j.err != nil {
		return j.err
	}
	if j.counts == nil {
		j.counts = map[string]int{}
	}
	doc := struct {
		Schema   int            `json:"schema_version"`
		Captures []Capture      `json:"captures"`
		Summary  map[string]int `json:"summary"`
	}{SchemaVersion, captures, j.counts}
	var head bytes.Buffer
	enc := newEncoder(&head)
	enc.SetIndent("", jsonIndent)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	// head ends in "\n}\n"; resets is the last field, before the brace.
	head.Truncate(head.Len() - len("\n}\n"))
	head.WriteString(",\n" + jsonIndent + `"resets": [`)
	tail := "]\n}\n"
	if j.resets.Len() > 0 {
		head.WriteString("\n" + resetsPrefix)
		tail = "\n" + jsonIndent + tail
	}
	for _, b := range [][]byte{head.Bytes(), j.resets.Bytes(), []byte(tail)} {
		if _, err := j.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// countCauses counts first resets by cause; follow-ups are consequences
// and are counted apart.
func countCauses(recs []Record) map[string]int {
	m := map[string]int{}
	for i := range recs {
		m[summaryKey(&recs[i])]++
	}
	return m
}

// summaryKey is what a record counts as in the summary by cause.
func summaryKey(r *Record) string {
	if r.Followup {
		return "followup"
	}
	return r.Cause
}

// tableWriter prints one row a reset, then a summary by cause.
type tableWriter struct {
	w    io.Writer
	recs []Record
}

func (t *tableWriter) Record(r Record) error { t.recs = append(t.recs, r); return nil }

func (t *tableWriter) Close(captures []Capture) error {
	multi := len(captures) > 1 || t.multiCapture()
	header := []string{"frame", "time", "client -> server", "resetter", "state", "cause", "conf", "key evidence"}
	if multi {
		header = append([]string{"capture"}, header...)
	}
	tab := tablewriter.NewTable(t.w,
		tablewriter.WithHeader(header),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	for _, r := range t.recs {
		cause := r.Cause
		if r.Followup {
			cause += " (follow-up)"
		}
		ev := ""
		if len(r.Evidence) > 0 {
			ev = clip(r.Evidence[0], 70)
		}
		row := []string{fmt.Sprint(r.Frame), r.Time[11:26], r.Client + " -> " + r.Server,
			r.Resetter, r.State, cause, fmt.Sprintf("%.2f", r.Confidence), ev}
		if multi {
			row = append([]string{filepath.Base(r.Capture)}, row...)
		}
		if err := tab.Append(row); err != nil {
			return err
		}
	}
	if len(t.recs) > 0 {
		if err := tab.Render(); err != nil {
			return err
		}
	}
	if err := t.evidence(); err != nil {
		return err
	}
	return t.summary(captures)
}

// evidence lists every reset's full evidence under the table, so that a
// pasted report carries the frames to check.
func (t *tableWriter) evidence() error {
	var b strings.Builder
	for _, r := range t.recs {
		if r.Followup {
			continue
		}
		fmt.Fprintf(&b, "\n")
		if t.multiCapture() {
			fmt.Fprintf(&b, "%s ", filepath.Base(r.Capture))
		}
		fmt.Fprintf(&b, "frame %d: %s reset by the %s (%s, confidence %.2f", r.Frame, r.Cause, r.Resetter, r.State, r.Confidence)
		if r.KernelReason != "" {
			fmt.Fprintf(&b, ", Linux %s", r.KernelReason)
		}
		b.WriteString(")\n")
		for _, e := range r.Evidence {
			fmt.Fprintf(&b, "  - %s\n", e)
		}
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

func (t *tableWriter) multiCapture() bool {
	for _, r := range t.recs {
		if r.Capture != t.recs[0].Capture {
			return true
		}
	}
	return false
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func (t *tableWriter) summary(captures []Capture) error {
	var b strings.Builder
	counts := countCauses(t.recs)
	var total int
	for _, n := range counts {
		total += n
	}
	fmt.Fprintf(&b, "\n%d resets in %d capture(s)", total, len(captures))
	if total > 0 {
		b.WriteString(":")
	}
	b.WriteString("\n")
	for _, c := range heuristics.Causes() {
		if n := counts[string(c)]; n > 0 {
			fmt.Fprintf(&b, "  %-24s %d\n", c, n)
		}
	}
	if n := counts["followup"]; n > 0 {
		fmt.Fprintf(&b, "  %-24s %d (answers drawn by an earlier reset)\n", "follow-ups", n)
	}
	sorted := append([]Capture(nil), captures...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Error == "" && sorted[j].Error != "" })
	for _, c := range sorted {
		switch {
		case c.Error != "":
			fmt.Fprintf(&b, "failed: %s: %s\n", c.File, c.Error)
		case c.Warning != "":
			fmt.Fprintf(&b, "damaged: %s: %s\n", c.File, c.Warning)
		}
		if c.Undecodable > 0 {
			fmt.Fprintf(&b, "%s: %d undecodable frames (first: %v)\n", c.File, c.Undecodable, c.UndecodableFrames)
		}
		for link, n := range sortedCounts(c.Skipped) {
			fmt.Fprintf(&b, "%s: %d frames of link type %s skipped: not decoded\n", c.File, n, link)
		}
		if c.Evicted > 0 || c.Early > 0 {
			fmt.Fprintf(&b, "%s: %d connections evicted at the table cap, %d resets judged early\n", c.File, c.Evicted, c.Early)
		}
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// sortedCounts yields a map's entries in key order, so output is stable.
func sortedCounts(m map[string]int64) func(func(string, int64) bool) {
	return func(yield func(string, int64) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
