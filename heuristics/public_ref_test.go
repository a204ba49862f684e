package heuristics_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Parsers for the reference files beside each public capture. Each one
// reads only the fields the public test compares; the formats are
// described in the corpus README.

// pubEndpoint is "addr:port" as report.Record spells Client and Server
// ("[v6]:port" for IPv6), so references and records compare as strings.
func pubEndpoint(addr, port string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return "", err
	}
	p, err := strconv.ParseUint(strings.TrimSpace(port), 10, 16)
	if err != nil {
		return "", fmt.Errorf("port %q: %w", port, err)
	}
	return netip.AddrPortFrom(a, uint16(p)).String(), nil
}

// pubConn names a connection by its two endpoints, in a fixed order so that
// both directions give the same key.
type pubConn [2]string

func pubConnOf(a, b string) pubConn {
	if b < a {
		a, b = b, a
	}
	return pubConn{a, b}
}

func (c pubConn) String() string { return c[0] + " " + c[1] }

// tsharkRST is one row of FILE.tshark.tsv.
type tsharkRST struct {
	frame    int64
	src, dst string // endpoints
}

// readTshark reads FILE.tshark.tsv. Tunnelled frames list every IP layer,
// outermost first, separated by commas: the TCP segment is in the last.
func readTshark(tb testing.TB, path string) []tsharkRST {
	tb.Helper()
	rows := readPubTSV(tb, path)
	var out []tsharkRST
	for i, r := range rows {
		last := func(k string) string {
			v := r[k]
			return v[strings.LastIndexByte(v, ',')+1:]
		}
		pick := func(v4, v6 string) string {
			if s := last(v4); s != "" {
				return s
			}
			return last(v6)
		}
		frame, err := strconv.ParseInt(r["frame.number"], 10, 64)
		if err != nil {
			tb.Fatalf("%s: row %d: %v", path, i+2, err)
		}
		src, err1 := pubEndpoint(pick("ip.src", "ipv6.src"), last("tcp.srcport"))
		dst, err2 := pubEndpoint(pick("ip.dst", "ipv6.dst"), last("tcp.dstport"))
		if err1 != nil || err2 != nil {
			tb.Fatalf("%s: row %d: %v %v", path, i+2, err1, err2)
		}
		out = append(out, tsharkRST{frame, src, dst})
	}
	return out
}

// readPubTSV reads a tab-separated file whose header is either a Zeek
// "#fields" line or the first line that does not start with '#'. Zeek's
// "-" (unset) comes back as "".
func readPubTSV(tb testing.TB, path string) []map[string]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var head []string
	var out []map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#fields\t"):
			head = strings.Split(line, "\t")[1:]
			continue
		case strings.HasPrefix(line, "#"), strings.TrimSpace(line) == "":
			continue
		case head == nil:
			head = strings.Split(line, "\t")
			continue
		}
		row := map[string]string{}
		for i, v := range strings.Split(line, "\t") {
			if i < len(head) && v != "-" {
				row[head[i]] = v
			}
		}
		out = append(out, row)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// zeekConn is what one Zeek connection record says about resets. orig
// and resp are empty when the baseline has no id.* columns.
type zeekConn struct {
	orig, resp string
	state      string
	history    string
	origRST    bool // the originator sent a RST
	respRST    bool // the responder sent a RST
}

// judge fills origRST and respRST from conn_state or, without it, from
// history. Upper case is the originator; after '^' Zeek has swapped the
// roles, and the letters and id fields are already in the new roles.
func (z *zeekConn) judge() {
	switch z.state {
	case "RSTO", "RSTOS0":
		z.origRST = true
	case "RSTR", "RSTRH", "REJ":
		z.respRST = true
	}
	// conn_state names only the side that closed first; history sees both.
	z.origRST = z.origRST || strings.Contains(z.history, "R")
	z.respRST = z.respRST || strings.Contains(z.history, "r")
}

func readZeekConn(tb testing.TB, path string) []zeekConn {
	tb.Helper()
	var out []zeekConn
	for i, r := range readPubTSV(tb, path) {
		z := zeekConn{state: r["conn_state"], history: r["history"]}
		if r["id.orig_h"] != "" {
			var err1, err2 error
			z.orig, err1 = pubEndpoint(r["id.orig_h"], r["id.orig_p"])
			z.resp, err2 = pubEndpoint(r["id.resp_h"], r["id.resp_p"])
			if err1 != nil || err2 != nil {
				tb.Fatalf("%s: record %d: %v %v", path, i+1, err1, err2)
			}
		}
		if r["proto"] != "" && r["proto"] != "tcp" {
			continue
		}
		z.judge()
		out = append(out, z)
	}
	return out
}

var (
	zeekPrint    = regexp.MustCompile(`^([A-Za-z^]*), ([A-Z0-9]+)$`)
	zeekID       = regexp.MustCompile(`orig_h=([^,]+), orig_p=(\d+)/tcp, resp_h=([^,]+), resp_p=(\d+)/tcp`)
	zeekEndpoint = regexp.MustCompile(`state=(\d+)`)
)

// readZeekOther reads FILE.zeek-other.txt: either one "<history>,
// <conn_state>" line, or an optional connection id followed by the
// originator's and then the responder's endpoint record (state 6 = that
// endpoint sent a RST).
func readZeekOther(tb testing.TB, path string) []zeekConn {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var z zeekConn
	var states []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if m := zeekPrint.FindStringSubmatch(line); m != nil {
			z.history, z.state = m[1], m[2]
			z.judge()
			return []zeekConn{z}
		}
		if m := zeekID.FindStringSubmatch(line); m != nil {
			var err1, err2 error
			z.orig, err1 = pubEndpoint(m[1], m[2])
			z.resp, err2 = pubEndpoint(m[3], m[4])
			if err1 != nil || err2 != nil {
				tb.Fatalf("%s: %v %v", path, err1, err2)
			}
			continue
		}
		if m := zeekEndpoint.FindStringSubmatch(line); m != nil {
			states = append(states, m[1])
		}
	}
	if len(states) != 2 {
		tb.Fatalf("%s: want 2 endpoint records, found %d", path, len(states))
	}
	z.origRST, z.respRST = states[0] == "6", states[1] == "6"
	return []zeekConn{z}
}

// suricataFlow is one expected TCP flow event with its endpoints and the
// RST bits of the flags each side sent.
type suricataFlow struct {
	client, server    string
	clientRST, srvRST bool
}

// readSuricata reads the YAML subset of FILE.suricata-flow.yaml: a list
// of "- count: N" items, each with a "match:" map of "key: value" lines.
// Items that do not name a TCP flow's endpoints and flags say nothing
// about who reset and are left out.
func readSuricata(tb testing.TB, path string) []suricataFlow {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var items []map[string]string
	for _, line := range strings.Split(string(b), "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case trim == "" || strings.HasPrefix(trim, "#") || trim == "match:":
		case strings.HasPrefix(trim, "- "):
			items = append(items, map[string]string{})
			trim = strings.TrimPrefix(trim, "- ")
			fallthrough
		default:
			k, v, ok := strings.Cut(trim, ":")
			if !ok || len(items) == 0 {
				tb.Fatalf("%s: cannot read %q", path, line)
			}
			items[len(items)-1][k] = strings.Trim(strings.TrimSpace(v), `'"`)
		}
	}
	var out []suricataFlow
	for _, it := range items {
		if it["proto"] != "TCP" || it["src_ip"] == "" || it["tcp.tcp_flags_ts"] == "" || it["tcp.tcp_flags_tc"] == "" {
			continue
		}
		c, err1 := pubEndpoint(it["src_ip"], it["src_port"])
		s, err2 := pubEndpoint(it["dest_ip"], it["dest_port"])
		ts, err3 := strconv.ParseUint(it["tcp.tcp_flags_ts"], 16, 8)
		tc, err4 := strconv.ParseUint(it["tcp.tcp_flags_tc"], 16, 8)
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				tb.Fatalf("%s: %v", path, err)
			}
		}
		out = append(out, suricataFlow{c, s, ts&0x04 != 0, tc&0x04 != 0})
	}
	return out
}

// arkimeSession is one TCP session: Arkime's initiator, the other side,
// and the RST packets it counted in both directions.
type arkimeSession struct {
	source, destination string
	rst                 int
}

func readArkime(tb testing.TB, path string) []arkimeSession {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	type side struct {
		IP   string `json:"ip"`
		Port int    `json:"port"`
	}
	var doc struct {
		Sessions []struct {
			IPProtocol  int            `json:"ipProtocol"`
			TCPFlags    map[string]int `json:"tcpflags"`
			Source      side           `json:"source"`
			Destination side           `json:"destination"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	var out []arkimeSession
	for _, s := range doc.Sessions {
		if s.IPProtocol != 6 {
			continue
		}
		src, err1 := pubEndpoint(s.Source.IP, strconv.Itoa(s.Source.Port))
		dst, err2 := pubEndpoint(s.Destination.IP, strconv.Itoa(s.Destination.Port))
		if err1 != nil || err2 != nil {
			tb.Fatalf("%s: %v %v", path, err1, err2)
		}
		out = append(out, arkimeSession{src, dst, s.TCPFlags["rst"]})
	}
	return out
}

var (
	tcpdumpFrame = regexp.MustCompile(`^\s*(\d+)\s+\d{4}-\d\d-\d\d `)
	tcpdumpRST   = regexp.MustCompile(`Flags \[[^\]]*R[^\]]*\]`)
)

// readTcpdump returns the frames that tcpdump's expected output prints
// with the RST flag. With -v the flags are on the line after the frame's.
func readTcpdump(tb testing.TB, path string) []int64 {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []int64
	var frame int64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if m := tcpdumpFrame.FindStringSubmatch(line); m != nil {
			frame, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if tcpdumpRST.MatchString(line) {
			out = append(out, frame)
		}
	}
	return out
}
