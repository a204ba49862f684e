package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/track"
)

// TestUsageErrors: each is exit 2, one line on stderr saying what was
// wrong as the user typed it, and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"jobs zero", []string{"analyze", "-j", "0", sample}, "rstwhy: -j 0: want at least 1"},
		{"jobs negative", []string{"analyze", "-j", "-1", sample}, "rstwhy: -j -1: want at least 1"},
		{"quiet zero", []string{"analyze", "--quiet", "0", sample}, "rstwhy: --quiet 0s"},
		{"quiet negative", []string{"analyze", "--quiet=-2s", sample}, "rstwhy: --quiet -2s"},
		{"max-conns negative", []string{"analyze", "--max-conns", "-1", sample}, "rstwhy: --max-conns -1"},
		{"app-bytes negative", []string{"analyze", "--app-bytes", "-1", sample}, "rstwhy: --app-bytes -1: want 0 (off) to 65536"},
		{"app-bytes too large", []string{"analyze", "--app-bytes", "65537", sample}, "rstwhy: --app-bytes 65537"},
		{"unknown flag after a file", []string{"analyze", sample, "--bogus"}, "rstwhy: unknown flag --bogus"},
		{"unknown flag with a value", []string{"analyze", "--bogus=1", sample}, "rstwhy: unknown flag --bogus"},
		{"unknown short flag", []string{"analyze", "-x", sample}, "rstwhy: unknown flag -x"},
		{"unknown global flag", []string{"--bogus"}, "rstwhy: unknown flag --bogus"},
		{"flag without its value", []string{"analyze", sample, "-f"}, "rstwhy: flag -f needs a value"},
		{"stdin twice", []string{"analyze", "-", "-"}, "rstwhy: standard input (-) given 2 times"},
		{"no command", nil, "rstwhy: no command given"},
		{"unknown command", []string{"capture.pcap"}, `rstwhy: unknown command "capture.pcap"`},
		{"bad format", []string{"analyze", "-f", "xml", sample}, `rstwhy: unknown format "xml"`},
		{"no capture", []string{"analyze"}, "rstwhy: analyze needs at least one capture"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := rstwhy(t, nil, tc.args...)
			if code != exitUsage || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, exitUsage)
			}
			lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
			last := lines[len(lines)-1] // "no command" prints the help first
			if !strings.HasPrefix(last, tc.want) || tc.name != "no command" && len(lines) != 1 {
				t.Errorf("stderr %q, want one line starting %q", errs, tc.want)
			}
		})
	}
}

// TestJobsClamped: -j past the CPUs is clamped with one line on stderr,
// never an attempt to start that many workers; past any machine's CPUs
// (4096) it is a usage error.
func TestJobsClamped(t *testing.T) {
	want, _, _ := rstwhy(t, nil, "analyze", "-f", "jsonl", sample)
	// More than the CPUs, but a number of CPUs a machine may have: cut to
	// the CPUs, with one line saying so.
	j := "4096"
	out, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", "-j", j, sample)
	if code != exitOK || out != want {
		t.Errorf("-j %s: exit %d, output %q; want 0 and %q", j, code, out, want)
	}
	if wantErr := "rstwhy: -j " + j + " is more than the "; !strings.HasPrefix(errs, wantErr) || strings.Count(errs, "\n") != 1 {
		t.Errorf("-j %s: stderr %q, want one line %q...", j, errs, wantErr)
	}
	// No machine has that many: a usage error, one line, nothing read.
	for _, j := range []string{"99999999999", "1000000", "4097"} {
		out, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", "-j", j, sample)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "-j") {
			t.Errorf("-j %s: exit %d, stdout %q, stderr %q; want a usage error naming -j", j, code, out, errs)
		}
	}
	if _, errs, _ := rstwhy(t, nil, "analyze", "-j", itoa(runtime.NumCPU()), sample); errs != "" {
		t.Errorf("-j NumCPU: stderr %q, want nothing", errs)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestQuietAboveMaxDelay: a --quiet longer than the pipeline's 10 s cap
// (MaxDelay) raises the cap with it, so that a reset waits for the whole
// quiet window; a shorter one leaves the cap alone.
func TestQuietAboveMaxDelay(t *testing.T) {
	_, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", "--quiet", "1h", sample)
	if code != exitOK || errs != "" {
		t.Errorf("--quiet 1h: exit %d, stderr %q", code, errs)
	}
	for _, tc := range []struct {
		quiet, maxDelay time.Duration
	}{
		{time.Hour, time.Hour},
		{track.DefaultMaxDelay + 1, track.DefaultMaxDelay + 1},
		{track.DefaultMaxDelay, 0},
		{3 * time.Second, 0},
	} {
		opt, _, err := options(1, tc.quiet, 0, io.Discard)
		if err != nil || opt.Quiet != tc.quiet || opt.MaxDelay != tc.maxDelay {
			t.Errorf("--quiet %v: %+v, %v; want MaxDelay %v", tc.quiet, opt, err, tc.maxDelay)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, errs, code := rstwhy(t, nil, args...)
		if code != exitOK || out != "rstwhy "+version()+"\n" || errs != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	for _, tc := range []struct {
		bi   debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{debug.BuildInfo{}, "(devel)"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, "(devel) 0123456789ab+dirty"},
	} {
		if got := versionOf(&tc.bi); got != tc.want {
			t.Errorf("versionOf(%+v) = %q, want %q", tc.bi, got, tc.want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"help", "analyze"}, {"analyze", "--help"}, {"analyse", sample, "-h"}, {"--help"}} {
		out, errs, code := rstwhy(t, nil, args...)
		if code != exitOK || !strings.Contains(out, "rstwhy") || errs != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
		if len(args) > 1 && !strings.Contains(out, "--max-conns") {
			t.Errorf("%v: the help does not list analyze's flags:\n%s", args, out)
		}
	}
}

// TestFlagsAnywhere: flags after file names, the British spelling, -- and
// a lone - (standard input) give what the usual order gives.
func TestFlagsAnywhere(t *testing.T) {
	raw := readTB(t, sample)
	want, _, _ := rstwhy(t, nil, "analyze", "-f", "jsonl", "-j", "1", sample)
	for _, args := range [][]string{
		{"analyze", sample, "-f", "jsonl", "-j", "1"},
		{"analyse", sample, "--format=jsonl", "-j=1"},
		{"analyze", "-j", "1", "-f", "jsonl", "--", sample},
	} {
		got, errs, code := rstwhy(t, nil, args...)
		if code != exitOK || got != want {
			t.Errorf("%v: exit %d, stderr %q, stdout differs:\n%s\nwant:\n%s", args, code, errs, got, want)
		}
	}
	got, _, code := rstwhy(t, raw, "analyze", "-", "-f", "jsonl")
	if code != exitOK || len(records(t, got)) != 1 {
		t.Errorf("stdin with the flag after it: exit %d, %q", code, got)
	}
	// After --, a name that looks like a flag is a file.
	_, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", "--", "-x.pcap")
	if code != exitUnreadable || !strings.Contains(errs, "-x.pcap") {
		t.Errorf("-- -x.pcap: exit %d, stderr %q; want the file -x.pcap not found", code, errs)
	}
}

// failingWriter fails every write, as stdout on a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestWriteError: a stdout that cannot be written is exit 3 and one line,
// in every format, never exit 2.
func TestWriteError(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.pcap") // its error would be a second line
	os.WriteFile(bad, []byte("not a capture"), 0o644)
	for _, format := range []string{"table", "json", "jsonl"} {
		var errb bytes.Buffer
		code := run(context.Background(), []string{"rstwhy", "analyze", "-f", format, sample, bad}, nil, failingWriter{}, &errb)
		if code != exitWrite || errb.String() != "rstwhy: cannot write the output: no space left on device\n" {
			t.Errorf("%s: exit %d, stderr %q; want %d and one line", format, code, errb.String(), exitWrite)
		}
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer full.Close()
	var errb bytes.Buffer
	code := run(context.Background(), []string{"rstwhy", "analyze", "-f", "json", sample}, nil, full, &errb)
	if code != exitWrite || !strings.Contains(errb.String(), "no space left on device") {
		t.Errorf("/dev/full: exit %d, stderr %q", code, errb.String())
	}
}

// writePcap writes a pcap file of link type link holding frame n times.
func writePcap(tb testing.TB, link layers.LinkType, frame []byte, n int) string {
	tb.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, link); err != nil {
		tb.Fatal(err)
	}
	for range n {
		if err := w.WritePacket(gopacket.CaptureInfo{CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
			tb.Fatal(err)
		}
	}
	path := filepath.Join(tb.TempDir(), "x.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestUnsupportedLinkWarns: a capture of a link type rstwhy does not
// decode is not silently empty: every format names the link type, by
// number and tcpdump's name, on stderr.
func TestUnsupportedLinkWarns(t *testing.T) {
	path := writePcap(t, layers.LinkType(147), []byte("a frame of a private protocol"), 18)
	for _, format := range []string{"table", "json", "jsonl"} {
		_, errs, code := rstwhy(t, nil, "analyze", "-f", format, path)
		want := "rstwhy: warning: " + path + ": 18 frames of link type 147 (USER0) not decoded\n"
		if code != exitOK || errs != want {
			t.Errorf("%s: exit %d, stderr %q; want %q", format, code, errs, want)
		}
	}
}

// TestRadiotapWarns: rstwhy decodes radiotap (link type 127), but a
// monitor-mode capture of an encrypted network holds no TCP it can read:
// every format says so on stderr rather than print nothing.
func TestRadiotapWarns(t *testing.T) {
	frame := make([]byte, 8+26+40)
	frame[2] = 8        // radiotap header length, no fields
	frame[8] = 0x88     // 802.11 QoS data
	frame[9] = 0x40 | 1 // protected, to the AP
	path := writePcap(t, layers.LinkTypeIEEE80211Radio, frame, 18)
	for _, format := range []string{"table", "json", "jsonl"} {
		_, errs, code := rstwhy(t, nil, "analyze", "-f", format, path)
		want := "rstwhy: warning: " + path + ": none of its 18 frames holds a TCP segment"
		if code != exitOK || !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want one line %q...", format, code, errs, want)
		}
		// The line names the link type and what the frames held.
		for _, part := range []string{"link type 127", "18 frames of 802.11 protected (encrypted)"} {
			if !strings.Contains(errs, part) {
				t.Errorf("%s: stderr %q does not say %q", format, errs, part)
			}
		}
	}
}

// TestEvictionWarns: connections evicted at --max-conns are named on
// stderr in every format.
func TestEvictionWarns(t *testing.T) {
	capture := pcaps + "/connection_refused-v4-any-router.pcap"
	for _, format := range []string{"table", "json", "jsonl"} {
		_, errs, _ := rstwhy(t, nil, "analyze", "-f", format, "--max-conns", "1", capture)
		if !strings.Contains(errs, "connections evicted at the --max-conns cap") {
			t.Errorf("%s: stderr %q", format, errs)
		}
	}
}

// TestFileNameEscaped: a newline in a file name does not split a
// diagnostic line.
func TestFileNameEscaped(t *testing.T) {
	name := filepath.Join(t.TempDir(), "a\nb.pcap")
	_, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", name)
	if code != exitUnreadable || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, `a\nb.pcap`) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestZstdWindowHint: a zstd capture whose window is over the limit is
// refused with both sizes and the flag that reads it; with the flag, it
// reads.
func TestZstdWindowHint(t *testing.T) {
	data := readTB(t, filepath.Join(pcaps, "unread_data_close-primes-v4-eth-server.pcap"))
	path := filepath.Join(t.TempDir(), "big-window.pcap.zst")
	if err := os.WriteFile(path, testcap.ZstdWithWindow(t, data, 256<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", path)
	want := "zstd window of 256 MiB is over the limit of 128 MiB (--zstd-max-window 256 reads it)"
	if code != exitUnreadable || !strings.Contains(errs, want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, exitUnreadable, want)
	}
	out, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", "--zstd-max-window", "256", path)
	if code != exitOK || strings.Count(out, "\n") != 1 {
		t.Errorf("with the flag: exit %d, %d records, stderr %q", code, strings.Count(out, "\n"), errs)
	}
}
