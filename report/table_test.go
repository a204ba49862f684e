package report

import (
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestTableStreams: each record's row is written by the time Record
// returns, and every row puts each column at the header's offset, IPv6
// endpoints and file names longer than their column included.
func TestTableStreams(t *testing.T) {
	recs := captureRecords(t)
	files := []string{"dir/a.pcap", "a-much-longer-capture-name-that-wraps-in-its-column.pcap"}
	var out bytes.Buffer
	w, _ := NewWriter("table", &out, Options{Files: files})
	for i, r := range recs {
		r.Capture = files[i%2]
		before := out.Len()
		if err := w.Record(r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String()[before:], " "+r.Time[11:26]+" ") {
			t.Fatalf("record %d: its row was not written by Record:\n%s", i, out.String()[before:])
		}
	}
	if err := w.Close([]Capture{{File: files[0]}, {File: files[1]}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	header := lines[0]
	timeAt := strings.Index(header, "TIME")
	causeAt := strings.Index(header, "CAUSE")
	if !strings.HasPrefix(header, "CAPTURE") || timeAt < 0 || causeAt < 0 {
		t.Fatalf("header %q", header)
	}
	rows := 0
	for _, l := range lines[1:] {
		if l == "" {
			break // the summary follows
		}
		if strings.HasPrefix(strings.TrimLeft(l, " "), "- ") {
			continue // evidence
		}
		if len(l) > timeAt && l[timeAt] != ' ' {
			rows++
			if l[timeAt+4] != '-' || l[timeAt+13] != ':' || l[causeAt-1] != ' ' || l[causeAt-2] != ' ' {
				t.Errorf("columns moved:\n%s\n%s", header, l)
			}
		}
	}
	if rows != len(recs) {
		t.Errorf("%d rows, want %d", rows, len(recs))
	}
	if !strings.Contains(out.String(), "\n"+itoa(len(recs))+" resets in 2 captures:\n") {
		t.Errorf("no summary:\n%s", out.String())
	}
}

// TestTableEscapes: a newline or an escape sequence in a file name, or
// invalid UTF-8, is shown escaped and never breaks a row.
func TestTableEscapes(t *testing.T) {
	rec := captureRecords(t)[0]
	files := []string{"a\nb.pcap", "\x1b[31mred\xff\u202e.pcap"}
	var out bytes.Buffer
	w, _ := NewWriter("table", &out, Options{Files: files})
	for _, f := range files {
		rec.Capture = f
		w.Record(rec)
	}
	w.Close(nil)
	for _, want := range []string{`a\nb.pcap`, `\x1b[31mred\xff\u202e.pcap`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.ContainsAny(out.String(), "\x1b\u202e") || strings.Contains(out.String(), "\nb.pcap") {
		t.Errorf("raw control characters in the table:\n%q", out.String())
	}
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want, why string }{
		{"plain.pcap", "plain.pcap", "nothing to escape"},
		{"caf\u00e9 µs", "caf\u00e9 µs", "printable non-ASCII stays"},
		{"a\tb\r\n", `a\tb\r\n`, "C0 controls by name"},
		{"\x7f\u0085", `\x7f\u0085`, "DEL and C1"},
		{"x\xffy", `x\xffy`, "invalid UTF-8 byte by byte"},
		{"\u2028", `\u2028`, "line separator"},
	} {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("%s: Printable(%q) = %q, want %q", tc.why, tc.in, got, tc.want)
		}
	}
}

// TestWritersKeepNoRecords: what a writer holds does not grow with the
// number of records: the heap it keeps after 4,000 records is a small
// fraction of what those records would take.
func TestWritersKeepNoRecords(t *testing.T) {
	recs := captureRecords(t)
	for _, format := range []string{"table", "json", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			w, _ := NewWriter(format, io.Discard, Options{Files: []string{"a", "b"}})
			// A first pass allocates the reused buffers, and the table's
			// digest its groups: they grow with the kinds of resets, not
			// with their number.
			for _, r := range recs {
				w.Record(r)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			const n = 4000
			for i := range n {
				if err := w.Record(recs[i%len(recs)]); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			if grown > 256<<10 {
				t.Errorf("the heap grew by %d bytes over %d records: records are kept", grown, n)
			}
			runtime.KeepAlive(w)
		})
	}
}

// TestJSONStreams: the json document's records are written as they come,
// and the document is complete JSON after Close.
func TestJSONStreams(t *testing.T) {
	recs := captureRecords(t)[:3]
	var out bytes.Buffer
	w, _ := NewWriter("json", &out, Options{})
	for i, r := range recs {
		w.Record(r)
		if got := strings.Count(out.String(), `"capture": `); got != i+1 {
			t.Fatalf("after record %d, %d records written", i+1, got)
		}
	}
	w.Close([]Capture{{File: "x"}})
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc["resets"].([]any)) != 3 || len(doc["captures"].([]any)) != 1 {
		t.Errorf("document %v", doc)
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  []string
		why   string
	}{
		{"short", 8, []string{"short"}, "fits"},
		{"two words here", 9, []string{"two words", "here"}, "at a space, which goes"},
		{"[fd00:200:1::2]:46504x", 21, []string{"[fd00:200:1::2]:", "46504x"}, "after a colon"},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}, "anywhere"},
		{"µµµµµµ", 4, []string{"µµµµ", "µµ"}, "characters, not bytes"},
	} {
		if got := wrap(tc.in, tc.width); !slices.Equal(got, tc.want) {
			t.Errorf("%s: wrap(%q, %d) = %q, want %q", tc.why, tc.in, tc.width, got, tc.want)
		}
	}
}
