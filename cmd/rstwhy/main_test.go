package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const pcaps = "../../testdata/pcaps"

// rstwhy runs the command in-process.
func rstwhy(tb testing.TB, stdin []byte, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"rstwhy"}, args...), bytes.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func readTB(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestGolden keeps the JSON report of every lab capture under review: a
// change in a verdict, its evidence or the schema shows up as a diff.
// go test ./cmd/rstwhy -update rewrites them.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pcaps, "*.pcap*"))
	if len(files) == 0 {
		t.Skip("no lab captures")
	}
	if *update {
		old, _ := filepath.Glob("testdata/golden/*.json")
		for _, f := range old {
			os.Remove(f)
		}
		os.MkdirAll("testdata/golden", 0o755)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			out, errs, code := rstwhy(t, nil, "analyze", "--format", "json", "-j", "1", f)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			// The version is the build's, not the capture's.
			out = strings.Replace(out, `"rstwhy_version": `+quote(version()), `"rstwhy_version": "VERSION"`, 1)
			golden := filepath.Join("testdata/golden", name+".json")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(string(readTB(t, golden)), out); diff != "" {
				t.Errorf("%s differs (-want +got); go test ./cmd/rstwhy -update rewrites it:\n%s", golden, diff)
			}
		})
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

const sample = pcaps + "/unread_data_close-primes-v4-eth-server.pcap"

type record struct {
	Capture  string `json:"capture"`
	Frame    int64  `json:"frame"`
	Cause    string `json:"cause"`
	Resetter string `json:"resetter"`
}

func records(tb testing.TB, jsonl string) []record {
	tb.Helper()
	var out []record
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		if line == "" {
			continue
		}
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			tb.Fatalf("not JSON: %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// TestCompressedAndStdin: the same capture compressed with gzip or zstd,
// or read from standard input, gives the same answers; compression is
// recognised by magic bytes, not by the name.
func TestCompressedAndStdin(t *testing.T) {
	raw := readTB(t, sample)
	want, _, code := rstwhy(t, nil, "analyze", "-f", "jsonl", sample)
	if code != 0 || want == "" {
		t.Fatalf("exit %d, output %q", code, want)
	}
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(raw)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(raw)
	zw.Close()
	dir := t.TempDir()
	for _, tc := range []struct{ name, file string }{
		{"gzip named .pcap", "a.pcap"},
		{"zstd with no extension", "b"},
	} {
		data := gz.Bytes()
		if strings.HasPrefix(tc.name, "zstd") {
			data = zs.Bytes()
		}
		path := filepath.Join(dir, tc.file)
		os.WriteFile(path, data, 0o644)
		got, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", path)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, errs)
		}
		w, g := records(t, want), records(t, got)
		for i := range g {
			g[i].Capture = w[i].Capture
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s (-plain +compressed):\n%s", tc.name, diff)
		}
	}
	got, _, code := rstwhy(t, gz.Bytes(), "analyze", "-f", "jsonl", "-")
	if code != 0 || len(records(t, got)) != len(records(t, want)) {
		t.Errorf("stdin: exit %d, %d records, want %d", code, len(records(t, got)), len(records(t, want)))
	}
}

// TestBatchWithBadFiles: bad files never stop a batch; each is named with
// its reason, the good ones are reported in the order given, and the exit
// status says some input could not be read.
func TestBatchWithBadFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pcap")
	html := filepath.Join(dir, "error.pcap")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(html, []byte("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>\n"), 0o644)
	missing := filepath.Join(dir, "missing.pcap")
	out, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", empty, sample, html, missing, sample)
	if code != exitUnreadable {
		t.Errorf("exit %d, want %d", code, exitUnreadable)
	}
	recs := records(t, out)
	if len(recs) != 2 || recs[0].Frame != recs[1].Frame {
		t.Errorf("want the sample's reset twice, got %+v", recs)
	}
	for _, want := range []string{"empty.pcap: not a pcap or pcapng file: empty file", "error.pcap: not a pcap or pcapng file", "HTML", "missing.pcap"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine") {
		t.Errorf("stderr shows a crash:\n%s", errs)
	}
}

// TestDamagedCapture: a capture that ends mid-record (tcpdump killed while
// writing) reports the resets before the cut, warns with the frame and
// byte offset, and exits 0.
func TestDamagedCapture(t *testing.T) {
	raw := readTB(t, sample)
	want := records(t, func() string { o, _, _ := rstwhy(t, nil, "analyze", "-f", "jsonl", sample); return o }())
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	half := append(append([]byte(nil), raw...), raw[24:24+16+20]...) // a record header and part of its packet
	os.WriteFile(cut, half, 0o644)
	out, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", cut)
	if code != exitOK {
		t.Errorf("exit %d, want 0 (the start was read)", code)
	}
	got := records(t, out)
	if len(got) != len(want) || len(got) > 0 && got[0].Cause != want[0].Cause {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if !strings.Contains(errs, "cut.pcap") || !strings.Contains(errs, "frame") || !strings.Contains(errs, "byte") {
		t.Errorf("warning should name the file, frame and byte offset:\n%s", errs)
	}
}

// TestDamagedBeforeFirstFrame: a file whose header reads but whose first
// record is already cut gave nothing to analyse: exit 1, with the reason.
func TestDamagedBeforeFirstFrame(t *testing.T) {
	raw := readTB(t, sample)
	cut := filepath.Join(t.TempDir(), "header-only.pcap")
	os.WriteFile(cut, raw[:24+10], 0o644)
	out, errs, code := rstwhy(t, nil, "analyze", "-f", "jsonl", cut)
	if code != exitUnreadable || out != "" {
		t.Errorf("exit %d, output %q; want exit %d and nothing", code, out, exitUnreadable)
	}
	if !strings.Contains(errs, "header-only.pcap") || !strings.Contains(errs, "frame 1") {
		t.Errorf("stderr should name the file and frame 1:\n%s", errs)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no capture", []string{"analyze"}},
		{"bad format", []string{"analyze", "-f", "xml", sample}},
		{"unknown flag", []string{"analyze", "--nope", sample}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := rstwhy(t, nil, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %s", code, exitUsage, errs)
			}
			if out != "" {
				t.Errorf("stdout is for results only, got:\n%s", out)
			}
			if !strings.Contains(errs, "rstwhy") {
				t.Errorf("stderr should say who speaks: %q", errs)
			}
		})
	}
}

func TestTableAndJSON(t *testing.T) {
	out, _, code := rstwhy(t, nil, "analyze", "-f", "table", sample)
	if code != 0 || !strings.Contains(out, "unread_data_close") || !strings.Contains(out, "frame 28:") {
		t.Errorf("table: exit %d:\n%s", code, out)
	}
	out, _, code = rstwhy(t, nil, "analyze", "-f", "json", sample)
	var doc struct {
		Schema   int              `json:"schema_version"`
		Captures []map[string]any `json:"captures"`
		Resets   []record         `json:"resets"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("json: exit %d, %v", code, err)
	}
	if doc.Schema != 1 || len(doc.Captures) != 1 || len(doc.Resets) != 1 || doc.Resets[0].Cause != "unread_data_close" {
		t.Errorf("json document: %+v", doc)
	}
}

// TestSkippedLinkType: a pcapng file whose second interface has a link
// type rstwhy does not decode still gets its resets reported, and the
// skipped frames are counted by link type.
func TestSkippedLinkType(t *testing.T) {
	src, err := pcapgo.NewReader(bytes.NewReader(readTB(t, sample)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	odd, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkType(147), SnapLength: 65535}) // LINKTYPE_USER0
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			break
		}
		ci.InterfaceIndex = 0
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		junk := []byte("not a frame rstwhy knows")
		ci.InterfaceIndex, ci.CaptureLength, ci.Length = odd, len(junk), len(junk)
		if err := w.WritePacket(ci, junk); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "mixed.pcapng")
	os.WriteFile(path, buf.Bytes(), 0o644)
	out, errs, code := rstwhy(t, nil, "analyze", "-f", "json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Captures []struct {
			Skipped map[string]int64 `json:"skipped_frames"`
		} `json:"captures"`
		Resets []record `json:"resets"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Resets) != 1 || doc.Resets[0].Frame != 55 {
		t.Errorf("resets %+v, want the sample's RST, now frame 55 (every frame doubled)", doc.Resets)
	}
	var skipped int64
	for _, n := range doc.Captures[0].Skipped {
		skipped += n
	}
	if skipped != 28 {
		t.Errorf("skipped %v, want 28 frames of link type 147", doc.Captures[0].Skipped)
	}
	for _, format := range []string{"table", "json", "jsonl"} {
		_, errs, _ := rstwhy(t, nil, "analyze", "-f", format, path)
		if !strings.Contains(errs, "28 frames of link type") {
			t.Errorf("%s: stderr does not say frames were skipped:\n%s", format, errs)
		}
	}
}
