package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// haproxyDead is a capture of three resets: two refused connections from
// HAProxy to its dead backend, and the client's POST /dead, answered 503.
const haproxyDead = "../../testdata/pcaps-servers/haproxy-dead-v4-any-server.pcap"

// TestGrep: --grep keeps the resets of the connections whose first bytes
// hold the text, in either direction, and nothing else; without a match
// the output is empty, and the exit status still 0.
func TestGrep(t *testing.T) {
	for _, tc := range []struct {
		name, grep string
		frames     []int64
		why        string
	}{
		{"url", "/dead", []int64{45}, "the client's request line"},
		{"response", "503 Service", []int64{45}, "the server's status line"},
		{"none", "no such marker", nil, "no connection holds it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", "--grep", tc.grep, haproxyDead)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var got []int64
			for _, r := range records(t, out) {
				got = append(got, r.Frame)
			}
			if !slices.Equal(got, tc.frames) {
				t.Errorf("frames %v, want %v (%s)", got, tc.frames, tc.why)
			}
		})
	}
	// Without --grep all three are there: the filter, not the capture,
	// left two out.
	out, _, _ := rstwhy(t, nil, "analyze", "-f", "jsonl", haproxyDead)
	if n := len(records(t, out)); n != 3 {
		t.Errorf("%d resets without --grep, want 3", n)
	}
}

// TestAppField: the record's app field and evidence name the exchange;
// --app-bytes 0 leaves both out, the record as it was before.
func TestAppField(t *testing.T) {
	type app struct {
		Protocol string `json:"protocol"`
		Request  string `json:"request"`
		Status   int    `json:"status"`
		Answered int64  `json:"answered_after"`
	}
	type rec struct {
		Frame    int64    `json:"frame"`
		Cause    string   `json:"cause"`
		Evidence []string `json:"evidence"`
		App      *app     `json:"app"`
	}
	read := func(out string) rec {
		var r rec
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	const pcap = pcaps + "/unread_data_close-http413-v4-eth-server.pcap"
	on, _, _ := rstwhy(t, nil, "analyze", "-f", "jsonl", pcap)
	off, _, _ := rstwhy(t, nil, "analyze", "-f", "jsonl", "--app-bytes", "0", pcap)
	a, b := read(on), read(off)
	if a.App == nil || *a.App != (app{"http", "POST /upload HTTP/1.1", 413, 127605}) {
		t.Errorf("app %+v, want POST /upload answered 413 after 127605 bytes (frame 35 acks 127606)", a.App)
	}
	last := a.Evidence[len(a.Evidence)-1]
	if !strings.HasPrefix(last, "application: the client sent POST /upload HTTP/1.1 (Host lab) with Content-Length 1048576; the server answered HTTP/1.1 413") {
		t.Errorf("last evidence %q: want the exchange named", last)
	}
	if b.App != nil || strings.Contains(off, `"app"`) || len(b.Evidence) != len(a.Evidence)-1 {
		t.Errorf("--app-bytes 0: app %+v, %d sentences (on: %d): want the record without it", b.App, len(b.Evidence), len(a.Evidence))
	}
	if a.Cause != b.Cause {
		t.Errorf("cause %s with application context, %s without: it must not change", a.Cause, b.Cause)
	}
}
