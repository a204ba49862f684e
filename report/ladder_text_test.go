package report

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/internal/testcap"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with the file testdata/name, or rewrites it with
// -update.
func golden(tb testing.TB, name, got string) {
	tb.Helper()
	testcap.Golden(tb, filepath.Join("testdata", name), got, *update, "./report")
}

// ladderCaptures are the captures whose explanations are kept as golden
// files: one or two of each cause from the lab, and public captures of
// other stacks (a RST with payload, a refusal, an HTTP stream reset, a
// capture that starts mid-connection).
var ladderCaptures = []struct{ name, why string }{
	{"unread_data_close-primes-v4-eth-server.pcap", "the seed: data, one reply, RST; evidence beside frames 26 and 28"},
	{"unread_data_close-http413-v4-eth-server.pcap", "an HTTP 413 before the body was read"},
	{"middlebox_reset-est-v4-eth-client.pcap", "packets after the RST: the race of a forged reset, and a follow-up"},
	{"keepalive_timeout-both-v4-eth-client-ng.pcapng", "keepalive probes marked"},
	{"zero_window-sender-v4-eth-client.pcap", "zero-window probes"},
	{"connection_refused-v6-eth-server.pcap", "IPv6 endpoints, the SYN answered"},
	{"data_after_close-quick-v4-eth-client.pcap", "FIN, data, RST answering it"},
	{"half_open_restart-v4-eth-client.pcap", "a half-open connection"},
}

var corpusLadders = []string{
	"pcpp_one_http_stream_rst.pcap",
	"ppa_tcp_refuseconnection.pcapng",
	"tcpdump_tcp_rst_diag_payload.pcap",
	"zeek_tcp_single-rst.pcap",
	"zeek_http_m57-long-49600-80.pcap",
}

// explainAll is every reset of a capture explained as text.
func explainAll(tb testing.TB, path string) string {
	tb.Helper()
	var b []byte
	for _, r := range recordsOf(tb, path) {
		r.Capture = filepath.Base(path)
		b = AppendExplain(b, &r, TextOptions{Width: 100})
		b = append(b, "\n"...)
	}
	return string(b)
}

// TestLadderTextGolden keeps the text ladder of chosen lab and public
// captures under review.
func TestLadderTextGolden(t *testing.T) {
	for _, c := range ladderCaptures {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(testcap.LabDir(), c.name)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("%s (%s): %v", c.name, c.why, err)
			}
			got := explainAll(t, path)
			if !strings.Contains(got, "<< RST") {
				t.Errorf("%s: no RST row marked", c.why)
			}
			golden(t, filepath.Join("ladder", c.name+".txt"), got)
		})
	}
	for _, name := range corpusLadders {
		t.Run(name, func(t *testing.T) {
			path := testcap.Corpus(name)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("public corpus: %v", err)
			}
			golden(t, filepath.Join("ladder", name+".txt"), explainAll(t, path))
		})
	}
}

// TestLadderText: on every lab and public capture, each ladder has one
// RST row, the record's frame, marked in words; each evidence sentence
// citing a frame shown is written under its row; colour codes appear only
// when asked for, and every line of a colourless ladder is printable.
func TestLadderText(t *testing.T) {
	n := 0
	for _, path := range testcap.All() {
		for _, r := range recordsOf(t, path) {
			n++
			plain := string(AppendLadder(nil, &r, TextOptions{}))
			if strings.Count(plain, "<< RST") != 1 {
				t.Fatalf("%s frame %d: %d RST rows:\n%s", path, r.Frame, strings.Count(plain, "<< RST"), plain)
			}
			for _, line := range strings.Split(plain, "\n") {
				if strings.Contains(line, "<< RST") && !strings.HasPrefix(strings.TrimLeft(line, " "), itoa(int(r.Frame))+" ") {
					t.Fatalf("%s frame %d: the RST row is another frame: %q", path, r.Frame, line)
				}
				if Printable(line) != line {
					t.Fatalf("%s frame %d: unprintable %q", path, r.Frame, line)
				}
			}
			for _, e := range r.Evidence {
				if !strings.Contains(strings.Join(strings.Fields(plain), " "), e[:min(len(e), 40)]) {
					t.Fatalf("%s frame %d: evidence %q not in the ladder:\n%s", path, r.Frame, e, plain)
				}
			}
			refs := string(AppendLadder(nil, &r, TextOptions{EvidenceRefs: true, Color: true}))
			if len(r.Evidence) > 0 && strings.Contains(refs, r.Evidence[0]) {
				t.Fatalf("%s frame %d: EvidenceRefs wrote a sentence", path, r.Frame)
			}
			if !strings.Contains(refs, ansiRST) {
				t.Fatalf("%s frame %d: no colour asked for and given", path, r.Frame)
			}
		}
	}
	if n == 0 {
		t.Skip("no captures")
	}
}

// TestKey: the sentence shown first carries the verdict, not the setting.
func TestKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Record
		want int
		why  string
	}{
		{"refused", Record{Frame: 12, Cause: "connection_refused", Evidence: []string{
			"frame 11: the client's SYN to port 5000",
			"frame 12: RST+ACK acknowledging exactly that SYN (ack 1), 18 µs later: nothing listens on the port"}},
			1, "the RST's own frame with a reading beats the SYN that sets the scene"},
		{"caveat", Record{Frame: 16, Cause: "unread_data_close", Evidence: []string{
			"the client sent 6 bytes from frame 14 on that the server never answered",
			"the server's window did not shrink: whether the application read the data, the wire cannot show",
			"frame 16: RST+ACK from the server with no FIN before it: close() with data unread"}},
			2, "a caveat is never the key"},
		{"prefixes", Record{Frame: 20, Cause: "linger_abort", Evidence: []string{
			"frame 18: the server closed (FIN); frame 19: the client acknowledged it, sending no data",
			"frame 20: the server answered that ACK with a RST instead of waiting: an abortive close that skips FIN_WAIT2"}},
			1, "'frame N: ' prefixes are not readings"},
		{"other frame", Record{Frame: 20, Cause: "no_socket", Evidence: []string{
			"frame 18: the client's SYN (seq 5)",
			"frame 19: the server answered with a bare ACK, not a SYN-ACK: it still held an older connection",
			"frame 20: the client rejected it with a RST at that sequence number"}},
			1, "no reading about the RST's frame: the first reading citing a frame"},
		{"no reading", Record{Frame: 25, Cause: "retransmission_timeout", Evidence: []string{
			"from frame 22: the client retransmitted 3 times with no acknowledgement",
			"frame 25: the client gave up and reset"}},
			0, "no reading anywhere: the first sentence"},
		{"unknown", Record{Frame: 3, Cause: "unknown", Evidence: []string{
			"the capture starts mid-connection: no handshake seen",
			"RST seq 1 ack 2 from the client matches no known signature"}},
			1, "unknown: what the RST matched and did not"},
		{"followup", Record{Frame: 21, Cause: "middlebox_reset", Followup: true, Evidence: []string{
			"follow-up of the RST at frame 19 (middlebox_reset, server)",
			"it answers the server's segment at frame 20: a reset connection has no socket left"}},
			0, "a follow-up names its first RST first"},
		{"none", Record{Cause: "unknown"}, -1, "no evidence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Key(); got != tc.want {
				t.Errorf("%s: Key() = %d, want %d", tc.why, got, tc.want)
			}
			if len(tc.r.Evidence) > 0 {
				first := tc.r.KeyFirst()
				if first[0] != tc.r.Evidence[tc.want] || len(first) != len(tc.r.Evidence) {
					t.Errorf("KeyFirst %q", first)
				}
			}
		})
	}
}
