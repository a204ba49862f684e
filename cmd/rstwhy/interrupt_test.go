package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstwhy/rstwhy/report"
)

// syncBuffer is a bytes.Buffer that run can write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// twoCaptures is the sample capture followed, 5 s of capture time after
// its last packet, by another lab capture whose RST is its last frame.
// The sample's reset is judged when the second capture's first packet
// moves the capture clock past its quiet time; the second's is still
// pending when the input stops.
func twoCaptures(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	var last time.Time
	for i, name := range []string{sample, pcaps + "/no_socket-v4-eth-client.pcap"} {
		r, err := pcapgo.NewReader(bytes.NewReader(readTB(tb, name)))
		if err != nil {
			tb.Fatal(err)
		}
		var shift time.Duration
		for j := 0; ; j++ {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				break
			}
			if i == 1 && j == 0 {
				shift = last.Add(5 * time.Second).Sub(ci.Timestamp)
			}
			ci.Timestamp = ci.Timestamp.Add(shift)
			last = ci.Timestamp
			if err := w.WritePacket(ci, data); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return buf.Bytes()
}

// waitFor waits until out holds s, failing if run returns first. The
// deadline only keeps a broken build from hanging: nothing is timed.
func waitFor(t *testing.T, out *syncBuffer, s string, done <-chan int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), s) {
		select {
		case code := <-done:
			t.Fatalf("run returned %d before the interrupt; output:\n%s", code, out.String())
		case <-deadline:
			t.Fatalf("no %q in the output:\n%s", s, out.String())
		case <-time.After(time.Millisecond):
		}
	}
}

// returnsWithin1s is what a user sees after the first Ctrl-C.
func returnsWithin1s(t *testing.T, done <-chan int) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(time.Second):
		t.Fatal("run did not return within 1 s of the interrupt")
		return 0
	}
}

// TestInterruptStdin: the first interrupt while standard input is open
// and silent (tcpdump -w - | rstwhy analyze -, with tcpdump waiting for
// packets) ends the capture there: every reset read so far, the pending
// one included, is judged and written, the JSON document is complete,
// and rstwhy exits 130 at once.
func TestInterruptStdin(t *testing.T) {
	data := twoCaptures(t)
	wantOut, _, code := rstwhy(t, data, "analyze", "-f", "jsonl", "-j", "1", "-")
	want := records(t, wantOut)
	if code != exitOK || len(want) < 2 {
		t.Fatalf("whole capture: exit %d, %d records; want 0 and at least 2", code, len(want))
	}
	var first report.Record
	json.Unmarshal([]byte(strings.Split(wantOut, "\n")[0]), &first)
	for _, format := range []string{"table", "json", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go pw.Write(data) // and then silence: the pipe stays open
			ctx, interrupt := context.WithCancel(context.Background())
			defer interrupt()
			var out, errb syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, []string{"rstwhy", "analyze", "-f", format, "-j", "1", "-"}, pr, &out, &errb)
			}()
			// The first reset is out once the second capture's packets
			// are read: all the input was read by then.
			waitFor(t, &out, first.Time[11:26], done)
			interrupt()
			if code := returnsWithin1s(t, done); code != exitInterrupted {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, errb.String())
			}
			checkAll(t, format, out.String(), want)
			if !strings.Contains(errb.String(), "rstwhy: interrupted\n") ||
				!strings.Contains(errb.String(), "-: interrupted after ") {
				t.Errorf("stderr should say it was interrupted, and where:\n%s", errb.String())
			}
		})
	}
}

// checkAll fails unless out, in format, holds exactly the records want.
func checkAll(t *testing.T, format, out string, want []record) {
	t.Helper()
	var got []record
	switch format {
	case "jsonl":
		got = records(t, out)
	case "json":
		var doc struct {
			Resets   []record         `json:"resets"`
			Captures []report.Capture `json:"captures"`
			Summary  map[string]int   `json:"summary"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("not a complete JSON document: %v\n%s", err, out)
		}
		if len(doc.Captures) != 1 || doc.Summary == nil {
			t.Errorf("captures %+v, summary %v", doc.Captures, doc.Summary)
		}
		got = doc.Resets
	case "table":
		if n := itoa(len(want)); !strings.Contains(out, "\n"+n+" resets in 1 capture:\n") {
			t.Errorf("the table's summary does not count %s resets:\n%s", n, out)
		}
		for _, w := range want {
			if !strings.Contains(out, " "+itoa(int(w.Frame))+"  ") {
				t.Errorf("no row for frame %d:\n%s", w.Frame, out)
			}
		}
		return
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		if got[i].Frame != want[i].Frame || got[i].Cause != want[i].Cause {
			t.Errorf("record %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestInterruptBeforeReading: captures not started when the interrupt
// comes are not read, and not reported as errors: one line counts them.
func TestInterruptBeforeReading(t *testing.T) {
	pr, pw := io.Pipe() // never written
	defer pw.Close()
	ctx, interrupt := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"rstwhy", "analyze", "-f", "json", "-j", "1", "-", sample}, pr, &out, &errb)
	}()
	interrupt()
	if code := returnsWithin1s(t, done); code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	var doc struct {
		Resets   []record         `json:"resets"`
		Captures []report.Capture `json:"captures"`
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
		t.Fatalf("not a complete JSON document: %v\n%s", err, out.String())
	}
	if len(doc.Resets) != 0 || len(doc.Captures) != 2 || doc.Captures[1].Warning != "interrupted before it was read" {
		t.Errorf("document %+v", doc)
	}
	if errb.String() != "rstwhy: interrupted: 2 captures not read\n" {
		t.Errorf("stderr %q", errb.String())
	}
}

// TestSequencerBounded: a later capture's records wait while an earlier
// one is being written, up to maxWaiting; then its analysis waits too,
// and nothing is lost or reordered once the earlier one is done.
func TestSequencerBounded(t *testing.T) {
	var out bytes.Buffer
	w, _ := report.NewWriter("jsonl", &out, report.Options{})
	seq := newSequencer(2, w, bufio.NewWriter(&out), false, func(error) {})
	const n = 3 * maxWaiting
	later := make(chan struct{})
	go func() {
		for i := range n {
			seq.add(1, report.Record{Frame: int64(i + 1), Evidence: []string{}})
		}
		seq.done(1)
		close(later)
	}()
	// Wait until the later capture has filled its share.
	for {
		seq.mu.Lock()
		waiting := len(seq.buf[1])
		seq.mu.Unlock()
		if waiting > maxWaiting {
			t.Fatalf("%d records waiting, more than %d", waiting, maxWaiting)
		}
		if waiting == maxWaiting {
			break
		}
		select {
		case <-later:
			t.Fatalf("the later capture finished with %d records waiting: nothing held it", waiting)
		default:
		}
		time.Sleep(time.Millisecond)
	}
	seq.add(0, report.Record{Frame: 1, Evidence: []string{}})
	seq.done(0)
	<-later
	seq.out.Flush()
	recs := records(t, out.String())
	if len(recs) != n+1 {
		t.Fatalf("%d records, want %d", len(recs), n+1)
	}
	for i, r := range recs[1:] {
		if r.Frame != int64(i+1) {
			t.Fatalf("record %d is frame %d: out of order", i+1, r.Frame)
		}
	}
}

// manyCaptures is every Ethernet pcap of the lab, one after the other,
// rounds times over, each starting 5 s of capture time after the one
// before ended: some megabytes and hundreds of resets.
func manyCaptures(tb testing.TB, rounds int) []byte {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(pcaps, "*-eth-*.pcap"))
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	var last time.Time
	for range rounds {
		for _, name := range files {
			r, err := pcapgo.NewReader(bytes.NewReader(readTB(tb, name)))
			if err != nil || r.LinkType() != layers.LinkTypeEthernet {
				continue
			}
			var shift time.Duration
			for j := 0; ; j++ {
				data, ci, err := r.ReadPacketData()
				if err != nil {
					break
				}
				if j == 0 && !last.IsZero() {
					shift = last.Add(5 * time.Second).Sub(ci.Timestamp)
				}
				ci.Timestamp = ci.Timestamp.Add(shift)
				last = ci.Timestamp
				w.WritePacket(ci, data)
			}
		}
	}
	return buf.Bytes()
}

// interruptingWriter interrupts at the first output it is given, as a
// user who hits Ctrl-C once results start to show.
type interruptingWriter struct {
	syncBuffer
	interrupt func()
}

func (w *interruptingWriter) Write(p []byte) (int, error) {
	w.interrupt()
	return w.syncBuffer.Write(p)
}

// TestInterruptMidCapture: interrupted in the middle of a capture, from
// a regular file or from standard input with megabytes still buffered,
// the capture ends at the frames read: every reset among them is written
// (those pending at the cut judged then), none after them, and the
// warning says where reading stopped. The pipeline goes on through the
// frames it holds: its context is not cancelled, or it would drop them
// and the resets pending.
func TestInterruptMidCapture(t *testing.T) {
	data := manyCaptures(t, 20)
	path := filepath.Join(t.TempDir(), "many.pcap")
	os.WriteFile(path, data, 0o644)
	whole, _, _ := rstwhy(t, nil, "analyze", "-f", "jsonl", "-j", "1", path)
	all := records(t, whole)
	for _, input := range []string{path, "-"} {
		t.Run(map[string]string{path: "file", "-": "stdin"}[input], func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go pw.Write(data) // and the pipe stays open
			ctx, interrupt := context.WithCancel(context.Background())
			out := &interruptingWriter{interrupt: interrupt}
			var errb syncBuffer
			code := run(ctx, []string{"rstwhy", "analyze", "-f", "jsonl", "-j", "1", input}, pr, out, &errb)
			if code != exitInterrupted {
				t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupted, errb.String())
			}
			var read int64
			at := strings.Index(errb.String(), "interrupted after ")
			if _, err := fmt.Sscanf(errb.String()[max(at, 0):], "interrupted after %d frames", &read); at < 0 || err != nil {
				t.Fatalf("stderr does not say where reading stopped: %v\n%s", err, errb.String())
			}
			var want []int64
			for _, r := range all {
				if r.Frame <= read {
					want = append(want, r.Frame)
				}
			}
			var got []int64
			for _, r := range records(t, out.String()) {
				got = append(got, r.Frame)
			}
			if len(want) == len(all) || len(want) == 0 {
				t.Fatalf("%d of %d resets were read before the interrupt: nothing tested", len(want), len(all))
			}
			if !slices.Equal(got, want) {
				t.Errorf("frames of the resets written after reading %d frames:\n got %v\nwant %v", read, got, want)
			}
		})
	}
}
