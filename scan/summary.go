package scan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rstwhy/rstwhy/report"
)

// Summary sums up a scan: its files, and its resets by cause, hour,
// server, resetter and talkers. Its JSON names are stable, as the
// records'. Follow-ups (and copies) count under "followup" by cause and
// nowhere else: a connection's first RST says what happened, the rest
// repeat it.
type Summary struct {
	Schema  int    `json:"schema_version"`
	Version string `json:"rstwhy_version"`
	Shard   string `json:"shard"`
	Files   Files  `json:"files"`
	Bytes   int64  `json:"bytes_read"`
	Frames  int64  `json:"frames"`
	Resets  int64  `json:"resets"` // records written, follow-ups included
	// ByCause counts by cause, follow-ups under "followup".
	ByCause map[string]int64 `json:"by_cause"`
	// ByHour counts by the hour of the RST, UTC, "2006-01-02T15".
	ByHour map[string]int64 `json:"by_hour"`
	// ByRole counts by who reset: "client" or "server".
	ByRole map[string]int64 `json:"by_role"`
	// ByServer, ByResetter and TopTalkers are the largest TopN: the
	// server endpoint (address:port), the resetting host, and the pair of
	// client and server hosts.
	ByServer   []Count `json:"by_server"`
	ByResetter []Count `json:"by_resetter"`
	TopTalkers []Count `json:"top_talkers"`
	// Approximate is set when more distinct keys came than are kept
	// (Tally.Keep): the counts of the top lists may then be low by a
	// little, never high.
	Approximate bool `json:"approximate,omitempty"`
	// Failed lists the files that could not be read at all, Damaged the
	// captures read up to damage, NotCaptures the files that are not
	// captures: the first MaxListed of each, in the order of the files.
	Failed      []Note   `json:"failed,omitempty"`
	Damaged     []Note   `json:"damaged,omitempty"`
	NotCaptures []string `json:"not_captures,omitempty"`
}

// Files counts the files of a scan.
type Files struct {
	Found       int64 `json:"found"`        // by the walk, before sharding
	OtherShards int64 `json:"other_shards"` // left to the other tasks
	Unchanged   int64 `json:"unchanged"`    // since the state's scan: not read
	Scanned     int64 `json:"scanned"`      // read
	Grown       int64 `json:"grown"`        // of those, grown since the state's scan
	NotCaptures int64 `json:"not_captures"` // read, and found not to be captures
	Damaged     int64 `json:"damaged"`      // read up to damage
	Failed      int64 `json:"failed"`       // not read: unopenable, or damaged before a frame
	NotRead     int64 `json:"not_read"`     // left when the scan was interrupted
}

// Count is one key of a top list.
type Count struct {
	Key    string `json:"key"`
	Resets int64  `json:"resets"`
}

// Note is a file and what went wrong with it.
type Note struct {
	File string `json:"file"`
	Why  string `json:"why"`
}

// TopN is the length of the top lists; MaxListed the files listed in
// each of Failed, Damaged and NotCaptures.
const (
	TopN      = 20
	MaxListed = 1000
)

// Tally adds records up into a Summary. Its memory is bounded: the hours
// of the archive, and Keep keys for each top list. Not safe for
// concurrent use.
type Tally struct {
	// Keep is the number of distinct keys each top list counts exactly;
	// 0 means 65536. Past twice that, the smallest are dropped down to
	// Keep (and the summary says it is approximate).
	Keep int
	Summary
	servers, resetters, talkers topCounter
}

type topCounter struct {
	n       map[string]int64
	dropped bool
}

func (c *topCounter) add(key string, keep int) {
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[key]++
	if len(c.n) > 2*keep {
		// Drop the smallest half: a key counted since is short by at
		// most what it had before, which was below what is kept.
		top := c.top(keep)
		clear(c.n)
		for _, t := range top {
			c.n[t.Key] = t.Resets
		}
		c.dropped = true
	}
}

func (c *topCounter) top(n int) []Count {
	out := make([]Count, 0, len(c.n))
	for k, v := range c.n {
		out = append(out, Count{k, v})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Resets, a.Resets), strings.Compare(a.Key, b.Key))
	})
	return out[:min(n, len(out))]
}

// Record counts one record.
func (t *Tally) Record(r *report.Record) {
	if t.ByCause == nil {
		t.ByCause, t.ByHour, t.ByRole = map[string]int64{}, map[string]int64{}, map[string]int64{}
	}
	keep := t.Keep
	if keep <= 0 {
		keep = 1 << 16
	}
	t.Resets++
	if r.Followup || r.CopyOf != 0 {
		t.ByCause["followup"]++
		return
	}
	t.ByCause[r.Cause]++
	if len(r.Time) >= 13 {
		t.ByHour[r.Time[:13]]++
	}
	t.ByRole[r.Resetter]++
	t.servers.add(r.Server, keep)
	resetter := r.Server
	if r.Resetter == "client" {
		resetter = r.Client
	}
	t.resetters.add(host(resetter), keep)
	t.talkers.add(host(r.Client)+" -> "+host(r.Server), keep)
}

// host is the address of "address:port" or "[v6]:port".
func host(endpoint string) string {
	i := strings.LastIndexByte(endpoint, ':')
	if i < 0 {
		return endpoint
	}
	return strings.TrimSuffix(strings.TrimPrefix(endpoint[:i], "["), "]")
}

// Note adds a file to a list, up to MaxListed.
func note(list *[]Note, file, why string) {
	if len(*list) < MaxListed {
		*list = append(*list, Note{file, why})
	}
}

// Failed counts a file that could not be read.
func (t *Tally) Failed(file, why string) { t.Files.Failed++; note(&t.Summary.Failed, file, why) }

// Damaged counts a capture read up to damage.
func (t *Tally) Damaged(file, why string) { t.Files.Damaged++; note(&t.Summary.Damaged, file, why) }

// NotCapture counts a file that is no capture.
func (t *Tally) NotCapture(file string) {
	t.Files.NotCaptures++
	if len(t.NotCaptures) < MaxListed {
		t.NotCaptures = append(t.NotCaptures, file)
	}
}

// Result returns the summary so far.
func (t *Tally) Result() Summary {
	s := t.Summary
	s.Schema = report.SchemaVersion
	for _, m := range []*map[string]int64{&s.ByCause, &s.ByHour, &s.ByRole} {
		if *m == nil {
			*m = map[string]int64{}
		} else {
			*m = maps.Clone(*m)
		}
	}
	s.ByServer, s.ByResetter, s.TopTalkers = t.servers.top(TopN), t.resetters.top(TopN), t.talkers.top(TopN)
	s.Approximate = t.servers.dropped || t.resetters.dropped || t.talkers.dropped
	return s
}

// WriteJSON writes the summary as one indented JSON document.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteTable writes the summary for a terminal: the files, then each
// count as a two-column list, largest first (hours in order).
func (s *Summary) WriteTable(w io.Writer) error {
	var b strings.Builder
	f := s.Files
	fmt.Fprintf(&b, "%d files found", f.Found)
	if f.OtherShards > 0 {
		fmt.Fprintf(&b, " (%d left to other shards than %s)", f.OtherShards, s.Shard)
	}
	fmt.Fprintf(&b, ": %d scanned (%s, %d frames)", f.Scanned, megabytes(s.Bytes), s.Frames)
	for _, p := range []struct {
		n    int64
		what string
	}{{f.Grown, "grown"}, {f.Unchanged, "unchanged since the last scan"}, {f.NotCaptures, "not captures"},
		{f.Damaged, "damaged"}, {f.Failed, "failed"}, {f.NotRead, "not read (interrupted)"}} {
		if p.n > 0 {
			fmt.Fprintf(&b, ", %d %s", p.n, p.what)
		}
	}
	fmt.Fprintf(&b, "\n%d resets\n", s.Resets)
	section := func(title string, counts []Count) {
		if len(counts) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		width := 0
		for _, c := range counts {
			width = max(width, len(report.Printable(c.Key)))
		}
		for _, c := range counts {
			fmt.Fprintf(&b, "  %-*s  %8d\n", width, report.Printable(c.Key), c.Resets)
		}
	}
	byCount := func(m map[string]int64) []Count {
		var c topCounter
		c.n = m
		return c.top(len(m))
	}
	section("by cause", byCount(s.ByCause))
	hours := slices.Sorted(maps.Keys(s.ByHour))
	hc := make([]Count, len(hours))
	for i, h := range hours {
		hc[i] = Count{h + ":00Z", s.ByHour[h]}
	}
	section("by hour (UTC)", hc)
	section("by resetter's role", byCount(s.ByRole))
	section("by server", s.ByServer)
	section("by resetting host", s.ByResetter)
	section("top talkers (client -> server)", s.TopTalkers)
	if s.Approximate {
		b.WriteString("\n(top lists approximate: more distinct keys than counted exactly)\n")
	}
	notes := func(title string, total int64, list []Note) {
		if total == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s (%d):\n", title, total)
		for _, n := range list {
			fmt.Fprintf(&b, "  %s: %s\n", report.Printable(n.File), report.Printable(n.Why))
		}
		if int64(len(list)) < total {
			fmt.Fprintf(&b, "  and %d more\n", total-int64(len(list)))
		}
	}
	notes("failed", f.Failed, s.Failed)
	notes("damaged, read up to the damage", f.Damaged, s.Damaged)
	if f.NotCaptures > 0 {
		fmt.Fprintf(&b, "\nnot captures, skipped (%d):\n", f.NotCaptures)
		for _, n := range s.NotCaptures {
			fmt.Fprintf(&b, "  %s\n", report.Printable(n))
		}
		if int64(len(s.NotCaptures)) < f.NotCaptures {
			fmt.Fprintf(&b, "  and %d more\n", f.NotCaptures-int64(len(s.NotCaptures)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func megabytes(n int64) string {
	return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
}
