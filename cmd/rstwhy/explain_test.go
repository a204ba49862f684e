package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/internal/testcap"
)

// goldenDir is absolute: tests that change directory find it too.
var goldenDir, _ = filepath.Abs(filepath.Join("testdata", "golden"))

// goldenText compares out with testdata/golden/name, or rewrites it with
// -update.
func goldenText(t *testing.T, name, out string) {
	t.Helper()
	testcap.Golden(t, filepath.Join(goldenDir, name), out, *update, "./cmd/rstwhy")
}

// TestExplainGolden: `rstwhy explain CAPTURE FRAME` on lab and public
// captures, as a user who sees the RST in Wireshark asks it. Captures
// are named as given (the directory is the test's), colour is off off a
// terminal.
func TestExplainGolden(t *testing.T) {
	for _, tc := range []struct {
		dir, name string
		frame     string
		why       string
	}{
		{testcap.LabDir(), "unread_data_close-primes-v4-eth-server.pcap", "28", "the seed"},
		{testcap.LabDir(), "middlebox_reset-est-v4-eth-client.pcap", "21", "a follow-up of a forged RST"},
		{testcap.CorpusDir(), "pcpp_one_http_stream_rst.pcap", "", "a public HTTP stream reset"},
		{testcap.CorpusDir(), "zeek_http_m57-long-49600-80.pcap", "", "a public capture's second RST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(tc.dir, tc.name)
			if _, err := os.Stat(path); err != nil {
				if tc.dir == testcap.CorpusDir() {
					t.Skipf("public corpus: %v", err)
				}
				t.Fatal(err)
			}
			t.Chdir(tc.dir)
			frame := tc.frame
			if frame == "" {
				// The capture's last RST.
				recs := records(t, mustRun(t, "analyze", "-f", "jsonl", tc.name))
				frame = itoa(int(recs[len(recs)-1].Frame))
			}
			out, errs, code := rstwhy(t, nil, "explain", tc.name, frame)
			if code != exitOK {
				t.Fatalf("%s: exit %d: %s", tc.why, code, errs)
			}
			if !strings.HasPrefix(out, "frame "+frame+" of "+tc.name+", ") || !strings.Contains(out, "<< RST") ||
				!strings.Contains(out, "what to check next") || strings.Contains(out, "\x1b[") {
				t.Errorf("%s: output:\n%s", tc.why, out)
			}
			goldenText(t, "explain-"+tc.name+".txt", out)
		})
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := rstwhy(t, nil, args...)
	if code != exitOK {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	return out
}

// TestExplainNotRST: a frame that is no RST says what it is and where
// the nearest RSTs are; a frame past the end says how many there are;
// a frame that is not a number, or no frame, is a usage error.
func TestExplainNotRST(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want []string
		why  string
	}{
		{[]string{"explain", sample, "27"}, exitUnreadable,
			[]string{"frame 27 is not a RST: it is a TCP segment [.] from the client", "the first RST is at frame 28"}, "the ACK the RST answers"},
		{[]string{"explain", sample, "3"}, exitUnreadable,
			[]string{"frame 3 is not a RST;", "the first RST is at frame 28"}, "a frame before the connection"},
		{[]string{"explain", sample, "999"}, exitUnreadable,
			[]string{"frame 999: the capture has 28 frames", "the last RST is at frame 28"}, "past the end"},
		{[]string{"explain", sample, "0"}, exitUsage, []string{`frame "0": want a frame number from 1`}, "frames count from 1"},
		{[]string{"explain", sample, "x"}, exitUsage, []string{`frame "x"`}, "not a number"},
		{[]string{"explain", sample}, exitUsage, []string{"explain needs a capture and a frame number"}, "no frame"},
		{[]string{"explain", sample, "28", "--color=pink"}, exitUsage, []string{"--color pink: want auto, always or never"}, "a bad colour mode"},
		{[]string{"explain", "no-such.pcap", "1"}, exitUnreadable, []string{"no-such.pcap"}, "a missing file"},
	} {
		out, errs, code := rstwhy(t, nil, tc.args...)
		if code != tc.code || out != "" {
			t.Errorf("%s: exit %d (want %d), stdout %q", tc.why, code, tc.code, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: stderr %q lacks %q", tc.why, errs, w)
			}
		}
		if strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: stderr is not one line: %q", tc.why, errs)
		}
	}
}

// TestExplainColor: --color=always colours the RST row; the words that
// mark it are there without colour too.
func TestExplainColor(t *testing.T) {
	plain := mustRun(t, "explain", sample, "28")
	color := mustRun(t, "explain", "--color=always", sample, "28")
	if strings.Contains(plain, "\x1b[") || !strings.Contains(color, "\x1b[1;31m") {
		t.Fatalf("colour: plain has escapes or always has none:\n%s", color)
	}
	if !strings.Contains(plain, "<< RST") {
		t.Fatal("the RST row is not marked in words")
	}
}
