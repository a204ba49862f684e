package report

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

func recordsOf(tb testing.TB, name string) []Record {
	tb.Helper()
	f, err := os.Open(name)
	if err != nil {
		tb.Skip(err)
	}
	defer f.Close()
	var recs []Record
	pipeline.Run(context.Background(), f, pipeline.Options{}, func(r *track.Reset) {
		recs = append(recs, NewRecord(name, r, heuristics.Explain(r)))
	})
	return recs
}

// TestHistoryMatchesZeek: the history of each first reset's connection
// is the prefix of Zeek's conn.log history up to that RST, on the public
// captures Zeek's references cover, wherever Zeek wrote no letter
// rstwhy does not track (content gaps G, bad checksums C, inconsistent
// I, multi-flag Q).
func TestHistoryMatchesZeek(t *testing.T) {
	logs, _ := filepath.Glob(testcap.Corpus("*.zeek-conn.log"))
	if len(logs) == 0 {
		t.Skip("no public corpus")
	}
	compared := 0
	for _, log := range logs {
		zeek := zeekHistories(t, log)
		for _, r := range recordsOf(t, strings.TrimSuffix(log, ".zeek-conn.log")) {
			if r.Followup || r.CopyOf != 0 {
				continue
			}
			hs := zeek[r.Client+"->"+r.Server]
			if len(hs) == 0 {
				continue
			}
			if slices.ContainsFunc(hs, func(h string) bool { return strings.ContainsAny(h, "GgCcIiQq") }) {
				continue
			}
			compared++
			// Zeek's history goes on past the RST: ours must be the
			// beginning of one of the connection's (a four-tuple may
			// have been used more than once), or of two in a row: where
			// Zeek starts a new connection on a reused four-tuple,
			// rstwhy's may go on.
			for i, n := 1, len(hs); i < n; i++ {
				hs = append(hs, hs[i-1]+hs[i])
			}
			if !slices.ContainsFunc(hs, func(h string) bool { return strings.HasPrefix(h, r.Connection.History) }) {
				t.Errorf("%s frame %d: history %q, Zeek has %q", filepath.Base(log), r.Frame, r.Connection.History, hs)
			}
		}
	}
	if compared < 10 {
		t.Fatalf("only %d resets compared with Zeek", compared)
	}
}

// zeekHistories reads a conn.log's TCP histories by client->server.
func zeekHistories(tb testing.TB, name string) map[string][]string {
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	col := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if fs[0] == "#fields" {
			for i, n := range fs[1:] {
				col[n] = i
			}
			continue
		}
		if strings.HasPrefix(fs[0], "#") || len(col) == 0 || fs[col["proto"]] != "tcp" {
			continue
		}
		ep := func(a, p string) string {
			if strings.Contains(a, ":") {
				return "[" + a + "]:" + p
			}
			return a + ":" + p
		}
		k := ep(fs[col["id.orig_h"]], fs[col["id.orig_p"]]) + "->" + ep(fs[col["id.resp_h"]], fs[col["id.resp_p"]])
		out[k] = append(out[k], fs[col["history"]])
	}
	return out
}

// TestLadderOfUnreadClose draws the lab's classic: the server reads one
// number, writes ERROR and closes with five unread. The ladder's numbers
// are Wireshark's relative ones, its RST is the record's, and the packets
// before it are the connection's last.
func TestLadderOfUnreadClose(t *testing.T) {
	recs := recordsOf(t, filepath.Join(pcaps, "unread_data_close-primes-v4-eth-server.pcap"))
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	l := r.BuildLadder()
	if !l.Relative {
		t.Fatal("both SYNs are in the capture: relative numbers")
	}
	last := l.Packets[len(l.Packets)-1]
	for _, p := range l.Packets {
		if p.Role == "rst" {
			last = p
		}
	}
	if last.Frame != r.Frame || last.From != r.Resetter || !strings.Contains(last.Flags, "R") {
		t.Fatalf("RST row %+v, record frame %d by %s", last, r.Frame, r.Resetter)
	}
	// 17 packets before the RST: the ring's last 12 are drawn, the first
	// five summed up.
	if n := r.Connection.ClientPackets + r.Connection.ServerPackets; n != 17 || l.Earlier != n-track.RingSize {
		t.Errorf("%d packets before the RST, %d earlier", n, l.Earlier)
	}
	if p := l.Packets[0]; p.Frame <= r.Connection.FirstFrame || p.From != "client" || p.Seq != 3 || p.Ack != 1 {
		t.Errorf("first row %+v: want the client's data at relative seq 3, ack 1", p)
	}
	if got := len(l.Packets); got != min(track.RingSize, int(r.Connection.ClientPackets+r.Connection.ServerPackets))+1+len(r.Later) {
		t.Errorf("%d rows", got)
	}
	// The client's data is 1-based after the SYN, as Wireshark shows.
	for _, p := range l.Packets {
		if p.From == "client" && p.Len > 0 && p.Seq == 0 {
			t.Errorf("frame %d: client data at relative seq 0", p.Frame)
		}
	}
	if r.Connection.History != "ShADadr" {
		t.Errorf("history %q", r.Connection.History)
	}
	if r.Connection.ClosedFirst != "" || r.Connection.ClientBytes == 0 {
		t.Errorf("connection %+v", r.Connection)
	}
}

// TestLadderAfterRST: the packets after a RST are in its ladder, and a
// RST answering a segment marks it.
func TestLadderAfterRST(t *testing.T) {
	var after, answered int
	for _, name := range testcap.Lab() {
		for _, r := range recordsOf(t, name) {
			l := r.BuildLadder()
			prev := int64(0)
			seenRST := false
			for _, p := range l.Packets {
				if p.Frame <= prev {
					t.Fatalf("%s frame %d: ladder out of order at %d", name, r.Frame, p.Frame)
				}
				prev = p.Frame
				switch p.Role {
				case "rst":
					seenRST = true
				case "after":
					if !seenRST || p.Frame <= r.Frame {
						t.Fatalf("%s frame %d: an after row at %d", name, r.Frame, p.Frame)
					}
					after++
				case "answered":
					if p.From == r.Resetter {
						t.Fatalf("%s frame %d: the RST answers its own sender's packet", name, r.Frame)
					}
					answered++
				}
			}
		}
	}
	if after == 0 || answered == 0 {
		t.Fatalf("no after rows (%d) or no answered rows (%d) over the lab", after, answered)
	}
}

func TestCites(t *testing.T) {
	for s, want := range map[string][]int64{
		"frame 28: RST+ACK from the server":                        {28},
		"frames 3 and 5 carried data; frame 9 acked them":          {3, 5, 9},
		"the client's last packet before it was frame 12 (ACK, 0)": {12},
		"from frame 4: the client sent 3 probes":                   {4},
		"subframe 7 is not a frame":                                nil,
		"frames 10–14 were retransmissions":                        {10, 14},
		"frame":                                                    nil,
	} {
		if got := Cites(s); !slices.Equal(got, want) {
			t.Errorf("Cites(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestRSTPayloadShown: what devices write into their RSTs reaches the
// record and its evidence: an F5 BIG-IP's cause text, and a reason code
// in the IETF draft's diagnostic format, decoded.
func TestRSTPayloadShown(t *testing.T) {
	for name, want := range map[string]string{
		"tcpdump_tcp_rst_data.pcap":         "BIG-IP: [0x11c5672:3045] {peer} TCP RST from remote system",
		"tcpdump_tcp_rst_diag_payload.pcap": "reason code 1: illegal option",
	} {
		recs := recordsOf(t, testcap.Corpus(name))
		found := false
		for _, r := range recs {
			if r.RSTPayload == "" {
				continue
			}
			for _, e := range r.Evidence {
				found = found || strings.Contains(e, want)
			}
		}
		if !found {
			t.Errorf("%s: no record says %q", name, want)
		}
	}
}

// TestLadderAcksUnseen: a packet that acknowledges data the capture never
// showed is marked, as Wireshark's "ACKed segment that wasn't captured"
// marks it. zeek_ldap_gap-data-missing.pcapng lost the server's bytes 211
// to 1553: the client's frame 9 acknowledges 1553 (tshark flags frame 9;
// it flags frame 11 too, from its own reckoning after the gap, where the
// ack, 1780, is what the server's frame 10 ended at). Lab captures, which
// miss nothing, mark no packet.
func TestLadderAcksUnseen(t *testing.T) {
	recs := recordsOf(t, testcap.Corpus("zeek_ldap_gap-data-missing.pcapng"))
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	var marked []int64
	for _, p := range recs[0].BuildLadder().Packets {
		if p.AcksUnseen {
			marked = append(marked, p.Frame)
		}
	}
	if !slices.Equal(marked, []int64{9}) {
		t.Errorf("frames marked as acknowledging unseen data: %v, want [9]", marked)
	}
	labs, _ := filepath.Glob(filepath.Join(pcaps, "*.pcap"))
	for _, name := range labs {
		for _, r := range recordsOf(t, name) {
			for _, p := range r.BuildLadder().Packets {
				if p.AcksUnseen {
					t.Errorf("%s frame %d: marked in a capture that misses nothing", filepath.Base(name), p.Frame)
				}
			}
		}
	}
}
