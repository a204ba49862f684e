package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rstwhy/rstwhy/internal/testcap"
)

// tableCaptures are the captures whose tables are kept as golden files,
// analysed together (a capture name on each row): lab captures of
// several causes, IPv6 among them, and public captures.
var tableCaptures = []struct{ dir, name string }{
	{testcap.LabDir(), "unread_data_close-primes-v4-eth-server.pcap"},
	{testcap.LabDir(), "middlebox_reset-est-v4-eth-client.pcap"},
	{testcap.LabDir(), "connection_refused-v6-eth-server.pcap"},
	{testcap.LabDir(), "keepalive_timeout-both-v6-eth-client.pcap"},
	{testcap.CorpusDir(), "zeek_http_m57-long-49600-80.pcap"},
	{testcap.CorpusDir(), "pcpp_one_http_stream_rst.pcap"},
	{testcap.CorpusDir(), "tcpdump_tcp_rst_diag_payload.pcap"},
}

// TestTableWidths: the table at 80 and 200 columns (COLUMNS) fits:
// every line but the unpadded last column's values is within the width,
// evidence is wrapped at spaces, and the output is kept as a golden file
// for review, for lab captures and, when present, public ones.
func TestTableWidths(t *testing.T) {
	for _, set := range []struct {
		name   string
		corpus bool
	}{{"lab", false}, {"public", true}} {
		var files []string
		for _, c := range tableCaptures {
			if (c.dir == testcap.CorpusDir()) != set.corpus {
				continue
			}
			files = append(files, filepath.Join(c.dir, c.name))
		}
		if _, err := os.Stat(files[0]); err != nil {
			if set.corpus {
				t.Logf("public corpus: %v", err)
				continue
			}
			t.Fatal(err)
		}
		t.Chdir(filepath.Dir(files[0]))
		for i := range files {
			files[i] = filepath.Base(files[i])
		}
		for _, width := range []int{80, 200} {
			t.Run(set.name+"-"+itoa(width), func(t *testing.T) {
				t.Setenv("COLUMNS", itoa(width))
				out := mustRun(t, append([]string{"analyze", "-f", "table", "-j", "1"}, files...)...)
				for _, line := range strings.Split(out, "\n") {
					if n := utf8.RuneCountInString(line); n > width {
						t.Errorf("%d columns, wider than %d:\n%s", n, width, line)
					}
				}
				goldenText(t, "table-"+set.name+"-"+itoa(width)+".txt", out)
			})
		}
	}
}

// TestTableEvidenceWords: whatever the width, the evidence under the rows
// holds every sentence whole, word for word (wrapped only at spaces), the
// one that carries the verdict first.
func TestTableEvidenceWords(t *testing.T) {
	jsonl := mustRun(t, "analyze", "-f", "jsonl", sample)
	for _, width := range []string{"40", "80", "133", ""} {
		t.Setenv("COLUMNS", width)
		out := mustRun(t, "analyze", "-f", "table", sample)
		joined := strings.Join(strings.Fields(out), " ")
		for _, e := range []string{
			"- frame 28: RST+ACK from the server with no FIN before it, 28 µs after the previous packet: close() with data unread -",
			"- the client sent 6 messages;",
		} {
			if !strings.Contains(joined, e) {
				t.Errorf("COLUMNS=%q: the evidence %q is not whole:\n%s", width, e, out)
			}
		}
		if strings.Index(joined, "- frame 28: RST+ACK") > strings.Index(joined, "- the client sent 6") {
			t.Errorf("COLUMNS=%q: the verdict's sentence is not first:\n%s", width, out)
		}
		if !strings.Contains(out, "2026-11-25") || !strings.Contains(out, "TIME (UTC)") {
			t.Errorf("COLUMNS=%q: no date or zone:\n%s", width, out)
		}
	}
	if !strings.Contains(jsonl, `"frame 28: RST+ACK`) {
		t.Fatal("the sample's evidence changed")
	}
}

// TestLadderFlag: --ladder draws the ladder under each row of the table
// and adds "ladder" to JSON records; without it the JSON is unchanged.
func TestLadderFlag(t *testing.T) {
	plain := mustRun(t, "analyze", "-f", "jsonl", sample)
	with := mustRun(t, "analyze", "-f", "jsonl", "--ladder", sample)
	if strings.Contains(plain, `"ladder"`) || !strings.Contains(with, `"ladder":{"relative":true,"earlier_packets":5,"packets":[`) {
		t.Fatalf("jsonl without --ladder has a ladder, or with it none:\n%s", with)
	}
	// The sample's RST is an active reset (RST+ACK at the server's
	// next sequence number): it answers no packet.
	if !strings.Contains(with, `"role":"rst"`) || strings.Contains(with, `"role":"answered"`) {
		t.Errorf("the ladder lacks its RST, or marks a packet its active reset answers:\n%s", with)
	}
	doc := mustRun(t, "analyze", "-f", "json", "--ladder", sample)
	if !strings.Contains(doc, `"ladder": {`) {
		t.Errorf("json document without the ladder")
	}
	table := mustRun(t, "analyze", "-f", "table", "--ladder", sample)
	if !strings.Contains(table, "<< RST") || !strings.Contains(table, "client 10.200.1.2:44940") {
		t.Errorf("table without the ladder:\n%s", table)
	}
}

// TestColor: colour on a terminal only, never with NO_COLOR set (to
// anything but empty) or TERM=dumb; --color=always and never win.
func TestColor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		mode     string
		terminal bool
		env      func(string) string
		want     bool
		why      string
	}{
		{"auto", true, env(), true, "a terminal"},
		{"auto", false, env(), false, "a pipe"},
		{"auto", true, env("NO_COLOR", "1"), false, "NO_COLOR set"},
		{"auto", true, env("NO_COLOR", ""), true, "NO_COLOR empty is unset (no-color.org)"},
		{"auto", true, env("TERM", "dumb"), false, "a dumb terminal"},
		{"always", false, env("NO_COLOR", "1"), true, "always is asked for"},
		{"never", true, env(), false, "never is asked for"},
	} {
		got, err := useColor(tc.mode, tc.terminal, tc.env)
		if err != nil || got != tc.want {
			t.Errorf("%s: useColor(%q, %v) = %v, %v", tc.why, tc.mode, tc.terminal, got, err)
		}
	}
	out := mustRun(t, "analyze", "-f", "table", "--color=always", sample)
	if !strings.Contains(out, "\x1b[1m") {
		t.Errorf("--color=always without colour:\n%q", out)
	}
	if out := mustRun(t, "analyze", "-f", "table", sample); strings.Contains(out, "\x1b[") {
		t.Errorf("colour off a terminal:\n%q", out)
	}
}

// TestMarkdownFormat: --format markdown writes the report, --mermaid its
// diagrams; both are usage errors nowhere else.
func TestMarkdownFormat(t *testing.T) {
	md := mustRun(t, "analyze", "-f", "markdown", sample)
	if !strings.HasPrefix(md, "# rstwhy report\n\n1 reset in 1 capture") || !strings.Contains(md, "```text\n") {
		t.Errorf("markdown:\n%s", md)
	}
	mm := mustRun(t, "analyze", "-f", "markdown", "--mermaid", sample)
	if !strings.Contains(mm, "```mermaid\nsequenceDiagram\n") {
		t.Errorf("--mermaid:\n%s", mm)
	}
}
